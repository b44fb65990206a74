import { SqliteAdapter, sql, type Kysely } from 'kysely';

// Kysely<any>: a migration is frozen against the schema of its own time, not the app's types.

// On SQLite, profile_values becomes a WITHOUT ROWID table: rows are stored in primary-key order
// (workspace, profile, property, position), so a profile's values sit together and a lookup by
// profile reads the row itself, not an index and then the table. Without statistics SQLite
// otherwise prefers a covering value index for a per-profile check, and scans it once per
// profile. PostgreSQL keeps its heap table: its planner has statistics, and nothing changes there.
const COLUMNS = 'workspace_id, profile_id, property_id, position, v_text, v_num, v_json, source, written_at';

async function rebuild(db: Kysely<any>, withoutRowid: boolean): Promise<void> {
  if (!(db.getExecutor().adapter instanceof SqliteAdapter)) return;
  await db.schema
    .createTable('profile_values_next')
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
    .$call((b) => (withoutRowid ? b.modifyEnd(sql`without rowid`) : b))
    .execute();
  await sql`insert into profile_values_next (${sql.raw(COLUMNS)}) select ${sql.raw(COLUMNS)} from profile_values order by workspace_id, profile_id, property_id, position`.execute(db);
  await db.schema.dropTable('profile_values').execute();
  await db.schema.alterTable('profile_values_next').renameTo('profile_values').execute();
  await db.schema.createIndex('profile_values_text_idx').on('profile_values').columns(['workspace_id', 'property_id', 'v_text', 'profile_id']).execute();
  await db.schema.createIndex('profile_values_num_idx').on('profile_values').columns(['workspace_id', 'property_id', 'v_num', 'profile_id']).execute();
}

export async function up(db: Kysely<any>): Promise<void> {
  await rebuild(db, true);
}

export async function down(db: Kysely<any>): Promise<void> {
  await rebuild(db, false);
}
