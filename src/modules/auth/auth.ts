// Who is calling, and what they may touch. Pure rules; tokens are looked up by api-keys.service.ts.

export const SCOPES = ['properties:read', 'properties:write', 'profiles:read', 'profiles:write', 'pii:read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export type Principal =
  | { kind: 'operator' }
  | {
      kind: 'key';
      keyId: string;
      tenantId: number;
      scopes: readonly Scope[];
      /** null: every workspace of the tenant, including later ones */
      workspaceIds: readonly number[] | null;
      rateLimit: { per_second?: number; per_minute?: number } | null;
    };

/** The actor recorded in history: a key id, or "operator" for the server-wide token. */
export const actorOf = (p: Principal): string => (p.kind === 'operator' ? 'operator' : p.keyId);

export const hasScope = (p: Principal, scope: Scope): boolean => p.kind === 'operator' || p.scopes.includes(scope);

export function canSeeTenant(p: Principal, tenantId: number): boolean {
  return p.kind === 'operator' || p.tenantId === tenantId;
}

export function canSeeWorkspace(p: Principal, workspace: { id: number; tenant_id: number }): boolean {
  if (p.kind === 'operator') return true;
  return p.tenantId === workspace.tenant_id && (p.workspaceIds === null || p.workspaceIds.includes(workspace.id));
}
