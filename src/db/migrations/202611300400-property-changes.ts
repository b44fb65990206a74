import type { Kysely } from 'kysely';

// Kysely<any>: a migration is frozen against the schema of its own time, not the app's types.

// A definition change with data converts the values into a staging area, a bounded step at a
// time, and lands them all in one transaction at the end: readers never see a mix, and a change
// that fails or stops leaves the stored values as they were. Staged rows are numbered in the
// order the job writes them (`seq`), so each step appends to the end of the table instead of
// touching pages all over it; a row without `v_json` marks a stored row that goes (a value that
// failed, an item a conversion dropped). The keys a unique or identity value will claim are
// staged apart, so that two profiles converging on one value are found before anything lands.
// A job keeps what it found (counts, samples) in `result`.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('jobs').addColumn('result', 'text').execute();
  await db.schema
    .createTable('staged_values')
    .addColumn('workspace_id', 'integer', (c) => c.notNull())
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('profile_id', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('v_text', 'text')
    .addColumn('v_num', 'double precision')
    .addColumn('v_json', 'text')
    .addPrimaryKeyConstraint('staged_values_pk', ['workspace_id', 'job_id', 'seq'])
    .execute();
  await db.schema
    .createTable('staged_keys')
    .addColumn('workspace_id', 'integer', (c) => c.notNull())
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('value_key', 'text', (c) => c.notNull())
    .addColumn('profile_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('staged_keys_pk', ['workspace_id', 'job_id', 'value_key'])
    .execute();
  // Every write of profile values asks whether a change of its properties runs.
  await db.schema.createIndex('jobs_active_idx').on('jobs').columns(['workspace_id', 'type', 'status']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('jobs_active_idx').execute();
  await db.schema.dropTable('staged_keys').execute();
  await db.schema.dropTable('staged_values').execute();
  await db.schema.alterTable('jobs').dropColumn('result').execute();
}
