import type { Kysely } from 'kysely';

// Kysely<any>: a migration is frozen against the schema of its own time, not the app's types.

// The fingerprints of the keys that encrypt PII values, never the keys: a server started with
// another key refuses to start instead of failing every read of a PII value. During a rotation
// the old key is `retiring` until every value is re-encrypted under the `active` one.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('encryption_keys')
    .addColumn('fingerprint', 'text', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('encryption_keys').execute();
}
