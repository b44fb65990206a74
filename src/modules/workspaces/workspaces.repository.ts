import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.ts';

type Conn = Kysely<Database> | Transaction<Database>;

import type { Workspace } from './workspace.ts';

const columns = ['id', 'tenant_id', 'name', 'property_limit', 'created_at'] as const;

export async function nextWorkspaceId(trx: Transaction<Database>): Promise<number> {
  const { next } = await trx
    .selectFrom('workspaces')
    .select((eb) => eb(eb.fn.coalesce(eb.fn.max('id'), eb.lit(0)), '+', 1).as('next'))
    .executeTakeFirstOrThrow();
  return Number(next);
}

export function insertWorkspace(trx: Transaction<Database>, ws: Workspace): Promise<Workspace> {
  return trx
    .insertInto('workspaces')
    .values({ ...ws, property_seq: 0 })
    .returning(columns)
    .executeTakeFirstOrThrow();
}

export function findWorkspace(db: Conn, id: number): Promise<Workspace | undefined> {
  return db.selectFrom('workspaces').select(columns).where('id', '=', id).executeTakeFirst();
}

export function listWorkspaces(db: Conn, tenantId: number, only: readonly number[] | null, limit: number, afterId: number | undefined): Promise<Workspace[]> {
  let query = db.selectFrom('workspaces').select(columns).where('tenant_id', '=', tenantId);
  if (only !== null) query = query.where('id', 'in', only.length > 0 ? [...only] : [-1]);
  if (afterId !== undefined) query = query.where('id', '>', afterId);
  return query.orderBy('id').limit(limit).execute();
}

/** The tenant's workspaces in creation order, limited to `only` when the key is restricted. */
export function firstWorkspaces(db: Conn, tenantId: number, only: readonly number[] | null, limit: number): Promise<Workspace[]> {
  let query = db.selectFrom('workspaces').select(columns).where('tenant_id', '=', tenantId);
  if (only !== null) query = query.where('id', 'in', only.length > 0 ? [...only] : [-1]);
  return query.orderBy('created_at').orderBy('id').limit(limit).execute();
}
