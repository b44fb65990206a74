// A workspace: the tenant's unit of data, which every property, source and profile belongs to.
export interface Workspace {
  id: number;
  tenant_id: number;
  name: string;
  property_limit: number;
  created_at: string;
}
