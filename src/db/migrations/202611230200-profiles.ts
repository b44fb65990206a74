import type { Kysely } from 'kysely';

// Kysely<any>: a migration is frozen against the schema of its own time, not the app's types.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('profiles')
    .addColumn('workspace_id', 'integer', (c) => c.notNull().references('workspaces.id'))
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('profiles_pk', ['workspace_id', 'id'])
    .execute();
  await db.schema.createIndex('profiles_created_idx').on('profiles').columns(['workspace_id', 'created_at', 'id']).execute();

  // One row per value (per item for multi-valued properties). Searchable forms: `v_text` for
  // text-like values, dates, booleans and the blind index of PII values; `v_num` for numbers.
  // `v_json` holds the value itself (encrypted for PII).
  await db.schema
    .createTable('profile_values')
    .addColumn('workspace_id', 'integer', (c) => c.notNull())
    .addColumn('profile_id', 'text', (c) => c.notNull())
    .addColumn('property_id', 'integer', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('v_text', 'text')
    .addColumn('v_num', 'double precision')
    .addColumn('v_json', 'text', (c) => c.notNull())
    .addColumn('source', 'text')
    .addColumn('written_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('profile_values_pk', ['workspace_id', 'profile_id', 'property_id', 'position'])
    .execute();
  await db.schema.createIndex('profile_values_text_idx').on('profile_values').columns(['workspace_id', 'property_id', 'v_text', 'profile_id']).execute();
  await db.schema.createIndex('profile_values_num_idx').on('profile_values').columns(['workspace_id', 'property_id', 'v_num', 'profile_id']).execute();

  // Identity and unique values: the primary key makes two profiles holding one value impossible,
  // even for concurrent writers.
  await db.schema
    .createTable('profile_keys')
    .addColumn('workspace_id', 'integer', (c) => c.notNull())
    .addColumn('property_id', 'integer', (c) => c.notNull())
    .addColumn('value_key', 'text', (c) => c.notNull())
    .addColumn('profile_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('profile_keys_pk', ['workspace_id', 'property_id', 'value_key'])
    .execute();
  await db.schema.createIndex('profile_keys_profile_idx').on('profile_keys').columns(['workspace_id', 'profile_id']).execute();

  // A background job is claimed by one server at a time, for a while; a lease that runs out
  // (its server stopped) lets another server, or the restarted one, resume the job.
  await db.schema.alterTable('jobs').addColumn('lease_until', 'text').execute();

  // Ids of profiles merged into another one.
  await db.schema
    .createTable('profile_aliases')
    .addColumn('workspace_id', 'integer', (c) => c.notNull())
    .addColumn('alias', 'text', (c) => c.notNull())
    .addColumn('profile_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('profile_aliases_pk', ['workspace_id', 'alias'])
    .execute();
  await db.schema.createIndex('profile_aliases_profile_idx').on('profile_aliases').columns(['workspace_id', 'profile_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('jobs').dropColumn('lease_until').execute();
  for (const table of ['profile_aliases', 'profile_keys', 'profile_values', 'profiles']) await db.schema.dropTable(table).execute();
}
