import type { Kysely } from 'kysely';

// Kysely<any>: a migration is frozen against the schema of its own time, not the app's types.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('tenants')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('workspaces')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('tenant_id', 'integer', (c) => c.notNull().references('tenants.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('property_limit', 'integer', (c) => c.notNull())
    .addColumn('property_seq', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('workspaces_tenant_idx').on('workspaces').columns(['tenant_id', 'id']).execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'integer', (c) => c.notNull().references('tenants.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('workspace_ids', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema.createIndex('api_keys_tenant_idx').on('api_keys').columns(['tenant_id', 'created_at', 'id']).execute();

  await db.schema
    .createTable('properties')
    .addColumn('workspace_id', 'integer', (c) => c.notNull().references('workspaces.id'))
    .addColumn('id', 'integer', (c) => c.notNull())
    .addColumn('uid', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_key', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('display_name_key', 'text', (c) => c.notNull())
    .addColumn('i18n_display_names', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('example', 'text')
    .addColumn('data_type', 'text', (c) => c.notNull())
    .addColumn('multi_valued', 'integer', (c) => c.notNull())
    .addColumn('options', 'text')
    .addColumn('validation', 'text')
    .addColumn('is_unique', 'integer', (c) => c.notNull())
    .addColumn('group_name', 'text')
    .addColumn('display_order', 'integer')
    .addColumn('sort_order', 'integer', (c) => c.notNull())
    .addColumn('pii', 'integer', (c) => c.notNull())
    .addColumn('importable', 'integer', (c) => c.notNull())
    .addColumn('exportable', 'integer', (c) => c.notNull())
    .addColumn('import_aliases', 'text', (c) => c.notNull())
    .addColumn('export_alias', 'text')
    .addColumn('identity_role', 'text', (c) => c.notNull())
    .addColumn('identity_priority', 'integer')
    .addColumn('merge_function', 'text', (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('system', 'integer', (c) => c.notNull())
    .addColumn('archived', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('properties_pk', ['workspace_id', 'id'])
    .execute();
  await db.schema.createIndex('properties_uid_idx').on('properties').columns(['workspace_id', 'uid']).unique().execute();
  await db.schema.createIndex('properties_name_idx').on('properties').columns(['workspace_id', 'name_key']).unique().execute();
  await db.schema
    .createIndex('properties_display_name_idx')
    .on('properties')
    .columns(['workspace_id', 'display_name_key'])
    .unique()
    .execute();
  await db.schema
    .createIndex('properties_order_idx')
    .on('properties')
    .columns(['workspace_id', 'archived', 'sort_order', 'name_key'])
    .execute();

  // Every name and import alias of a workspace, lower-cased: one unique index keeps them all distinct.
  await db.schema
    .createTable('property_keys')
    .addColumn('workspace_id', 'integer', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('property_id', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('property_keys_pk', ['workspace_id', 'key'])
    .execute();
  await db.schema.createIndex('property_keys_property_idx').on('property_keys').columns(['workspace_id', 'property_id']).execute();

  await db.schema
    .createTable('property_history')
    .addColumn('workspace_id', 'integer', (c) => c.notNull())
    .addColumn('property_id', 'integer', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('changes', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('property_history_pk', ['workspace_id', 'property_id', 'version'])
    .execute();

  await db.schema
    .createTable('jobs')
    .addColumn('workspace_id', 'integer', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('progress_done', 'integer', (c) => c.notNull())
    .addColumn('progress_total', 'integer', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('jobs_pk', ['workspace_id', 'id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['jobs', 'property_history', 'property_keys', 'properties', 'api_keys', 'workspaces', 'tenants', 'settings']) {
    await db.schema.dropTable(table).execute();
  }
}
