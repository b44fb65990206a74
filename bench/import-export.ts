// `npm run bench` (import and export): a generated CSV of BENCH_IMPORT_ROWS rows (1,000,000 by
// default) × 10 columns (an identity, strings, integers, an enum, a date, a multi-valued column)
// imported through the API, against the same rows inserted with prepared statements in one
// transaction into the same database (the raw baseline of bench/profiles.ts); then the workspace
// exported as CSV, against a raw SELECT of the same values streamed to a null sink. The server
// runs in a child process of its own (bench/serve-app.ts); its RSS is read from /proc every
// 100 ms throughout. SQLite only: the figures go to docs/benchmarks.md, "Import and export".
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { DatabaseSync } from 'node:sqlite';
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

/** The server's RSS, sampled every 100 ms while `work` runs; the peak. */
async function sampled<T>(server: Server, work: () => Promise<T>): Promise<{ result: T; peak: number; seconds: number }> {
  let peak = (await server.rss()).rss;
  let running = true;
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, (await server.rss()).rss);
      await sleep(100);
    }
  })();
  const started = performance.now();
  try {
    const result = await work();
    return { result, peak, seconds: (performance.now() - started) / 1000 };
  } finally {
    running = false;
    await sampler;
  }
}

/** The raw baseline: profiles and their value rows, prepared statements, one transaction. */
function rawInsert(raw: DatabaseSync, ws: number, propertyIds: number[]): number {
  const at = new Date().toISOString();
  const insertProfile = raw.prepare('insert into profiles (workspace_id, id, created_at, updated_at) values (?, ?, ?, ?)');
  const insertValue = raw.prepare('insert into profile_values (workspace_id, profile_id, property_id, position, v_text, v_num, v_json, source, written_at) values (?, ?, ?, ?, ?, ?, ?, null, ?)');
  const started = performance.now();
  raw.exec('begin immediate');
  for (let n = 0; n < ROWS; n++) {
    const id = `raw-${n}`;
    insertProfile.run(ws, id, at, at);
    valuesOf(n).forEach((v, p) => {
      for (const [position, item] of (Array.isArray(v) ? v : [v]).entries()) {
        insertValue.run(ws, id, propertyIds[p], position, typeof item === 'number' ? null : item, typeof item === 'number' ? item : null, JSON.stringify(item), at);
      }
    });
  }
  raw.exec('commit');
  return (performance.now() - started) / 1000;
}

/** The raw export baseline: every value of the workspace read in order and formatted, to nowhere. */
function rawSelect(raw: DatabaseSync, ws: number): number {
  const started = performance.now();
  let bytes = 0;
  for (const row of raw.prepare('select profile_id, property_id, v_json from profile_values where workspace_id = ? order by profile_id, property_id, position').iterate(ws) as Iterable<{ profile_id: string; v_json: string }>) {
    bytes += row.profile_id.length + row.v_json.length;
  }
  if (bytes === 0) throw new Error('the raw select read nothing');
  return (performance.now() - started) / 1000;
}

