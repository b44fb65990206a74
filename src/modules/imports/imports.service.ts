// Imports and exports of profiles through the dictionary. An upload is read as it arrives and its
// rows kept in the database in chunks; a job then writes them through the profiles write path in
// bounded steps, each committing its rows, its counts and the row cursor together, so any server
// resumes where the last step ended. Exports read one snapshot through the profiles service.
// Knows nothing of HTTP.
import type { Readable } from 'node:stream';
import type { Kysely, Transaction } from 'kysely';
import { LRUCache } from 'lru-cache';
import type { Database } from '../../db/schema.ts';
import { type Clock, isoNow } from '../../shared/clock.ts';
import { AppError, validationFailed } from '../../shared/errors.ts';
import type { IdGenerator } from '../../shared/ids.ts';
import { decodeCursor, encodeCursor, type Page } from '../../shared/pagination.ts';
import type { ClaimedJob } from '../jobs/jobs.repository.ts';
import type { JobService, StepSizing } from '../jobs/jobs.service.ts';
import type { ProfileService, WriteOptions, WriteResult } from '../profiles/profiles.service.ts';
import type { SearchQuery } from '../profiles/profile-search.ts';
import type { ValueCodec } from '../profiles/value-codec.ts';
import type { PropertyService } from '../properties/properties.service.ts';
import type { Property } from '../properties/property.ts';
import type { SourceService } from '../sources/sources.service.ts';
import { csvRow, exportColumns, ndjsonObject, type ExportColumn } from './export-columns.ts';
import { readUpload } from './import-reader.ts';
import { csvRecord, mapHeader, mapKeys, ndjsonRecord, rejectionsOf, type BuiltRecord, type ImportColumn, type ImportFormat } from './import-rows.ts';
import * as repo from './imports.repository.ts';
import type { Counts, ImportRow, RejectionRow, StoredRow } from './imports.repository.ts';

export const IMPORT_STATUSES = ['uploading', 'queued', 'running', 'done', 'cancelled'] as const;
export const IMPORT_MODES = ['upsert', 'create', 'update'] as const;

/** Rows kept together in one stored chunk, at most; a chunk also closes past CHUNK_CHARS. */
const CHUNK_ROWS = 1000;
const CHUNK_CHARS = 4_000_000;

/**
 * An import's steps: longer than other jobs' (about 20 ms), since each step costs the same beside
 * its rows whatever its size (a commit, synced to disk on SQLite with its share of checkpointing;
 * the import's claim, cursor and counts; the job's progress). Measured in one process on SQLite,
 * 20,000 rows of ten columns: 20 ms steps (50 rows on a busy machine) spent 8.1 s of CPU and 386
 * commits, 100 ms steps of up to 2,000 rows 5.4 s and 70. On SQLite a request waits behind one
 * step at most, about 100 ms by this rule; larger steps saved no more CPU and held more memory.
 */
const IMPORT_STEPS: StepSizing = { firstBatchSize: 250, batchSize: 2000, stepMs: 100, minBatchSize: 250 };

export interface ImportOptions {
  format: ImportFormat;
  mode: NonNullable<WriteOptions['mode']>;
  dryRun: boolean;
  /** A source's name or id. */
  source?: string;
  delimiter: string;
  /** The Content-Length, when the client sent one. */
  bytesTotal?: number;
}

export interface ImportView {
  id: string;
  status: (typeof IMPORT_STATUSES)[number];
  format: ImportFormat;
  mode: ImportOptions['mode'];
  dry_run: boolean;
  source: string | null;
  columns: { column: string; property: string | null; reason?: string }[];
  progress: { rows_done: number; rows_total: number | null; bytes_done: number; bytes_total: number };
  counts: Counts;
  job_id: string | null;
  reason: string | null;
  created_at: string;
  finished_at: string | null;
}

export interface ExportRequest {
  format: 'csv' | 'ndjson';
  filters: SearchQuery['filters'];
  properties?: string[];
  includePii: boolean;
  piiReadable: boolean;
  /** Profiles read a page at a time (500 unless said). */
  pageSize?: number;
}

/** Rows of an export: CSV rows as cells, or NDJSON objects. */
export type ExportPage = string[][] | Record<string, unknown>[];

export type ImportService = ReturnType<typeof createImportService>;
type Snapshot = Awaited<ReturnType<ProfileService['snapshot']>>;

const ZERO: Counts = { created: 0, updated: 0, merged: 0, rejected: 0, unchanged: 0 };

