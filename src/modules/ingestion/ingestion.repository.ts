import type { Kysely, Transaction } from 'kysely';
import { isPostgres } from '../../db/dialect.ts';
import type { Database } from '../../db/schema.ts';

type Conn = Kysely<Database> | Transaction<Database>;

/** Rows or values per statement: well within SQLite's 32,766 bound variables. */
const PER_STATEMENT = 1000;

/**
 * Claims the messages of a request: inserts each hash, or renews one last seen before `since`.
 * Returns the hashes claimed; the others were seen within the window (a concurrent writer of the
 * same hash waits for the first to commit, then finds it). In key order, so two writers lock the
 * same rows in the same order. New hashes are inserted, and only those already held are renewed
 * where expired, in a second statement: an upsert's DO UPDATE makes SQLite keep a statement
 * journal of every page it changes (see insert-rows.ts, orFail), which a Segment batch's claim
 * of 100 new hashes spilled to a temporary file.
 */
export async function claimMessages(trx: Transaction<Database>, workspaceId: number, sourceId: number, hashes: string[], at: string, since: string): Promise<Set<string>> {
  const claimed = new Set<string>();
  const sorted = [...new Set(hashes)].sort();
  const postgres = isPostgres(trx);
  for (let i = 0; i < sorted.length; i += PER_STATEMENT) {
    const chunk = sorted.slice(i, i + PER_STATEMENT);
    const insert = trx.insertInto('ingested_messages');
    const inserted = await (postgres ? insert : insert.orFail())
      .values(chunk.map((message_hash) => ({ workspace_id: workspaceId, source_id: sourceId, message_hash, seen_at: at })))
      .onConflict((oc) => oc.columns(['workspace_id', 'source_id', 'message_hash']).doNothing())
      .returning('message_hash')
      .execute();
    for (const r of inserted) claimed.add(r.message_hash);
    const held = chunk.filter((h) => !claimed.has(h));
    if (held.length === 0) continue;
    const renewed = await trx
      .updateTable('ingested_messages')
      .set({ seen_at: at })
      .where('workspace_id', '=', workspaceId)
      .where('source_id', '=', sourceId)
      .where('message_hash', 'in', held)
      .where('seen_at', '<', since)
      .returning('message_hash')
      .execute();
    for (const r of renewed) claimed.add(r.message_hash);
  }
  return claimed;
}

/** Gives claims back (their calls were refused), so that a retry of those calls is written. */
export async function releaseMessages(trx: Transaction<Database>, workspaceId: number, sourceId: number, hashes: string[]): Promise<void> {
  for (let i = 0; i < hashes.length; i += PER_STATEMENT) {
    await trx
      .deleteFrom('ingested_messages')
      .where('workspace_id', '=', workspaceId)
      .where('source_id', '=', sourceId)
      .where('message_hash', 'in', hashes.slice(i, i + PER_STATEMENT))
      .execute();
  }
}

export async function forgetMessagesBefore(db: Conn, workspaceId: number, before: string): Promise<void> {
  await db.deleteFrom('ingested_messages').where('workspace_id', '=', workspaceId).where('seen_at', '<', before).execute();
}