async function bench(server: Server, raw: DatabaseSync, file: string, operator: string): Promise<string[]> {
  const call = <T>(method: 'GET' | 'POST', path: string, token: string, payload?: unknown, expect = 200) => request<T>(server.url, token, method, path, payload, expect);
  const tenant = await call<{ id: number }>('POST', '/v1/tenants', operator, { name: 'bench' }, 201);
  const workspace = async (name: string) => (await call<{ id: number }>('POST', `/v1/tenants/${tenant.id}/workspaces`, operator, { name }, 201)).id;
  const [ws, rawWs] = [await workspace('import'), await workspace('raw')];
  const key = await call<{ token: string }>('POST', `/v1/tenants/${tenant.id}/api-keys`, operator, { name: 'bench', scopes: ['properties:read', 'properties:write', 'profiles:read', 'profiles:write'] }, 201);
  for (const w of [ws, rawWs]) await call('POST', `/v1/workspaces/${w}/properties/batch`, key.token, { inputs: PROPERTIES }, 201);
  const size = statSync(file).size;

  log(`1. import of ${fmt(ROWS)} rows (${mib(size)} MiB of CSV) through the API`);
  const started = performance.now();
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
    for (;;) {
      const view = await call<{ status: string; counts: Record<string, number>; progress: { rows_done: number } }>('GET', `/v1/workspaces/${ws}/imports/${created.id}`, key.token);
      if (view.status === 'done') return { view, uploaded };
      if (view.status !== 'running' && view.status !== 'queued') throw new Error(`import ${view.status}`);
      await sleep(Number(process.env.BENCH_POLL_MS ?? 250));
    }
  });
  const { view } = imported.result;
  if (view.counts.created !== ROWS) throw new Error(`import counts: ${JSON.stringify(view.counts)}`);
  const m = await server.memory();
  if (process.env.BENCH_SERVER_FLAGS?.includes('--expose-gc')) {
    const g = await server.gc();
    log(`   after a full collection: rss ${mib(g.rss)}, heap ${mib(g.heapUsed)}/${mib(g.heapTotal)} MiB`);
  }
  log(`   ${fmt(imported.seconds, 1)} s, ${fmt(ROWS / imported.seconds)} rows/s, server peak RSS ${mib(imported.peak)} MiB (now: rss ${mib(m.rss)}, heap ${mib(m.heapUsed)}/${mib(m.heapTotal)}, external ${mib(m.external)} MiB)`);

  log('2. the raw baseline: the same rows with prepared statements in one transaction');
  const ids = (raw.prepare('select id from properties where workspace_id = ? and system = 0 order by id').all(rawWs) as { id: number }[]).map((p) => p.id);
  const rawSeconds = rawInsert(raw, rawWs, ids);
  log(`   ${fmt(rawSeconds, 1)} s, ${fmt(ROWS / rawSeconds)} rows/s`);

  log('3. export of the imported workspace as CSV, to a null sink');
  const exported = await sampled(server, async () => {
    const res = await fetch(`${server.url}/v1/workspaces/${ws}/profiles/export?format=csv&properties=${PROPERTIES.map((p) => p.name).join(',')}`, { headers: { authorization: `Bearer ${key.token}` } });
    if (res.status !== 200 || !res.body) throw new Error(`export: ${res.status}`);
    let bytes = 0;
    for await (const chunk of res.body) bytes += (chunk as Uint8Array).length;
    return { bytes, total: Number(res.headers.get('x-total-count')) };
  });
  if (exported.result.total !== ROWS) throw new Error(`export total ${exported.result.total}`);
  log(`   ${fmt(exported.seconds, 1)} s, ${fmt(ROWS / exported.seconds)} rows/s (${mib(exported.result.bytes)} MiB), server peak RSS ${mib(exported.peak)} MiB`);

  log('4. the raw baseline: a SELECT of the same values, streamed to a null sink');
  const selectSeconds = rawSelect(raw, ws);
  log(`   ${fmt(selectSeconds, 1)} s, ${fmt(ROWS / selectSeconds)} rows/s`);

  const ratio = (a: number, b: number) => b / a;
  const verdict = (r: number, target: number) => (r >= target ? 'pass' : '**MISS**');
  const importRatio = ratio(imported.seconds, rawSeconds);
  const exportRatio = ratio(exported.seconds, selectSeconds);
  const peak = Math.max(imported.peak, exported.peak);
  return [
    '| measure | propdict | baseline | ratio | target | |',
    '|---|---|---|---|---|---|',
    `| import of ${fmt(ROWS)} rows × 10 columns (upload to last row written) | ${fmt(ROWS / imported.seconds)} rows/s (${fmt(imported.seconds, 1)} s) | ${fmt(ROWS / rawSeconds)} rows/s (${fmt(rawSeconds, 1)} s) | ${fmt(importRatio, 3)} | ≥ 0.5 | ${verdict(importRatio, 0.5)} |`,
    `| export of the same profiles as CSV | ${fmt(ROWS / exported.seconds)} rows/s (${fmt(exported.seconds, 1)} s) | ${fmt(ROWS / selectSeconds)} rows/s (${fmt(selectSeconds, 1)} s) | ${fmt(exportRatio, 3)} | ≥ 0.5 | ${verdict(exportRatio, 0.5)} |`,
    `| server peak RSS during both | ${mib(peak)} MiB (import ${mib(imported.peak)}, export ${mib(exported.peak)}) | – | – | < 512 MiB | ${peak < 512 * 2 ** 20 ? 'pass' : '**MISS**'} |`,
  ];
}

const dir = mkdtempSync(join(tmpdir(), 'propdict-bench-import-'));
const db = join(dir, 'bench.db');
const file = join(dir, 'rows.csv');
const operator = `bench-${randomBytes(16).toString('hex')}`;
let server: Server | undefined;
let raw: DatabaseSync | undefined;
let lines: string[];
try {
  await writeCsv(file);
  // BENCH_CPU_PROF=<folder>: the server writes a CPU profile there when it stops.
  server = await startServer(
    './serve-app.ts',
    { ...process.env, DATABASE_URL: `sqlite:${db}`, PROPDICT_ADMIN_TOKEN: operator, PROPDICT_IMPORT_LIMIT: String(2 ** 40), PROPDICT_REQUEST_TIMEOUT_MS: '0' },
    process.env.BENCH_CPU_PROF || undefined,
    { execArgv: process.env.BENCH_SERVER_FLAGS ? process.env.BENCH_SERVER_FLAGS.split(' ') : [] },
  );
  log(`propdict import/export bench on SQLite (${db}): server pid ${server.pid}, rss ${mib((await server.rss()).rss)} MiB`);
  raw = new DatabaseSync(db);
  raw.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
  lines = await bench(server, raw, file, operator);
} finally {
  raw?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}

const title = `propdict import/export bench, ${new Date().toISOString().slice(0, 10)}; Node ${process.version}; SQLite; ${fmt(ROWS)} rows; the app in its own process, over HTTP`;
process.stdout.write(`\n${[title, '', ...lines].join('\n')}\n`);
