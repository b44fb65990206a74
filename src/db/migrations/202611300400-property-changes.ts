import type { Kysely } from 'kysely';

// Kysely<any>: a migration is frozen against the schema of its own time, not the app's types.

// A definition change with data converts the values into a staging area, a bounded step at a
// time, and swaps them in at the end in one transaction: readers never see a mix, and a change
// that fails or stops leaves the stored values as they were. A job keeps what it found (counts,
// samples) in `result`.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('jobs').addColumn('result', 'text').execute();
  await db.schema
    .createTable('staged_values')
    .addColumn('workspace_id', 'integer', (c) => c.notNull())
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('profile_id', 'text', (c) => c.notNull())
    .addColumn('property_id', 'integer', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('v_text', 'text')
    .addColumn('v_num', 'double precision')
    .addColumn('v_json', 'text', (c) => c.notNull())
    .addColumn('source', 'text')
    .addColumn('written_at', 'text', (c) => c.notNull())
    // The key a unique or identity value claims, on its first item; null otherwise.
    .addColumn('value_key', 'text')
    .addPrimaryKeyConstraint('staged_values_pk', ['workspace_id', 'job_id', 'profile_id', 'position'])
    .execute();
  // Every write of profile values asks whether a change of its properties runs.
  await db.schema.createIndex('jobs_active_idx').on('jobs').columns(['workspace_id', 'type', 'status']).execute();
  await db.schema.createIndex('staged_values_key_idx').on('staged_values').columns(['workspace_id', 'job_id', 'value_key']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('staged_values').execute();
  await db.schema.dropIndex('jobs_active_idx').execute();
  await db.schema.alterTable('jobs').dropColumn('result').execute();
}
