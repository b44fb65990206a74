import type { Kysely } from 'kysely';

// Kysely<any>: a migration is frozen against the schema of its own time, not the app's types.

// Imports: the import itself (options, column mapping, progress and counts), the uploaded rows
// kept in chunks so that any server can carry the job on, and the problems of rejected rows.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('imports')
    .addColumn('workspace_id', 'integer', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('dry_run', 'integer', (c) => c.notNull())
    .addColumn('source', 'text')
    .addColumn('columns', 'text', (c) => c.notNull())
    .addColumn('rows_total', 'integer')
    .addColumn('rows_done', 'integer', (c) => c.notNull())
    .addColumn('bytes_total', 'integer', (c) => c.notNull())
    .addColumn('created', 'integer', (c) => c.notNull())
    .addColumn('updated', 'integer', (c) => c.notNull())
    .addColumn('merged', 'integer', (c) => c.notNull())
    .addColumn('rejected', 'integer', (c) => c.notNull())
    .addColumn('unchanged', 'integer', (c) => c.notNull())
    .addColumn('job_id', 'text')
    .addColumn('reason', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .addPrimaryKeyConstraint('imports_pk', ['workspace_id', 'id'])
    .execute();
  await db.schema.createIndex('imports_created_idx').on('imports').columns(['workspace_id', 'created_at', 'id']).execute();

  // `first_row`: the index (from 0) of the chunk's first row among the import's rows.
  await db.schema
    .createTable('import_chunks')
    .addColumn('workspace_id', 'integer', (c) => c.notNull())
    .addColumn('import_id', 'text', (c) => c.notNull())
    .addColumn('first_row', 'integer', (c) => c.notNull())
    .addColumn('row_count', 'integer', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('import_chunks_pk', ['workspace_id', 'import_id', 'first_row'])
    .execute();

  // One row per problem of a rejected row; `value` is sealed when the property is PII.
  await db.schema
    .createTable('import_rejections')
    .addColumn('workspace_id', 'integer', (c) => c.notNull())
    .addColumn('import_id', 'text', (c) => c.notNull())
    .addColumn('row_number', 'integer', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('column_name', 'text')
    .addColumn('property', 'text')
    .addColumn('problem', 'text', (c) => c.notNull())
    .addColumn('value', 'text')
    .addColumn('pii', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('import_rejections_pk', ['workspace_id', 'import_id', 'row_number', 'position'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('import_rejections').execute();
  await db.schema.dropTable('import_chunks').execute();
  await db.schema.dropTable('imports').execute();
}
