// `propdict import` and `propdict export`: clients of a running server's import and export API,
// with progress bars on stderr (drawn in place on a terminal, printed as lines when stderr is
// not one). Any failure ends in one line naming the reason and a non-zero exit.
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Presets, SingleBar } from 'cli-progress';
import { parse } from 'csv-parse';

export interface ServerTarget {
  url: string;
  token: string;
  workspace: number;
}

/** A failure the command reports in one line. */
export class CliFailure extends Error {}

const bar = (label: string, unit: string) =>
  new SingleBar(
    { stream: process.stderr, noTTYOutput: true, notTTYSchedule: 250, format: `${label} |{bar}| {percentage}% {value}/{total} ${unit}`, hideCursor: false },
    Presets.shades_classic,
  );

/** The server's error envelope in one line, else the status. */
async function failureOf(res: Response, doing: string): Promise<CliFailure> {
  const text = await res.text();
  try {
    const { error } = JSON.parse(text) as { error: { message: string; details: { field: string; problem: string }[] } };
    const details = error.details.map((d) => `${d.field} ${d.problem}`).join('; ');
    return new CliFailure(`${doing} failed (${res.status}): ${error.message}${details ? ` (${details})` : ''}`);
  } catch {
    return new CliFailure(`${doing} failed: HTTP ${res.status}`);
  }
}

async function request(target: ServerTarget, path: string, init: RequestInit & { duplex?: 'half' } = {}): Promise<Response> {
  try {
    return await fetch(`${target.url.replace(/\/$/, '')}/v1/workspaces/${target.workspace}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${target.token}`, ...init.headers },
    });
  } catch (error) {
    throw new CliFailure(`cannot reach ${target.url}: ${(error as { cause?: Error }).cause?.message ?? (error as Error).message}`);
  }
}

export interface ImportArgs {
  file: string;
  format?: 'csv' | 'ndjson';
  mode?: string;
  source?: string;
  dryRun: boolean;
  delimiter?: string;
  /** Where the rejected rows go; `<file>.errors.csv` unless given. */
  errors?: string;
}

interface ImportView {
  id: string;
  status: string;
  progress: { rows_done: number; rows_total: number | null };
  counts: Record<'created' | 'updated' | 'merged' | 'rejected' | 'unchanged', number>;
  reason: string | null;
}

/** The file as the body of a request, counted into the upload bar as it is read. */
function uploadBody(file: string): Readable {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new CliFailure(`cannot read ${file}`);
  }
  const progress = bar('Uploading', 'bytes');
  progress.start(size, 0);
  let sent = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length;
      progress.update(sent);
      done(null, chunk);
    },
    flush(done) {
      progress.stop();
      done();
    },
  });
  return createReadStream(file).on('error', (e) => counter.destroy(e)).pipe(counter);
}

async function uploadFile(target: ServerTarget, args: ImportArgs): Promise<ImportView> {
  const format = args.format ?? (/\.(nd)?jsonl?$|\.ndjson$/i.test(args.file) ? 'ndjson' : 'csv');
  const query = new URLSearchParams({ format, ...(args.mode ? { mode: args.mode } : {}), ...(args.source ? { source: args.source } : {}), ...(args.delimiter ? { delimiter: args.delimiter } : {}), ...(args.dryRun ? { dry_run: 'true' } : {}) });
  const res = await request(target, `/imports?${query}`, {
    method: 'POST',
    headers: { 'content-type': format === 'csv' ? 'text/csv' : 'application/x-ndjson' },
    body: Readable.toWeb(uploadBody(args.file)) as ReadableStream,
    duplex: 'half',
  });
  if (res.status !== 202) throw await failureOf(res, 'the upload');
  return (await res.json()) as ImportView;
}

/** Polls the import until it ends, drawing its rows. */
async function followRows(target: ServerTarget, created: ImportView): Promise<ImportView> {
  const progress = bar('Rows     ', 'rows');
  progress.start(created.progress.rows_total ?? 0, 0);
  let view = created;
  try {
    while (!['done', 'cancelled'].includes(view.status)) {
      await sleep(200);
      const res = await request(target, `/imports/${created.id}`);
      if (res.status !== 200) throw await failureOf(res, 'reading the import');
      view = (await res.json()) as ImportView;
      progress.update(view.progress.rows_done);
    }
  } finally {
    progress.stop();
  }
  return view;
}

