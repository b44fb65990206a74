import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.ts';

type Conn = Kysely<Database> | Transaction<Database>;

/** Rows or values per statement: well within SQLite's 32,766 bound variables. */
const PER_STATEMENT = 1000;

/** The hashes among these that the source has sent since `since`. */
export async function seenMessages(db: Conn, workspaceId: number, sourceId: number, hashes: string[], since: string): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < hashes.length; i += PER_STATEMENT) {
    const rows = await db
      .selectFrom('ingested_messages')
      .select('message_hash')
      .where('workspace_id', '=', workspaceId)
      .where('source_id', '=', sourceId)
      .where('message_hash', 'in', hashes.slice(i, i + PER_STATEMENT))
      .where('seen_at', '>=', since)
      .execute();
    for (const r of rows) seen.add(r.message_hash);
  }
  return seen;
}

/** Remembers the messages as seen now (an expired row of the same id is renewed). */
export async function rememberMessages(db: Conn, workspaceId: number, sourceId: number, hashes: string[], at: string): Promise<void> {
  // In key order, so two writers lock the same rows in the same order.
  const sorted = [...new Set(hashes)].sort();
  for (let i = 0; i < sorted.length; i += PER_STATEMENT) {
    await db
      .insertInto('ingested_messages')
      .values(sorted.slice(i, i + PER_STATEMENT).map((message_hash) => ({ workspace_id: workspaceId, source_id: sourceId, message_hash, seen_at: at })))
      .onConflict((oc) => oc.columns(['workspace_id', 'source_id', 'message_hash']).doUpdateSet((eb) => ({ seen_at: eb.ref('excluded.seen_at') })))
      .execute();
  }
}

export async function forgetMessagesBefore(db: Conn, workspaceId: number, before: string): Promise<void> {
  await db.deleteFrom('ingested_messages').where('workspace_id', '=', workspaceId).where('seen_at', '<', before).execute();
}
