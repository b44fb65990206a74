// All SQL about imports: the import rows, the uploaded rows kept in chunks, and the problems of
// rejected rows. `db`/`trx` first, the workspace second.
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, ImportRejectionsTable, ImportsTable } from '../../db/schema.ts';

type Conn = Kysely<Database> | Transaction<Database>;

export type ImportRow = Selectable<ImportsTable>;
export type Counts = Pick<ImportRow, 'created' | 'updated' | 'merged' | 'rejected' | 'unchanged'>;
/** An uploaded row: its number in the file and its cells (CSV) or object (NDJSON). */
export type StoredRow = [number, string[] | Record<string, unknown>];

export async function insertImport(db: Conn, row: ImportRow): Promise<void> {
  await db.insertInto('imports').values(row).execute();
}

export async function findImport(db: Conn, workspaceId: number, id: string): Promise<ImportRow | undefined> {
  return db.selectFrom('imports').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
}

/** Newest first, after the cursor's (created_at, id). */
export async function listImports(db: Conn, workspaceId: number, page: { limit: number; after?: { created_at: string; id: string } }): Promise<ImportRow[]> {
  return db
    .selectFrom('imports')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .$if(page.after !== undefined, (q) =>
      q.where((eb) => eb.or([eb('created_at', '<', page.after!.created_at), eb.and([eb('created_at', '=', page.after!.created_at), eb('id', '<', page.after!.id)])])),
    )
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit)
    .execute();
}

export async function updateImport(db: Conn, workspaceId: number, id: string, change: Partial<Omit<ImportRow, 'workspace_id' | 'id'>>): Promise<void> {
  await db.updateTable('imports').set(change).where('workspace_id', '=', workspaceId).where('id', '=', id).execute();
}

/** Sets the status only while the import is in one of `from`; whether it was. */
export async function moveStatus(db: Conn, workspaceId: number, id: string, from: string[], change: Pick<ImportRow, 'status'> & Partial<ImportRow>): Promise<boolean> {
  const result = await db.updateTable('imports').set(change).where('workspace_id', '=', workspaceId).where('id', '=', id).where('status', 'in', from).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Removes an import with its rows and problems (an upload that failed leaves nothing). */
export async function deleteImport(db: Conn, workspaceId: number, id: string): Promise<void> {
  for (const table of ['import_chunks', 'import_rejections'] as const) await db.deleteFrom(table).where('workspace_id', '=', workspaceId).where('import_id', '=', id).execute();
  await db.deleteFrom('imports').where('workspace_id', '=', workspaceId).where('id', '=', id).execute();
}

/** `data`: the rows' JSON, sealed by the caller (a file may hold PII). */
export async function insertChunk(db: Conn, workspaceId: number, importId: string, firstRow: number, rowCount: number, data: string): Promise<void> {
  await db.insertInto('import_chunks').values({ workspace_id: workspaceId, import_id: importId, first_row: firstRow, row_count: rowCount, data }).execute();
}

/** The chunk holding the row at `index` (from 0), as stored. */
export async function chunkAt(db: Conn, workspaceId: number, importId: string, index: number): Promise<{ first_row: number; data: string } | undefined> {
  return db
    .selectFrom('import_chunks')
    .select(['first_row', 'data'])
    .where('workspace_id', '=', workspaceId)
    .where('import_id', '=', importId)
    .where('first_row', '<=', index)
    .orderBy('first_row', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** The uploaded rows are no longer needed once every one is done. */
export async function deleteChunks(db: Conn, workspaceId: number, importId: string): Promise<void> {
  await db.deleteFrom('import_chunks').where('workspace_id', '=', workspaceId).where('import_id', '=', importId).execute();
}

/** A rejected row's problem as stored (`pii`: 1 when `value` is sealed). */
export type RejectionRow = Omit<ImportRejectionsTable, 'workspace_id' | 'import_id'>;

export async function insertRejections(db: Conn, workspaceId: number, importId: string, rows: readonly RejectionRow[]): Promise<void> {
  // Nine parameters a row: well under SQLite's limit of 32,766 per statement.
  for (let i = 0; i < rows.length; i += 3000) {
    await db
      .insertInto('import_rejections')
      .values(rows.slice(i, i + 3000).map((r) => ({ workspace_id: workspaceId, import_id: importId, ...r })))
      .execute();
  }
}

/** The problems of rejected rows in row order, a page after (row_number, position). */
export async function rejectionPage(db: Conn, workspaceId: number, importId: string, after: { row: number; position: number } | undefined, limit: number): Promise<RejectionRow[]> {
  return db
    .selectFrom('import_rejections')
    .select(['row_number', 'position', 'column_name', 'property', 'problem', 'value', 'pii'])
    .where('workspace_id', '=', workspaceId)
    .where('import_id', '=', importId)
    .$if(after !== undefined, (q) =>
      q.where((eb) => eb.or([eb('row_number', '>', after!.row), eb.and([eb('row_number', '=', after!.row), eb('position', '>', after!.position)])])),
    )
    .orderBy('row_number')
    .orderBy('position')
    .limit(limit)
    .execute();
}
