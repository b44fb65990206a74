// `npm run bench` (import and export): a generated CSV of BENCH_IMPORT_ROWS rows (1,000,000 by
// default) × 10 columns (an identity, strings, integers, an enum, a date, a multi-valued column)
// imported through the API, against the same rows inserted with prepared statements in one
// transaction into the same database (the raw baseline of bench/profiles.ts); then the workspace
// exported as CSV, against a raw SELECT of the same values streamed to a null sink. The server
// runs in a child process of its own (bench/serve-app.ts); its RSS is read from /proc every
// 100 ms throughout. SQLite, or PostgreSQL with BENCH_DATABASE_URL (a new schema, dropped at the
// end). The figures go to docs/benchmarks.md, "Import and export".
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request, startServer, type Server } from './servers.ts';

const ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 1_000_000);
const log = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mib = (bytes: number) => fmt(bytes / 2 ** 20);

const PLANS = ['free', 'team', 'pro'];
const CITIES = ['Beograd', 'Novi Sad', 'Niš', 'Kragujevac', 'Subotica'];
const PROPERTIES = [
  { name: 'member_no', data_type: 'string', identity: { role: 'primary' } },
  { name: 'given', data_type: 'string' },
  { name: 'family', data_type: 'string' },
  { name: 'home_town', data_type: 'string' },
  { name: 'age', data_type: 'integer' },
  { name: 'points', data_type: 'integer' },
  { name: 'plan', data_type: 'enum', options: PLANS.map((value) => ({ value })) },
  { name: 'joined', data_type: 'date' },
  { name: 'interests', data_type: 'string', multi_valued: true },
  { name: 'note', data_type: 'string' },
];

/** Row n's values in property order (multi-valued as an array). */
function valuesOf(n: number): (string | number | string[])[] {
  const day = String(1 + (n % 28)).padStart(2, '0');
  return [`M${n}`, `Given${n % 5000}`, `Family${n % 7000}`, CITIES[n % CITIES.length], 18 + (n % 60), n % 100_000, PLANS[n % 3], `2024-03-${day}`, ['golf', `topic${n % 50}`], `note ${n}`];
}

