import type { Kysely } from 'kysely';

// Kysely<any>: a migration is frozen against the schema of its own time, not the app's types.

// Identity values a profile held before an alias replaced them (Segment's alias with a former user
// id): each still names that profile, or the one it was merged into, while no profile holds it.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('profile_former_keys')
    .addColumn('workspace_id', 'integer', (c) => c.notNull())
    .addColumn('property_id', 'integer', (c) => c.notNull())
    .addColumn('value_key', 'text', (c) => c.notNull())
    .addColumn('profile_id', 'text', (c) => c.notNull())
    .addColumn('retired_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('profile_former_keys_pk', ['workspace_id', 'property_id', 'value_key'])
    .execute();
  await db.schema.createIndex('profile_former_keys_profile_idx').on('profile_former_keys').columns(['workspace_id', 'profile_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('profile_former_keys').execute();
}
