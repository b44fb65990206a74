import type { Kysely } from 'kysely';

// Kysely<any>: a migration is frozen against the schema of its own time, not the app's types.

// A definition change with data converts each stored value into a slot beside it on its own row
// (`next_*`: read by nothing but the change), a bounded step at a time, and lands them all in one
// transaction by moving the slot into the value: readers never see a mix, provenance stays on the
// row, and a change that fails or stops leaves the stored values as they were. The keys a unique
// or identity value will claim are staged apart, so that two profiles converging on one value are
// found before anything lands. A job keeps what it found (counts, samples) in `result`.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('jobs').addColumn('result', 'text').execute();
  for (const [column, type] of [
    ['next_text', 'text'],
    ['next_num', 'double precision'],
    ['next_json', 'text'],
  ] as const) {
    await db.schema.alterTable('profile_values').addColumn(column, type).execute();
  }
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
  for (const column of ['next_json', 'next_num', 'next_text']) await db.schema.alterTable('profile_values').dropColumn(column).execute();
  await db.schema.alterTable('jobs').dropColumn('result').execute();
}
