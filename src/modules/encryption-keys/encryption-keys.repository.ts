import type { Kysely, Transaction } from 'kysely';
import type { Database, EncryptionKeysTable } from '../../db/schema.ts';

type Conn = Kysely<Database> | Transaction<Database>;

export type KeyRow = EncryptionKeysTable;

export async function listKeys(db: Conn): Promise<KeyRow[]> {
  return (await db.selectFrom('encryption_keys').selectAll().orderBy('created_at').execute()).map((r) => ({ ...r }));
}

export async function addKey(db: Conn, row: KeyRow): Promise<void> {
  await db.insertInto('encryption_keys').values(row).execute();
}

export async function setKeyStatus(db: Conn, fingerprint: string, status: KeyRow['status']): Promise<void> {
  await db.updateTable('encryption_keys').set({ status }).where('fingerprint', '=', fingerprint).execute();
}

export async function removeKey(db: Conn, fingerprint: string): Promise<void> {
  await db.deleteFrom('encryption_keys').where('fingerprint', '=', fingerprint).execute();
}
