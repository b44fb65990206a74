// Row types as the database holds them. Booleans are 0/1 and times RFC 3339 text on both
// dialects, so one schema and one code path serve SQLite and PostgreSQL.
import type { Generated, Kysely } from 'kysely';

interface TenantsTable {
  id: number;
  name: string;
  created_at: string;
}

interface WorkspacesTable {
  id: number;
  tenant_id: number;
  name: string;
  property_limit: number;
  property_seq: number;
  source_seq: Generated<number>;
  custom_properties: Generated<number>;
  created_at: string;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: number;
  name: string;
  token_hash: string;
  scopes: string; // JSON array
  workspace_ids: string | null; // JSON array, null = every workspace of the tenant
  created_at: string;
  revoked_at: string | null;
  rate_limit: string | null; // JSON {per_second?, per_minute?}
}

interface SettingsTable {
  key: string;
  value: string;
}

export interface PropertiesTable {
  workspace_id: number;
  id: number;
  uid: string;
  name: string;
  name_key: string;
  display_name: string;
  display_name_key: string;
  i18n_display_names: string;
  description: string | null;
  example: string | null;
  data_type: string;
  multi_valued: number;
  options: string | null;
  validation: string | null;
  is_unique: number;
  group_name: string | null;
  display_order: number | null;
  sort_order: number;
  pii: number;
  importable: number;
  exportable: number;
  import_aliases: string;
  export_alias: string | null;
  identity_role: string;
  identity_priority: number | null;
  merge_function: string;
  metadata: string;
  system: number;
  archived: number;
  created_at: string;
  updated_at: string;
  version: number;
}

interface PropertyKeysTable {
  workspace_id: number;
  key: string;
  property_id: number;
}

interface PropertyHistoryTable {
  workspace_id: number;
  property_id: number;
  version: number;
  at: string;
  key_id: string | null;
  action: string;
  changes: string;
}

export interface JobsTable {
  workspace_id: number;
  id: string;
  type: string;
  status: string;
  progress_done: number;
  progress_total: number;
  payload: string;
  lease_until: string | null;
  created_at: string;
  updated_at: string;
  /** JSON: what the job found (a definition change's counts and samples); null when none. */
  result: Generated<string | null>;
}

interface SourcesTable {
  workspace_id: number;
  id: number;
  name: string;
  name_key: string;
  priority: number;
  created_at: string;
  updated_at: string;
  /** The identity property Segment's userId is written to. */
  user_id_property_id: number | null;
  /** The identity property Segment's anonymousId (and an alias's previousId) is written to. */
  anonymous_id_property_id: number | null;
}

export interface SourceWriteKeysTable {
  workspace_id: number;
  id: string;
  source_id: number;
  key_hash: string;
  created_at: string;
  revoked_at: string | null;
}

export interface IngestedMessagesTable {
  workspace_id: number;
  source_id: number;
  message_hash: string;
  seen_at: string;
}

export interface ViolationsTable {
  workspace_id: number;
  group_key: string;
  source_id: number;
  trait: string;
  property: string | null;
  problem: string;
  message: string;
  count: number;
  first_seen: string;
  last_seen: string;
  sample: string;
}

interface SourceMappingsTable {
  workspace_id: number;
  source_id: number;
  position: number;
  property_id: number;
  input_path: string;
  alternate_paths: string; // JSON array
  mandatory: number;
  merge_function: string | null;
}

interface ProfilesTable {
  workspace_id: number;
  id: string;
  created_at: string;
  updated_at: string;
}

export interface ProfileValuesTable {
  workspace_id: number;
  profile_id: string;
  property_id: number;
  position: number;
  v_text: string | null;
  v_num: number | null;
  v_json: string;
  source: string | null;
  written_at: string;
}

interface ProfileKeysTable {
  workspace_id: number;
  property_id: number;
  value_key: string;
  profile_id: string;
}

/** Values a running definition change converted, in the order it wrote them; no v_json: the row goes. */
interface StagedValuesTable {
  workspace_id: number;
  job_id: string;
  seq: number;
  profile_id: string;
  position: number;
  v_text: string | null;
  v_num: number | null;
  v_json: string | null;
}

/** Keys the values of a running definition change will claim: one profile each. */
interface StagedKeysTable {
  workspace_id: number;
  job_id: string;
  value_key: string;
  profile_id: string;
}

/** An identity value a profile held before an alias replaced it; it names the profile while no profile holds it. */
interface ProfileFormerKeysTable {
  workspace_id: number;
  property_id: number;
  value_key: string;
  profile_id: string;
  retired_at: string;
}

interface ProfileAliasesTable {
  workspace_id: number;
  alias: string;
  profile_id: string;
}

export interface EncryptionKeysTable {
  fingerprint: string;
  status: 'active' | 'retiring';
  created_at: string;
}

export interface ImportsTable {
  workspace_id: number;
  id: string;
  status: string;
  format: string;
  mode: string;
  dry_run: number;
  source: string | null;
  columns: string; // JSON: [{column, property_id, reason?}]
  rows_total: number | null;
  rows_done: number;
  bytes_total: number;
  created: number;
  updated: number;
  merged: number;
  rejected: number;
  unchanged: number;
  job_id: string | null;
  reason: string | null;
  created_at: string;
  finished_at: string | null;
}

export interface ImportChunksTable {
  workspace_id: number;
  import_id: string;
  first_row: number;
  row_count: number;
  data: string; // JSON: [[row number, cells or object], ...]
}

export interface ImportRejectionsTable {
  workspace_id: number;
  import_id: string;
  row_number: number;
  position: number;
  column_name: string | null;
  property: string | null;
  problem: string;
  value: string | null;
  pii: number;
}

export interface Database {
  tenants: TenantsTable;
  workspaces: WorkspacesTable;
  api_keys: ApiKeysTable;
  settings: SettingsTable;
  properties: PropertiesTable;
  property_keys: PropertyKeysTable;
  property_history: PropertyHistoryTable;
  jobs: JobsTable;
  sources: SourcesTable;
  source_mappings: SourceMappingsTable;
  profiles: ProfilesTable;
  profile_values: ProfileValuesTable;
  profile_keys: ProfileKeysTable;
  profile_aliases: ProfileAliasesTable;
  profile_former_keys: ProfileFormerKeysTable;
  staged_values: StagedValuesTable;
  staged_keys: StagedKeysTable;
  encryption_keys: EncryptionKeysTable;
  source_write_keys: SourceWriteKeysTable;
  ingested_messages: IngestedMessagesTable;
  violations: ViolationsTable;
  imports: ImportsTable;
  import_chunks: ImportChunksTable;
  import_rejections: ImportRejectionsTable;
}