async function saveErrors(target: ServerTarget, id: string, path: string): Promise<void> {
  const res = await request(target, `/imports/${id}/errors`);
  if (res.status !== 200 || !res.body) throw await failureOf(res, 'reading the error report');
  await pipeline(Readable.fromWeb(res.body as never), createWriteStream(path));
}

/** Uploads, follows the job, and prints the summary; the import's end state. */
export async function runImport(target: ServerTarget, args: ImportArgs, out: (line: string) => void): Promise<ImportView> {
  const created = await uploadFile(target, args);
  const view = await followRows(target, created);
  const c = view.counts;
  out(`Import ${view.id} ${view.status}${args.dryRun ? ' (dry run: nothing written)' : ''}: ${c.created} created, ${c.updated} updated, ${c.merged} merged, ${c.unchanged} unchanged, ${c.rejected} rejected.`);
  if (c.rejected > 0) {
    const path = args.errors ?? `${args.file}.errors.csv`;
    await saveErrors(target, view.id, path);
    out(`Rejected rows: ${path} (also at GET /v1/workspaces/${target.workspace}/imports/${view.id}/errors)`);
  }
  if (view.status !== 'done') throw new CliFailure(`import ${view.id} ${view.status}${view.reason ? `: ${view.reason}` : ''}`);
  return view;
}

export interface ExportArgs {
  format: 'csv' | 'ndjson';
  /** `property[op]=value`, as search's filter[property][op]=value. */
  filters: string[];
  properties?: string;
  includePii: boolean;
  /** A file; stdout when absent. */
  output?: string;
}

function exportQuery(args: ExportArgs): URLSearchParams {
  const query = new URLSearchParams({ format: args.format });
  if (args.properties) query.set('properties', args.properties);
  if (args.includePii) query.set('include_pii', 'true');
  for (const f of args.filters) {
    const match = /^([^[\]=]+)\[([a-z]+)\]=(.*)$/s.exec(f);
    if (!match) throw new CliFailure(`--filter "${f}" must read property[op]=value, e.g. visits[gte]=3`);
    query.append(`filter[${match[1]}][${match[2]}]`, match[3]);
  }
  return query;
}

/** A pass-through that counts the rows going by (CSV records after the header, or NDJSON lines). */
function rowCounter(format: ExportArgs['format'], onRow: () => void): Transform {
  if (format === 'ndjson') {
    return new Transform({
      transform(chunk: Buffer, _enc, done) {
        for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) onRow();
        done(null, chunk);
      },
    });
  }
  const records = parse({ relax_column_count: true, from_line: 2 });
  records.on('data', onRow);
  records.on('error', () => {});
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      records.write(chunk);
      done(null, chunk);
    },
    flush(done) {
      records.end(() => done());
    },
  });
}

/** Streams an export to a file or stdout, drawing the rows on stderr; how many came. */
export async function runExport(target: ServerTarget, args: ExportArgs, out: (line: string) => void): Promise<number> {
  const res = await request(target, `/profiles/export?${exportQuery(args)}`);
  if (res.status !== 200 || !res.body) throw await failureOf(res, 'the export');
  const total = Number(res.headers.get('x-total-count') ?? 0);
  const progress = bar('Rows', 'rows');
  progress.start(total, 0);
  let rows = 0;
  const sink: Writable = args.output ? createWriteStream(args.output) : process.stdout;
  try {
    await pipeline(Readable.fromWeb(res.body as never), rowCounter(args.format, () => progress.update(++rows)), sink, { end: args.output !== undefined });
  } finally {
    progress.stop();
  }
  out(`Exported ${rows} profiles${args.output ? ` to ${args.output}` : ''}.`);
  if (rows !== total) throw new CliFailure(`the export ended after ${rows} of ${total} rows`);
  return rows;
}
