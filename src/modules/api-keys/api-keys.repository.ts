import type { Kysely, Selectable, Transaction } from 'kysely';
import type { ApiKeysTable, Database } from '../../db/schema.ts';
import type { Scope } from '../auth/auth.ts';

type Conn = Kysely<Database> | Transaction<Database>;

export interface ApiKey {
  id: string;
  tenant_id: number;
  name: string;
  scopes: Scope[];
  workspace_ids: number[] | null;
  rate_limit: KeyRateLimit | null;
  created_at: string;
  revoked_at: string | null;
}

/** Optional per-key limits on the native API; none by default. */
export interface KeyRateLimit {
  per_second?: number;
  per_minute?: number;
}

function rowToApiKey(r: Omit<Selectable<ApiKeysTable>, 'token_hash'>): ApiKey {
  return {
    id: r.id,
    tenant_id: r.tenant_id,
    name: r.name,
    scopes: JSON.parse(r.scopes),
    workspace_ids: r.workspace_ids === null ? null : JSON.parse(r.workspace_ids),
    rate_limit: r.rate_limit === null ? null : JSON.parse(r.rate_limit),
    created_at: r.created_at,
    revoked_at: r.revoked_at,
  };
}

const columns = ['id', 'tenant_id', 'name', 'scopes', 'workspace_ids', 'rate_limit', 'created_at', 'revoked_at'] as const;

export async function insertApiKey(db: Conn, key: Omit<ApiKey, 'revoked_at'>, tokenHash: string): Promise<ApiKey> {
  const row = await db
    .insertInto('api_keys')
    .values({
      id: key.id,
      tenant_id: key.tenant_id,
      name: key.name,
      token_hash: tokenHash,
      scopes: JSON.stringify(key.scopes),
      workspace_ids: key.workspace_ids === null ? null : JSON.stringify(key.workspace_ids),
      rate_limit: key.rate_limit === null ? null : JSON.stringify(key.rate_limit),
      created_at: key.created_at,
      revoked_at: null,
    })
    .returning(columns)
    .executeTakeFirstOrThrow();
  return rowToApiKey(row);
}

/** The live (not revoked) key with this token hash. */
export async function findActiveKeyByHash(db: Conn, tokenHash: string): Promise<ApiKey | undefined> {
  const row = await db.selectFrom('api_keys').select(columns).where('token_hash', '=', tokenHash).where('revoked_at', 'is', null).executeTakeFirst();
  return row && rowToApiKey(row);
}

export async function findApiKey(db: Conn, tenantId: number, id: string): Promise<ApiKey | undefined> {
  const row = await db.selectFrom('api_keys').select(columns).where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  return row && rowToApiKey(row);
}

export async function listApiKeys(db: Conn, tenantId: number, limit: number, after: [string, string] | undefined): Promise<ApiKey[]> {
  let query = db.selectFrom('api_keys').select(columns).where('tenant_id', '=', tenantId).where('revoked_at', 'is', null);
  if (after) {
    const [createdAt, id] = after;
    query = query.where((eb) => eb.or([eb('created_at', '>', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '>', id)])]));
  }
  const rows = await query.orderBy('created_at').orderBy('id').limit(limit).execute();
  return rows.map(rowToApiKey);
}

export async function revokeApiKey(db: Conn, tenantId: number, id: string, at: string): Promise<void> {
  await db.updateTable('api_keys').set({ revoked_at: at }).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}

export async function getSetting(db: Conn, key: string): Promise<string | undefined> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value;
}

export async function putSetting(db: Conn, key: string, value: string): Promise<void> {
  await db
    .insertInto('settings')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
    .execute();
}
