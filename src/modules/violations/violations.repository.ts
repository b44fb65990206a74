import type { Kysely, Transaction } from 'kysely';
import type { Database, ViolationsTable } from '../../db/schema.ts';

type Conn = Kysely<Database> | Transaction<Database>;

export type ViolationRow = Omit<ViolationsTable, 'workspace_id'>;

export interface ViolationFilter {
  source_id?: number;
  trait?: string;
  property?: string;
  problem?: string;
}

/**
 * Adds each group's count to its row, or inserts it. Rows are given one per key and in key order,
 * so two writers lock the same rows in the same order.
 */
export async function upsertViolations(db: Conn, workspaceId: number, rows: ViolationRow[]): Promise<void> {
  // 11 values a row: 500 rows stay well within SQLite's 32,766 bound variables.
  for (let i = 0; i < rows.length; i += 500) {
    await db
      .insertInto('violations')
      .values(rows.slice(i, i + 500).map((r) => ({ workspace_id: workspaceId, ...r })))
      .onConflict((oc) =>
        oc.columns(['workspace_id', 'group_key']).doUpdateSet((eb) => ({
          count: eb('violations.count', '+', eb.ref('excluded.count')),
          last_seen: eb.ref('excluded.last_seen'),
          sample: eb.ref('excluded.sample'),
        })),
      )
      .execute();
  }
}

/** Most recently seen first; the cursor is the last row's (last_seen, group_key). */
export async function listViolations(db: Conn, workspaceId: number, filter: ViolationFilter, limit: number, after?: [string, string]): Promise<ViolationRow[]> {
  let query = db.selectFrom('violations').selectAll().where('workspace_id', '=', workspaceId);
  if (filter.source_id !== undefined) query = query.where('source_id', '=', filter.source_id);
  if (filter.trait !== undefined) query = query.where('trait', '=', filter.trait);
  if (filter.property !== undefined) query = query.where('property', '=', filter.property);
  if (filter.problem !== undefined) query = query.where('problem', '=', filter.problem);
  if (after) query = query.where((eb) => eb.or([eb('last_seen', '<', after[0]), eb.and([eb('last_seen', '=', after[0]), eb('group_key', '<', after[1])])]));
  const rows = await query.orderBy('last_seen', 'desc').orderBy('group_key', 'desc').limit(limit).execute();
  return rows.map(({ workspace_id: _, ...row }) => row);
}