/** The generated file, written with backpressure. */
async function writeCsv(file: string): Promise<void> {
  const out = createWriteStream(file);
  out.write(`${PROPERTIES.map((p) => p.name).join(',')}\n`);
  let chunk = '';
  for (let n = 0; n < ROWS; n++) {
    chunk += `${valuesOf(n).map((v) => (Array.isArray(v) ? v.join(';') : v)).join(',')}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

/** BENCH_MEMORY_TRACE_MS=<ms>: the server's memory printed that often during the import. */
const TRACE_MS = Number(process.env.BENCH_MEMORY_TRACE_MS ?? 0);

function percentiles(ms: number[]): { p50: number; p99: number; max: number } {
  const sorted = ms.toSorted((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? NaN };
}

/** The server's RSS split as the kernel counts it (anonymous, file-backed, shared memory), and V8's heap. */
async function memoryLine(server: Server): Promise<string> {
  const m = await server.memory();
  let status = '';
  try {
    status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  } catch {}
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s*(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return `rss ${mib(m.rss)} (anon ${mib(kib('RssAnon'))}, file ${mib(kib('RssFile'))}, shmem ${mib(kib('RssShmem'))}), heap ${mib(m.heapUsed)}/${mib(m.heapTotal)}, external ${mib(m.external)}, array buffers ${mib(m.arrayBuffers)} MiB`;
}

/** The server's RSS, sampled every 100 ms while `work` runs; the peak. With `trace`, its memory printed every TRACE_MS. */
async function sampled<T>(server: Server, work: () => Promise<T>, trace = false): Promise<{ result: T; peak: number; seconds: number }> {
  let peak = (await server.rss()).rss;
  let running = true;
  const started = performance.now();
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, (await server.rss()).rss);
      await sleep(100);
    }
  })();
  // Apart from the sampler: the heap's figures come over IPC, answered when the server's event loop is free.
  const tracer = (async () => {
    while (running && trace && TRACE_MS > 0) {
      await sleep(TRACE_MS);
      if (running) log(`   ${fmt((performance.now() - started) / 1000, 1)} s: ${await memoryLine(server)}`);
    }
  })();
  try {
    const result = await work();
    return { result, peak, seconds: (performance.now() - started) / 1000 };
  } finally {
    running = false;
    await Promise.all([sampler, tracer]);
  }
}

/** A connection beside the server's, to the same database: the baselines go through it. */
interface Direct {
  title: string;
  propertyIds(ws: number): Promise<number[]>;
  /** The raw baseline: profiles and their value rows, in one transaction; seconds taken. */
  insertRaw(ws: number, propertyIds: number[]): Promise<number>;
  /** Every value of the workspace read in order, each touched and dropped; seconds taken. */
  selectRaw(ws: number): Promise<number>;
  /** What a database keeps up by itself after a large load (PostgreSQL: ANALYZE, as autovacuum would), as bench/profiles.ts does. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** Row n's value rows: [profile id, property index, position, v_text, v_num, v_json]. */
function* valueRows(n: number): Generator<[string, number, number, string | null, number | null, string]> {
  for (const [p, v] of valuesOf(n).entries()) {
    for (const [position, item] of (Array.isArray(v) ? v : [v]).entries()) {
      yield [`raw-${n}`, p, position, typeof item === 'number' ? null : item, typeof item === 'number' ? item : null, JSON.stringify(item)];
    }
  }
}

const SELECT_VALUES = 'select profile_id, property_id, v_json from profile_values where workspace_id = $1 order by profile_id, property_id, position';

function sqliteDirect(file: string): Direct {
  const raw = new DatabaseSync(file);
  raw.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
  return {
    title: 'SQLite',
    propertyIds: async (ws) => (raw.prepare('select id from properties where workspace_id = ? and system = 0 order by id').all(ws) as { id: number }[]).map((p) => p.id),
    async insertRaw(ws, propertyIds) {
      const at = new Date().toISOString();
      const insertProfile = raw.prepare('insert into profiles (workspace_id, id, created_at, updated_at) values (?, ?, ?, ?)');
      const insertValue = raw.prepare('insert into profile_values (workspace_id, profile_id, property_id, position, v_text, v_num, v_json, source, written_at) values (?, ?, ?, ?, ?, ?, ?, null, ?)');
      const started = performance.now();
      raw.exec('begin immediate');
      for (let n = 0; n < ROWS; n++) {
        insertProfile.run(ws, `raw-${n}`, at, at);
        for (const [id, p, position, text, num, json] of valueRows(n)) insertValue.run(ws, id, propertyIds[p], position, text, num, json, at);
      }
      raw.exec('commit');
      return (performance.now() - started) / 1000;
    },
    async selectRaw(ws) {
      const started = performance.now();
      let bytes = 0;
      for (const row of raw.prepare(SELECT_VALUES.replace('$1', '?')).iterate(ws) as Iterable<{ profile_id: string; v_json: string }>) bytes += row.profile_id.length + row.v_json.length;
      if (bytes === 0) throw new Error('the raw select read nothing');
      return (performance.now() - started) / 1000;
    },
    settle: async () => {},
    close: async () => raw.close(),
  };
}

async function postgresDirect(url: string, version: string): Promise<Direct> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    title: `PostgreSQL ${version}`,
    propertyIds: async (ws) => (await client.query<{ id: number }>('select id from properties where workspace_id = $1 and system = 0 order by id', [ws])).rows.map((p) => p.id),
    async insertRaw(ws, propertyIds) {
      const at = new Date().toISOString();
      const started = performance.now();
      await client.query('begin');
      // A named statement per table, run per 1,000 profiles with the rows as arrays (a statement
      // per row would measure the network's round trips), as bench/profiles.ts's baseline does.
      for (let from = 0; from < ROWS; from += 1000) {
        const ns = Array.from({ length: Math.min(1000, ROWS - from) }, (_, i) => from + i);
        await client.query({ name: 'ie_profiles', text: 'insert into profiles (workspace_id, id, created_at, updated_at) select $1, id, $3, $3 from unnest($2::text[]) as id', values: [ws, ns.map((n) => `raw-${n}`), at] });
        const rows = ns.flatMap((n) => [...valueRows(n)]);
        await client.query({
          name: 'ie_values',
          text: `insert into profile_values (workspace_id, profile_id, property_id, position, v_text, v_num, v_json, source, written_at)
            select $1, r.p, r.prop, r.pos, r.t, r.n, r.j, null, $8 from unnest($2::text[], $3::integer[], $4::integer[], $5::text[], $6::double precision[], $7::text[]) as r(p, prop, pos, t, n, j)`,
          values: [ws, rows.map((r) => r[0]), rows.map((r) => propertyIds[r[1]]), rows.map((r) => r[2]), rows.map((r) => r[3]), rows.map((r) => r[4]), rows.map((r) => r[5]), at],
        });
      }
      await client.query('commit');
      return (performance.now() - started) / 1000;
    },
    async selectRaw(ws) {
      // Keyset pages of 10,000 values inside one repeatable-read transaction, as the export reads.
      const started = performance.now();
      let bytes = 0;
      await client.query('begin isolation level repeatable read read only');
      let after: [string, number, number] = ['', 0, -1];
      for (;;) {
        const { rows } = await client.query<{ profile_id: string; property_id: number; position: number; v_json: string }>(
          'select profile_id, property_id, position, v_json from profile_values where workspace_id = $1 and (profile_id, property_id, position) > ($2, $3, $4) order by profile_id, property_id, position limit 10000',
          [ws, ...after],
        );
        for (const row of rows) bytes += row.profile_id.length + row.v_json.length;
        if (rows.length < 10000) break;
        const last = rows[rows.length - 1];
        after = [last.profile_id, last.property_id, last.position];
      }
      await client.query('commit');
      if (bytes === 0) throw new Error('the raw select read nothing');
      return (performance.now() - started) / 1000;
    },
    settle: async () => {
      if (!process.env.BENCH_NO_ANALYZE) await client.query('analyze profiles, profile_values, profile_keys');
    },
    close: () => client.end(),
  };
}

/** What a later run needs to export from a kept database without importing again. */
interface Imported {
  rows: number;
  ws: number;
  token: string;
}

/** Steps 1 and 2: the import through the API and its raw baseline; the table's first lines. */
async function importAndInsert(server: Server, direct: Direct, file: string, operator: string): Promise<{ imported: Imported; lines: string[]; peak: number }> {
  const call = <T>(method: 'GET' | 'POST', path: string, token: string, payload?: unknown, expect = 200) => request<T>(server.url, token, method, path, payload, expect);
  const tenant = await call<{ id: number }>('POST', '/v1/tenants', operator, { name: 'bench' }, 201);
  const workspace = async (name: string) => (await call<{ id: number }>('POST', `/v1/tenants/${tenant.id}/workspaces`, operator, { name }, 201)).id;
  const [ws, rawWs] = [await workspace('import'), await workspace('raw')];
  const key = await call<{ token: string }>('POST', `/v1/tenants/${tenant.id}/api-keys`, operator, { name: 'bench', scopes: ['properties:read', 'properties:write', 'profiles:read', 'profiles:write'] }, 201);
  for (const w of [ws, rawWs]) await call('POST', `/v1/workspaces/${w}/properties/batch`, key.token, { inputs: PROPERTIES }, 201);
  const size = statSync(file).size;
  log(`1. import of ${fmt(ROWS)} rows (${mib(size)} MiB of CSV) through the API`);
  const started = performance.now();
  const cpuBefore = await server.cpu();
  // How long the import's own GET waited while its job ran: what any request waits behind a step.
  const waits: number[] = [];
  const imported = await sampled(server, async () => {
    const res = await fetch(`${server.url}/v1/workspaces/${ws}/imports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.token}`, 'content-type': 'text/csv' },
      body: Readable.toWeb(createReadStream(file)) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    const created = (await res.json()) as { id: string };
    if (res.status !== 202) throw new Error(`upload: ${res.status} ${JSON.stringify(created)}`);
    const uploaded = performance.now();
    log(`   uploaded in ${fmt((uploaded - started) / 1000, 1)} s, server rss ${mib((await server.rss()).rss)} MiB`);
    let traced = 0;
    let settled = performance.now();
    for (;;) {
      // What autovacuum does once a minute on a default PostgreSQL server (this machine's has it
      // off): without statistics of the growing tables, the write path's key look-up scanned every
      // key of the property (docs/benchmarks.md, "Import and export").
      if (performance.now() - settled >= 60_000) {
        await direct.settle();
        settled = performance.now();
      }
      const asked = performance.now();
      const view = await call<{ status: string; counts: Record<string, number>; progress: { rows_done: number } }>('GET', `/v1/workspaces/${ws}/imports/${created.id}`, key.token);
      if (view.status === 'running') waits.push(performance.now() - asked);
      if (TRACE_MS > 0 && performance.now() - traced >= TRACE_MS) {
        traced = performance.now();
        log(`   ${fmt((traced - started) / 1000, 1)} s: ${fmt(view.progress.rows_done)} rows, ${await memoryLine(server)}`);
      }
      if (view.status === 'done') return { view, uploaded };
      if (view.status !== 'running' && view.status !== 'queued') throw new Error(`import ${view.status}`);
      await sleep(Number(process.env.BENCH_POLL_MS ?? 250));
    }
  });
  const { view } = imported.result;
  if (view.counts.created !== ROWS) throw new Error(`import counts: ${JSON.stringify(view.counts)}`);
  // CPU time (user + system) beside the wall clock: on a shared machine the steadier measure.
  const importCpu = ((await server.cpu()) - cpuBefore) / 1e6;
  const m = await server.memory();
  if (process.env.BENCH_SERVER_FLAGS?.includes('--expose-gc')) {
    const g = await server.gc();
    log(`   after a full collection: rss ${mib(g.rss)}, heap ${mib(g.heapUsed)}/${mib(g.heapTotal)} MiB`);
  }
  log(`   ${fmt(imported.seconds, 1)} s, ${fmt(ROWS / imported.seconds)} rows/s, server peak RSS ${mib(imported.peak)} MiB (now: rss ${mib(m.rss)}, heap ${mib(m.heapUsed)}/${mib(m.heapTotal)}, external ${mib(m.external)} MiB)`);
  const latency = percentiles(waits);
  log(`   GET /imports/{id} while the job ran: ${waits.length} requests, p50 ${fmt(latency.p50, 1)} ms, p99 ${fmt(latency.p99, 1)} ms, max ${fmt(latency.max, 1)} ms`);

  log('2. the raw baseline: the same rows with prepared statements in one transaction');
  const propertyIds = await direct.propertyIds(rawWs);
  const rawCpuBefore = process.cpuUsage();
  const rawSeconds = await direct.insertRaw(rawWs, propertyIds);
  const rawCpu = process.cpuUsage(rawCpuBefore);
  const rawCpuSeconds = (rawCpu.user + rawCpu.system) / 1e6;
  log(`   ${fmt(rawSeconds, 1)} s, ${fmt(ROWS / rawSeconds)} rows/s`);
  // On SQLite the baseline's CPU is this process's; on PostgreSQL most of either side's is the database's.
  log(`   CPU: the server ${fmt(importCpu, 1)} s during the import (${fmt((importCpu * 1e6) / ROWS, 1)} µs a row), this process ${fmt(rawCpuSeconds, 1)} s during the raw insert; ratio by CPU ${fmt(rawCpuSeconds / importCpu, 3)}`);

  const importRatio = rawSeconds / imported.seconds;
  return {
    imported: { rows: ROWS, ws, token: key.token },
    peak: imported.peak,
    lines: [
      `| import of ${fmt(ROWS)} rows × 10 columns (upload to last row written) | ${fmt(ROWS / imported.seconds)} rows/s (${fmt(imported.seconds, 1)} s) | ${fmt(ROWS / rawSeconds)} rows/s (${fmt(rawSeconds, 1)} s) | ${fmt(importRatio, 3)} | ≥ 0.5 | ${verdict(importRatio, 0.5)} |`,
      `| CPU of the import (the server's) and of the raw insert (its process's) | ${fmt(importCpu, 1)} s | ${fmt(rawCpuSeconds, 1)} s | ${fmt(rawCpuSeconds / importCpu, 3)} | – | |`,
      `| a request during the import (GET /imports/{id}, ${waits.length} of them), p50 / p99 / max | ${fmt(latency.p50, 1)} / ${fmt(latency.p99, 1)} / ${fmt(latency.max, 1)} ms | – | – | – | |`,
    ],
  };
}

const verdict = (r: number, target: number) => (r >= target ? 'pass' : '**MISS**');

/** Steps 3 and 4: the export and its raw baseline; the table's line, and the export's peak RSS. */
async function exportAndSelect(server: Server, direct: Direct, { ws, token }: Imported): Promise<{ lines: string[]; peak: number }> {
  await direct.settle();
  log('3. export of the imported workspace as CSV, to a null sink');
  // Another request every 250 ms while the export runs, timed: what a request waits behind it.
  const waits: number[] = [];
  let exporting = true;
  const prober = (async () => {
    while (exporting) {
      await sleep(Number(process.env.BENCH_POLL_MS ?? 250));
      const asked = performance.now();
      await request(server.url, token, 'GET', `/v1/workspaces/${ws}/properties?limit=1`, undefined, 200);
      waits.push(performance.now() - asked);
    }
  })();
  const exported = await sampled(server, async () => {
    const url = `${server.url}/v1/workspaces/${ws}/profiles/export?format=csv&properties=${PROPERTIES.map((p) => p.name).join(',')}`;
    // After a baseline longer than the server's keep-alive timeout (72 s), the pooled socket may
    // be closed as the request goes out: the GET is sent again once on a new one.
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } }).catch(() => fetch(url, { headers: { authorization: `Bearer ${token}` } }));
    if (res.status !== 200 || !res.body) throw new Error(`export: ${res.status}`);
    let bytes = 0;
    for await (const chunk of res.body) bytes += (chunk as Uint8Array).length;
    return { bytes, total: Number(res.headers.get('x-total-count')) };
  }, true).finally(() => (exporting = false));
  await prober;
  if (exported.result.total !== ROWS) throw new Error(`export total ${exported.result.total}`);
  log(`   ${fmt(exported.seconds, 1)} s, ${fmt(ROWS / exported.seconds)} rows/s (${mib(exported.result.bytes)} MiB), server peak RSS ${mib(exported.peak)} MiB`);
  const latency = percentiles(waits);
  log(`   GET /properties while the export ran: ${waits.length} requests, p50 ${fmt(latency.p50, 1)} ms, p99 ${fmt(latency.p99, 1)} ms, max ${fmt(latency.max, 1)} ms`);

  log('4. the raw baseline: a SELECT of the same values, streamed to a null sink');
  const selectSeconds = await direct.selectRaw(ws);
  log(`   ${fmt(selectSeconds, 1)} s, ${fmt(ROWS / selectSeconds)} rows/s`);

  const exportRatio = selectSeconds / exported.seconds;
  return {
    peak: exported.peak,
    lines: [
      `| export of the same profiles as CSV | ${fmt(ROWS / exported.seconds)} rows/s (${fmt(exported.seconds, 1)} s) | ${fmt(ROWS / selectSeconds)} rows/s (${fmt(selectSeconds, 1)} s) | ${fmt(exportRatio, 3)} | ≥ 0.5 | ${verdict(exportRatio, 0.5)} |`,
      `| a request during the export (GET /properties, ${waits.length} of them), p50 / p99 / max | ${fmt(latency.p50, 1)} / ${fmt(latency.p99, 1)} / ${fmt(latency.max, 1)} ms | – | – | – | |`,
    ],
  };
}

/** postgres://...: the bench runs on PostgreSQL, in a new schema of that database. */
const DATABASE_URL = process.env.BENCH_DATABASE_URL || undefined;
/**
 * BENCH_IMPORT_KEEP=<folder> (SQLite): the database is kept in that folder, with what a later run
 * needs to find the imported workspace; a later run with the same folder and row count skips the
 * import and its baseline and measures the export alone.
 */
const KEEP = process.env.BENCH_IMPORT_KEEP || undefined;
if (KEEP !== undefined && DATABASE_URL !== undefined) throw new Error('BENCH_IMPORT_KEEP keeps a SQLite file: leave BENCH_DATABASE_URL unset');
const dir = mkdtempSync(join(tmpdir(), 'propdict-bench-import-'));
const file = join(dir, 'rows.csv');
const dbFile = join(KEEP ?? dir, 'bench.db');
const keptFile = join(KEEP ?? dir, 'bench.json');
const kept = KEEP !== undefined && existsSync(keptFile) ? (JSON.parse(readFileSync(keptFile, 'utf8')) as Imported) : undefined;
if (kept && kept.rows !== ROWS) throw new Error(`${keptFile} holds ${kept.rows} rows, not BENCH_IMPORT_ROWS=${ROWS}`);
if (KEEP !== undefined) mkdirSync(KEEP, { recursive: true });
const operator = `bench-${randomBytes(16).toString('hex')}`;
let server: Server | undefined;
let direct: Direct | undefined;
const lines = ['| measure | propdict | baseline | ratio | target | |', '|---|---|---|---|---|---|'];
let dropSchema: (() => Promise<void>) | undefined;
let databaseUrl = `sqlite:${dbFile}`;
let version = '';
if (DATABASE_URL !== undefined) {
  const schema = `bench_import_${Date.now()}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  version = (await admin.query<{ server_version: string }>('show server_version')).rows[0].server_version.split(' ')[0];
  await admin.end();
  const url = new URL(DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  databaseUrl = url.toString();
  dropSchema = async () => {
    const c = new pg.Client({ connectionString: DATABASE_URL });
    await c.connect();
    await c.query(`drop schema ${schema} cascade`);
    await c.end();
  };
}
try {
  if (!kept) await writeCsv(file);
  // BENCH_CPU_PROF=<folder>: the server writes a CPU profile there when it stops.
  server = await startServer(
    './serve-app.ts',
    { ...process.env, DATABASE_URL: databaseUrl, PROPDICT_ADMIN_TOKEN: operator, PROPDICT_IMPORT_LIMIT: String(2 ** 40), PROPDICT_REQUEST_TIMEOUT_MS: '0' },
    process.env.BENCH_CPU_PROF || undefined,
    { execArgv: process.env.BENCH_SERVER_FLAGS ? process.env.BENCH_SERVER_FLAGS.split(' ') : [] },
  );
  direct = DATABASE_URL === undefined ? sqliteDirect(dbFile) : await postgresDirect(databaseUrl, version);
  log(`propdict import/export bench on ${direct.title}: server pid ${server.pid}, rss ${mib((await server.rss()).rss)} MiB${kept ? `, the import kept in ${KEEP}` : ''}`);
  let imported = kept;
  let peak = 0;
  let importPeak: number | undefined;
  let importLines: string[] = [];
  if (!imported) {
    const done = await importAndInsert(server, direct, file, operator);
    imported = done.imported;
    importPeak = peak = done.peak;
    [lines[2], ...importLines] = done.lines;
    if (KEEP !== undefined) writeFileSync(keptFile, JSON.stringify(imported));
  }
  const exported = await exportAndSelect(server, direct, imported);
  peak = Math.max(peak, exported.peak);
  const under = peak < 512 * 2 ** 20 ? 'pass' : '**MISS**';
  lines.push(
    exported.lines[0],
    importPeak === undefined
      ? `| server peak RSS during the export (the import kept from an earlier run) | ${mib(peak)} MiB | – | – | < 512 MiB | ${under} |`
      : `| server peak RSS during both | ${mib(peak)} MiB (import ${mib(importPeak)}, export ${mib(exported.peak)}) | – | – | < 512 MiB | ${under} |`,
    ...importLines,
    exported.lines[1],
  );
} finally {
  await direct?.close();
  await server?.stop();
  await dropSchema?.();
  rmSync(dir, { recursive: true, force: true });
}
const title = `propdict import/export bench, ${new Date().toISOString().slice(0, 10)}; Node ${process.version}; ${direct.title}; ${fmt(ROWS)} rows; the app in its own process, over HTTP`;
process.stdout.write(`\n${[title, '', ...lines].join('\n')}\n`);
if (KEEP !== undefined) log(`the database is kept in ${KEEP}`);