function viewOf(row: ImportRow, defs: readonly Property[]): ImportView {
  const byId = new Map(defs.map((d) => [d.id, d.name]));
  const columns = (JSON.parse(row.columns) as ImportColumn[]).map((c) => ({
    column: c.column,
    property: c.property_id === null ? null : (byId.get(c.property_id) ?? null),
    ...(c.reason ? { reason: c.reason } : {}),
  }));
  return {
    id: row.id,
    status: row.status as ImportView['status'],
    format: row.format as ImportFormat,
    mode: row.mode as ImportView['mode'],
    dry_run: row.dry_run === 1,
    source: row.source,
    columns,
    progress: { rows_done: row.rows_done, rows_total: row.rows_total, bytes_done: row.bytes_total, bytes_total: row.bytes_total },
    counts: { created: row.created, updated: row.updated, merged: row.merged, rejected: row.rejected, unchanged: row.unchanged },
    job_id: row.job_id,
    reason: row.reason,
    created_at: row.created_at,
    finished_at: row.finished_at,
  };
}

/** Adds a step's results to the counts. */
function tally(counts: Counts, results: readonly WriteResult[]): Counts {
  const next = { ...counts };
  for (const r of results) next[r.status]++;
  return next;
}

// A factory, as every service here: the short functions below share the dependencies.
export function createImportService({
  db,
  clock,
  ids,
  codec,
  properties,
  profiles,
  sources,
  jobs,
  importLimit,
}: {
  db: Kysely<Database>;
  clock: Clock;
  ids: Pick<IdGenerator, 'uid'>;
  codec: Pick<ValueCodec, 'sealText' | 'openText'>;
  properties: Pick<PropertyService, 'dictionary'>;
  profiles: Pick<ProfileService, 'writeRecords' | 'snapshot'>;
  sources: Pick<SourceService, 'get' | 'priorities'>;
  jobs: Pick<JobService, 'registerStep' | 'enqueue'>;
  importLimit: number;
}) {
  // The chunk each import read last, by import: stored chunks never change, and a step mostly
  // reads on in the chunk the previous step read.
  const chunks = new LRUCache<string, { first: number; rows: StoredRow[] }>({ max: 8 });

  async function mustFind(conn: Kysely<Database> | Transaction<Database>, workspaceId: number, id: string): Promise<ImportRow> {
    const row = await repo.findImport(conn, workspaceId, id);
    if (!row) throw new AppError('NOT_FOUND', `Import ${id} not found.`);
    return row;
  }

  /** The source's name, from its name or id; a source the workspace does not have is refused. */
  async function sourceName(workspaceId: number, given: string | undefined): Promise<string | null> {
    if (given === undefined) return null;
    if (/^\d+$/.test(given)) return (await sources.get(workspaceId, Number(given))).name;
    const names = [...(await sources.priorities(db, workspaceId)).keys()];
    const name = names.find((n) => n.toLowerCase() === given.toLowerCase());
    if (!name) throw validationFailed([{ field: 'source', problem: `no data source "${given}" in this workspace` }]);
    return name;
  }

  /** Reads the upload into chunks; returns the columns and how many rows and bytes there were. */
  async function storeRows(workspaceId: number, id: string, body: Readable, options: ImportOptions): Promise<{ columns: ImportColumn[]; rows: number; bytes: number }> {
    const defs = await properties.dictionary(workspaceId);
    const upload = readUpload(body, { format: options.format, delimiter: options.delimiter, limit: importLimit });
    let columns: ImportColumn[] = [];
    const keys = new Map<string, string>();
    let pending: StoredRow[] = [];
    let chars = 0;
    let rows = 0;
    const flush = async () => {
      if (pending.length === 0) return;
      await repo.insertChunk(db, workspaceId, id, rows - pending.length, pending.length, codec.sealText(JSON.stringify(pending)));
      pending = [];
      chars = 0;
    };
    for await (const item of upload.items) {
      if (item.kind === 'header') {
        const mapped = mapHeader(defs, item.header);
        if (mapped.problems.length > 0) throw new AppError('VALIDATION_FAILED', 'The header row names a column twice, or two columns write one property.', mapped.problems);
        columns = mapped.columns;
        continue;
      }
      if (options.format === 'ndjson') for (const key of Object.keys(item.data)) if (!keys.has(key.toLowerCase())) keys.set(key.toLowerCase(), key);
      pending.push([item.number, item.data]);
      rows++;
      chars += Array.isArray(item.data) ? item.data.reduce((n, c) => n + c.length + 1, 0) : 64;
      if (pending.length >= CHUNK_ROWS || chars >= CHUNK_CHARS) await flush();
    }
    await flush();
    if (options.format === 'ndjson') columns = mapKeys(defs, [...keys.values()]);
    return { columns, rows, bytes: upload.bytes() };
  }

  /** The stored rows from index `from` (0 the first), at most `limit`. */
  async function rowsFrom(trx: Transaction<Database>, workspaceId: number, importId: string, from: number, limit: number): Promise<StoredRow[]> {
    const out: StoredRow[] = [];
    let at = from;
    while (out.length < limit) {
      const key = `${workspaceId}/${importId}`;
      let chunk = chunks.get(key);
      if (!chunk || at < chunk.first || at >= chunk.first + chunk.rows.length) {
        const stored = await repo.chunkAt(trx, workspaceId, importId, at);
        if (!stored) break;
        chunk = { first: stored.first_row, rows: JSON.parse(codec.openText(stored.data)) as StoredRow[] };
        chunks.set(key, chunk);
      }
      const taken = chunk.rows.slice(at - chunk.first, at - chunk.first + limit - out.length);
      if (taken.length === 0) break;
      out.push(...taken);
      at += taken.length;
    }
    return out;
  }

  /** How a stored import turns its rows into records. */
  function recordBuilder(row: ImportRow, defs: readonly Property[]): (data: StoredRow[1]) => BuiltRecord {
    const base = row.source === null ? {} : { source: row.source };
    if (row.format === 'ndjson') return (data) => ndjsonRecord(defs, data as Record<string, unknown>, base);
    const byId = new Map(defs.map((d) => [d.id, d]));
    const columns = (JSON.parse(row.columns) as ImportColumn[]).map((c) => ({ column: c.column, def: c.property_id === null ? null : (byId.get(c.property_id) ?? null), isId: c.reason === 'id' }));
    return (data) => csvRecord(columns, data as string[], base);
  }

  /** A rejected row's problems as stored: PII values sealed. */
  function rejectionRows(number: number, result: WriteResult, built: BuiltRecord, byName: ReadonlyMap<string, Property>): RejectionRow[] {
    if (result.status !== 'rejected') return [];
    return rejectionsOf(result.errors, built, byName).map((r, position) => {
      const text = r.value === undefined ? null : typeof r.value === 'string' ? r.value : JSON.stringify(r.value);
      return {
        row_number: number,
        position,
        column_name: r.column,
        property: r.property,
        problem: r.problem,
        value: text !== null && r.pii ? codec.sealText(text) : text,
        pii: r.pii ? 1 : 0,
      };
    });
  }

  /**
   * One bounded step of an import job: the next rows through the write path, then the cursor,
   * counts and problems, all in the step's transaction. Claiming the import first locks its row,
   * so a cancel waits for the step, and a cancelled import writes nothing more.
   */
  async function step(trx: Transaction<Database>, job: ClaimedJob, limit: number): Promise<number> {
    const workspaceId = job.workspace_id;
    const id = String(job.payload.import_id);
    if (!(await repo.moveStatus(trx, workspaceId, id, ['queued', 'running'], { status: 'running' }))) return 0;
    const row = await mustFind(trx, workspaceId, id);
    const rows = await rowsFrom(trx, workspaceId, id, row.rows_done, limit);
    const defs = await properties.dictionary(workspaceId, trx);
    const build = recordBuilder(row, defs);
    const built = rows.map(([, data]) => build(data));
    const results = await profiles.writeRecords(trx, workspaceId, built.map((b) => b.record), { mode: row.mode as ImportOptions['mode'], dryRun: row.dry_run === 1 });
    const byName = new Map(defs.map((d) => [d.name.toLowerCase(), d]));
    await repo.insertRejections(trx, workspaceId, id, results.flatMap((r, i) => rejectionRows(rows[i][0], r, built[i], byName)));
    const done = row.rows_done + rows.length;
    const finished = done >= (row.rows_total ?? 0);
    await repo.updateImport(trx, workspaceId, id, {
      ...tally(row, results),
      rows_done: done,
      ...(finished ? { status: 'done', finished_at: isoNow(clock) } : {}),
    });
    if (finished) await repo.deleteChunks(trx, workspaceId, id);
    return rows.length;
  }

  jobs.registerStep('import', step, IMPORT_STEPS);

  async function get(workspaceId: number, id: string): Promise<ImportView> {
    return viewOf(await mustFind(db, workspaceId, id), await properties.dictionary(workspaceId));
  }

  /** The export's rows a page at a time, as arrays (CSV) or objects (NDJSON), the header first for CSV; ends the snapshot however it ends. */
  async function* exportPages(snapshot: Snapshot, columns: ExportColumn[], format: ExportRequest['format']): AsyncGenerator<ExportPage> {
    try {
      if (format === 'csv') yield [['id', ...columns.map((c) => c.header)]];
      for await (const page of snapshot.pages) yield format === 'csv' ? page.map((p) => csvRow(p, columns)) : page.map((p) => ndjsonObject(p, columns));
    } finally {
      await snapshot.close();
    }
  }

  return {
    /**
     * Reads an upload into the database and queues its job; answers once both are committed. A
     * file that cannot be read (not UTF-8, bad CSV quoting, over the limit, empty, cut short)
     * leaves nothing behind.
     */
    async upload(workspaceId: number, body: Readable, options: ImportOptions): Promise<ImportView> {
      const source = await sourceName(workspaceId, options.source);
      const id = `imp_${ids.uid().replaceAll('-', '').slice(0, 20)}`;
      const at = isoNow(clock);
      await repo.insertImport(db, {
        workspace_id: workspaceId,
        id,
        status: 'uploading',
        format: options.format,
        mode: options.mode,
        dry_run: options.dryRun ? 1 : 0,
        source,
        columns: '[]',
        rows_total: null,
        rows_done: 0,
        bytes_total: options.bytesTotal ?? 0,
        ...ZERO,
        job_id: null,
        reason: null,
        created_at: at,
        finished_at: null,
      });
      try {
        const stored = await storeRows(workspaceId, id, body, options);
        await db.transaction().execute(async (trx) => {
          const job = await jobs.enqueue(trx, workspaceId, { type: 'import', total: stored.rows, payload: { import_id: id } });
          await repo.updateImport(trx, workspaceId, id, { status: 'queued', columns: JSON.stringify(stored.columns), rows_total: stored.rows, bytes_total: stored.bytes, job_id: job.id });
        });
      } catch (error) {
        await repo.deleteImport(db, workspaceId, id);
        throw error;
      }
      return get(workspaceId, id);
    },

    get,

    async list(workspaceId: number, page: { limit: number; cursor?: string }): Promise<Page<ImportView>> {
      const after = decodeCursor(page.cursor, 2) as [string, string] | undefined;
      const rows = await repo.listImports(db, workspaceId, { limit: page.limit + 1, after: after && { created_at: after[0], id: after[1] } });
      const defs = await properties.dictionary(workspaceId);
      const kept = rows.slice(0, page.limit);
      const last = kept[kept.length - 1];
      return { data: kept.map((r) => viewOf(r, defs)), next_cursor: rows.length > page.limit && last ? encodeCursor([last.created_at, last.id]) : null };
    },

    /** Stops a queued or running import after the step under way; its uploaded rows are dropped. */
    async cancel(workspaceId: number, id: string): Promise<ImportView> {
      const row = await mustFind(db, workspaceId, id);
      const cancelled = await db.transaction().execute(async (trx) => {
        const moved = await repo.moveStatus(trx, workspaceId, id, ['queued', 'running'], { status: 'cancelled', finished_at: isoNow(clock), reason: 'cancelled on request; rows written before stay' });
        if (moved) await repo.deleteChunks(trx, workspaceId, id);
        return moved;
      });
      if (!cancelled) throw new AppError('CONFLICT', `Import ${id} is ${row.status === 'uploading' ? 'still uploading; abort the upload to cancel it' : `already ${row.status}`}.`);
      return get(workspaceId, id);
    },

    /** The rejected rows' problems in row order, as report rows a page at a time, the header first; PII values masked unless `piiReadable`. */
    async rejections(workspaceId: number, id: string, piiReadable: boolean): Promise<AsyncGenerator<string[][]>> {
      await mustFind(db, workspaceId, id);
      const shown = (r: RejectionRow): string => {
        if (r.value === null) return '';
        if (r.pii !== 1) return r.value;
        return piiReadable ? codec.openText(r.value) : '***';
      };
      async function* rows(): AsyncGenerator<string[][]> {
        yield [['row', 'column', 'property', 'problem', 'value']];
        let after: { row: number; position: number } | undefined;
        for (;;) {
          const page = await repo.rejectionPage(db, workspaceId, id, after, 500);
          if (page.length > 0) yield page.map((r) => [String(r.row_number), r.column_name ?? '', r.property ?? '', r.problem, shown(r)]);
          if (page.length < 500) return;
          after = { row: page[page.length - 1].row_number, position: page[page.length - 1].position };
        }
      }
      return rows();
    },

    /**
     * An export: its row count and its rows a page at a time, from one snapshot. The caller must
     * run `pages` to its end or call `close()`.
     */
    async export(workspaceId: number, request: ExportRequest): Promise<{ total: number; pages: AsyncGenerator<ExportPage>; close(): Promise<void> }> {
      if (request.includePii && !request.piiReadable) throw new AppError('FORBIDDEN', 'Exporting PII values (include_pii=true) needs the pii:read scope.', [], 'MISSING_SCOPE');
      const columns = exportColumns(await properties.dictionary(workspaceId), { properties: request.properties, includePii: request.includePii });
      const snapshot = await profiles.snapshot(workspaceId, request.filters, { piiReadable: request.piiReadable, pageSize: request.pageSize, propertyIds: columns.map((c) => c.def.id) });
      return { total: snapshot.total, pages: exportPages(snapshot, columns, request.format), close: snapshot.close };
    },
  };
}
