import type { Kysely } from 'kysely';

// Kysely<any>: a migration is frozen against the schema of its own time, not the app's types.

// Ingestion from instrumented apps: write keys that belong to sources, the identity properties a
// source maps Segment's userId and anonymousId to, the message ids seen in the last 24 hours, and
// refused traits grouped as violations.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sources').addColumn('user_id_property_id', 'integer').execute();
  await db.schema.alterTable('sources').addColumn('anonymous_id_property_id', 'integer').execute();

  // The key names its workspace, so the lookup by hash stays within one workspace's rows.
  await db.schema
    .createTable('source_write_keys')
    .addColumn('workspace_id', 'integer', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('source_id', 'integer', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .addPrimaryKeyConstraint('source_write_keys_pk', ['workspace_id', 'id'])
    .execute();
  await db.schema.createIndex('source_write_keys_hash_idx').on('source_write_keys').columns(['workspace_id', 'key_hash']).unique().execute();
  await db.schema.createIndex('source_write_keys_source_idx').on('source_write_keys').columns(['workspace_id', 'source_id']).execute();

  // A message id is kept as its SHA-256, whatever its length; rows older than 24 hours no longer count.
  await db.schema
    .createTable('ingested_messages')
    .addColumn('workspace_id', 'integer', (c) => c.notNull())
    .addColumn('source_id', 'integer', (c) => c.notNull())
    .addColumn('message_hash', 'text', (c) => c.notNull())
    .addColumn('seen_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('ingested_messages_pk', ['workspace_id', 'source_id', 'message_hash'])
    .execute();
  await db.schema.createIndex('ingested_messages_seen_idx').on('ingested_messages').columns(['workspace_id', 'seen_at']).execute();

  // One row per (source, trait, property, problem), keyed by the hash of the four.
  await db.schema
    .createTable('violations')
    .addColumn('workspace_id', 'integer', (c) => c.notNull())
    .addColumn('group_key', 'text', (c) => c.notNull())
    .addColumn('source_id', 'integer', (c) => c.notNull())
    .addColumn('trait', 'text', (c) => c.notNull())
    .addColumn('property', 'text')
    .addColumn('problem', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('first_seen', 'text', (c) => c.notNull())
    .addColumn('last_seen', 'text', (c) => c.notNull())
    .addColumn('sample', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('violations_pk', ['workspace_id', 'group_key'])
    .execute();
  await db.schema.createIndex('violations_last_seen_idx').on('violations').columns(['workspace_id', 'last_seen', 'group_key']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('violations').execute();
  await db.schema.dropTable('ingested_messages').execute();
  await db.schema.dropTable('source_write_keys').execute();
  await db.schema.alterTable('sources').dropColumn('anonymous_id_property_id').execute();
  await db.schema.alterTable('sources').dropColumn('user_id_property_id').execute();
}
