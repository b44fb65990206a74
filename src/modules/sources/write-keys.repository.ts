import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { WriteKey } from './write-keys.ts';

type Conn = Kysely<Database> | Transaction<Database>;

export async function insertWriteKey(db: Conn, workspaceId: number, key: WriteKey, keyHash: string): Promise<void> {
  await db
    .insertInto('source_write_keys')
    .values({ workspace_id: workspaceId, id: key.id, source_id: key.source_id, key_hash: keyHash, created_at: key.created_at })
    .execute();
}

/** A source's live keys in creation order, after the cursor's (created_at, id). */
export async function listWriteKeys(db: Conn, workspaceId: number, sourceId: number, limit: number, after?: [string, string]): Promise<WriteKey[]> {
  let query = db
    .selectFrom('source_write_keys')
    .select(['id', 'source_id', 'created_at'])
    .where('workspace_id', '=', workspaceId)
    .where('source_id', '=', sourceId)
    .where('revoked_at', 'is', null);
  if (after) query = query.where((eb) => eb.or([eb('created_at', '>', after[0]), eb.and([eb('created_at', '=', after[0]), eb('id', '>', after[1])])]));
  return query.orderBy('created_at').orderBy('id').limit(limit).execute();
}

/** Marks a live key revoked; false when there is none. */
export async function revokeWriteKey(db: Conn, workspaceId: number, sourceId: number, id: string, at: string): Promise<boolean> {
  const res = await db
    .updateTable('source_write_keys')
    .set({ revoked_at: at })
    .where('workspace_id', '=', workspaceId)
    .where('source_id', '=', sourceId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** The live key with this hash, whose source still exists. */
export async function findLiveWriteKey(db: Conn, workspaceId: number, keyHash: string): Promise<{ id: string; source_id: number } | undefined> {
  return db
    .selectFrom('source_write_keys as k')
    .innerJoin('sources as s', (j) => j.onRef('s.workspace_id', '=', 'k.workspace_id').onRef('s.id', '=', 'k.source_id'))
    .select(['k.id', 'k.source_id'])
    .where('k.workspace_id', '=', workspaceId)
    .where('k.key_hash', '=', keyHash)
    .where('k.revoked_at', 'is', null)
    .executeTakeFirst();
}
