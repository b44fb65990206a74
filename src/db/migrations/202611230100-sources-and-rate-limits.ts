import type { Kysely } from 'kysely';

// Kysely<any>: a migration is frozen against the schema of its own time, not the app's types.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sources')
    .addColumn('workspace_id', 'integer', (c) => c.notNull().references('workspaces.id'))
    .addColumn('id', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_key', 'text', (c) => c.notNull())
    .addColumn('priority', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('sources_pk', ['workspace_id', 'id'])
    .execute();
  await db.schema.createIndex('sources_name_idx').on('sources').columns(['workspace_id', 'name_key']).unique().execute();

  await db.schema
    .createTable('source_mappings')
    .addColumn('workspace_id', 'integer', (c) => c.notNull())
    .addColumn('source_id', 'integer', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('property_id', 'integer', (c) => c.notNull())
    .addColumn('input_path', 'text', (c) => c.notNull())
    .addColumn('alternate_paths', 'text', (c) => c.notNull())
    .addColumn('mandatory', 'integer', (c) => c.notNull())
    .addColumn('merge_function', 'text')
    .addPrimaryKeyConstraint('source_mappings_pk', ['workspace_id', 'source_id', 'position'])
    .execute();
  // "Which sources map this property?" is asked before every purge.
  await db.schema
    .createIndex('source_mappings_property_idx')
    .on('source_mappings')
    .columns(['workspace_id', 'property_id', 'source_id'])
    .execute();

  await db.schema.alterTable('workspaces').addColumn('source_seq', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('api_keys').addColumn('rate_limit', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_keys').dropColumn('rate_limit').execute();
  await db.schema.alterTable('workspaces').dropColumn('source_seq').execute();
  await db.schema.dropTable('source_mappings').execute();
  await db.schema.dropTable('sources').execute();
}
