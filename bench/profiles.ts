// `npm run bench` (second part): the profile store on SQLite. Batch upserts against a raw-insert
// baseline measured in the same run, identity-resolved ingestion through a source, and filtered
// search over a large workspace (1,000,000 profiles by default) with the peak memory of the load.
// In-process through app.inject: no network, so the figures are the store's and the app's.
import { mkdtempSync, rmSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db/create-db.ts';
import { migrateToLatest } from '../src/db/migrate.ts';

const PROFILES = Number(process.env.BENCH_PROFILES ?? 1_000_000);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 10);
const SEARCHES = Number(process.env.BENCH_SEARCHES ?? 500);
/** Fewer runs of the searches that walk much of the workspace (sorts, broad ranges). */
const HEAVY = Number(process.env.BENCH_HEAVY_SEARCHES ?? 30);
const BATCH = 1000;
const PROPS = 10;
const log = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

const dir = mkdtempSync(join(tmpdir(), 'propdict-bench-profiles-'));
const file = join(dir, 'bench.db');
const { db } = createDb(`sqlite:${file}`);
await migrateToLatest(db);
const operator = 'bench-operator-token-000000';
const { app } = await buildApp({ db, runJobs: false, config: { ...loadConfig({}), adminToken: operator } });
await app.ready();

async function call<T>(method: 'GET' | 'POST', url: string, token: string, payload?: unknown, expect = 200): Promise<T> {
  const res = await app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
  if (res.statusCode !== expect) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
  return JSON.parse(res.body) as T;
}

const tenant = await call<{ id: number }>('POST', '/v1/tenants', operator, { name: 'Bench' }, 201);
const ws = await call<{ id: number }>('POST', `/v1/tenants/${tenant.id}/workspaces`, operator, { name: 'Profiles' }, 201);
const key = await call<{ token: string }>('POST', `/v1/tenants/${tenant.id}/api-keys`, operator, { name: 'bench', scopes: ['properties:read', 'properties:write', 'profiles:read', 'profiles:write'] }, 201);
const base = `/v1/workspaces/${ws.id}`;
await call('POST', `${base}/properties/batch`, key.token, {
  inputs: [
    { name: 'customer_id', data_type: 'string', identity: { role: 'primary' } },
    { name: 'home_city', data_type: 'string' },
    { name: 'score', data_type: 'integer' },
    ...Array.from({ length: PROPS - 3 }, (_, i) => ({ name: `attr_${i}`, data_type: i % 2 ? 'integer' : 'string' })),
  ],
}, 201);
const propertyIds = (await db.selectFrom('properties').select(['id', 'name']).where('workspace_id', '=', ws.id).where('system', '=', 0).orderBy('id').execute()).map((p) => p.id);

const CITIES = ['Beograd', 'Novi Sad', 'Niš', 'Kragujevac', 'Subotica', 'Zrenjanin', 'Pančevo', 'Čačak'];
const record = (n: number) => ({
  properties: {
    customer_id: `C${n}`,
    home_city: CITIES[n % CITIES.length],
    score: n % 1000,
    ...Object.fromEntries(Array.from({ length: PROPS - 3 }, (_, i) => [`attr_${i}`, i % 2 ? n * i : `value ${n}-${i}`])),
  },
});

// 1. Batch upsert of 1000 new records × 10 properties, against the same rows inserted raw.
let next = 0;
const batchMs: number[] = [];
for (let b = 0; b < BATCHES; b++) {
  const inputs = Array.from({ length: BATCH }, () => record(next++));
  const started = performance.now();
  await call('POST', `${base}/profiles/batch`, key.token, { inputs });
  batchMs.push(performance.now() - started);
}
// The baseline: one prepared statement per table, one transaction, the same database file.
const raw = new DatabaseSync(file);
raw.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
const insertProfile = raw.prepare('insert into profiles (workspace_id, id, created_at, updated_at) values (?, ?, ?, ?)');
const insertValue = raw.prepare('insert into profile_values (workspace_id, profile_id, property_id, position, v_text, v_num, v_json, source, written_at) values (?, ?, ?, 0, ?, ?, ?, null, ?)');
const baselineMs: number[] = [];
for (let b = 0; b < BATCHES; b++) {
  const started = performance.now();
  const at = new Date().toISOString();
  raw.exec('begin');
  for (let i = 0; i < BATCH; i++) {
    const id = `raw-${b}-${i}`;
    const values = Object.values(record(next++).properties);
    insertProfile.run(ws.id, id, at, at);
    values.forEach((v, p) => insertValue.run(ws.id, id, propertyIds[p], typeof v === 'number' ? null : String(v), typeof v === 'number' ? v : null, JSON.stringify(v), at));
  }
  raw.exec('commit');
  baselineMs.push(performance.now() - started);
}
raw.close();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const batchRate = BATCH / (median(batchMs) / 1000);
const baselineRate = BATCH / (median(baselineMs) / 1000);

// 2. Identity-resolved ingestion through a source: half the records match existing profiles.
const source = await call<{ id: number }>('POST', `${base}/sources`, key.token, {
  name: 'crm',
  mappings: [
    { property: 'customer_id', input_path: 'ids.customer', mandatory: true },
    { property: 'home_city', input_path: 'address.city' },
    { property: 'score', input_path: 'loyalty.score', merge_function: 'sum' },
  ],
}, 201);
const ingestMs: number[] = [];
for (let b = 0; b < BATCHES; b++) {
  const records = Array.from({ length: BATCH }, (_, i) => {
    const n = i % 2 ? Math.floor(Math.random() * BATCH * BATCHES) : next++;
    return { ids: { customer: `C${n}` }, address: { city: CITIES[n % CITIES.length] }, loyalty: { score: 1 } };
  });
  const started = performance.now();
  await call('POST', `${base}/sources/${source.id}/records`, key.token, { records });
  ingestMs.push(performance.now() - started);
}
const ingestRate = BATCH / (median(ingestMs) / 1000);

const memory = () => {
  const m = process.memoryUsage();
  return `rss ${fmt(m.rss / 2 ** 20)} MiB (V8 heap ${fmt(m.heapTotal / 2 ** 20)}, external ${fmt(m.external / 2 ** 20)})`;
};

// 3. Load up to PROFILES profiles through the batch API, watching the process's memory.
let peakRss = process.memoryUsage().rss;
const watch = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
const loaded = Number((await db.selectFrom('profiles').select((eb) => eb.fn.countAll<number>().as('n')).where('workspace_id', '=', ws.id).executeTakeFirstOrThrow()).n);
const loadStarted = performance.now();
for (let have = loaded, batches = 1; have < PROFILES; have += BATCH, batches++) {
  const inputs = Array.from({ length: Math.min(BATCH, PROFILES - have) }, () => record(next++));
  await call('POST', `${base}/profiles/batch`, key.token, { inputs });
  if (batches % 100 === 0) log(`  ${fmt(have + inputs.length)} profiles, ${fmt((have + inputs.length - loaded) / ((performance.now() - loadStarted) / 1000))} records/s, ${memory()}`);
}
clearInterval(watch);
peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
const loadSeconds = (performance.now() - loadStarted) / 1000;
const total = Number((await db.selectFrom('profiles').select((eb) => eb.fn.countAll<number>().as('n')).where('workspace_id', '=', ws.id).executeTakeFirstOrThrow()).n);

// 4. Searches: equality on the identity and on a shared value, ranges, sorts and both together.
async function timeSearch(make: () => string, count = SEARCHES): Promise<{ p50: number; p99: number; rows: number }> {
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const page = await call<{ data: unknown[] }>('GET', `${base}/profiles?${make()}`, key.token);
    times.push(performance.now() - started);
    rows += page.data.length;
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), rows: rows / count };
}
const pick = () => Math.floor(Math.random() * Math.min(next, PROFILES));
const searches = [
  { name: 'eq on an identity (customer_id)', target: 50, result: await timeSearch(() => `filter[customer_id][eq]=C${pick()}`) },
  { name: 'eq on a shared value (home_city), first 100', target: undefined, result: await timeSearch(() => `filter[home_city][eq]=${encodeURIComponent(CITIES[pick() % CITIES.length])}&limit=100`) },
  { name: 'range on an integer (score ≥ 0–994), first 100', target: undefined, result: await timeSearch(() => `filter[score][gte]=${pick() % 995}&limit=100`, HEAVY) },
  { name: 'sort by score, first 100', target: undefined, result: await timeSearch(() => `sort=${pick() % 2 ? '-' : ''}score&limit=100`, HEAVY) },
  { name: 'eq (home_city) + sort by score, first 20', target: undefined, result: await timeSearch(() => `filter[home_city][eq]=Beograd&sort=-score&limit=20`, HEAVY) },
  { name: 'range + sort on score, first 100', target: undefined, result: await timeSearch(() => `filter[score][gte]=${pick() % 995}&sort=score&limit=100`, HEAVY) },
  { name: 'range on score + sort by a string (attr_0), first 100', target: undefined, result: await timeSearch(() => `filter[score][lt]=${5 + (pick() % 995)}&sort=attr_0&limit=100`, HEAVY) },
];

await app.close();
await db.destroy();
if (process.env.BENCH_KEEP_DB) log(`database kept at ${file}`);
else rmSync(dir, { recursive: true, force: true });

const lines = [
  `propdict profile bench, ${new Date().toISOString().slice(0, 10)}; Node ${process.version}; SQLite; in-process (app.inject)`,
  '',
  '| measurement | figure | baseline | ratio | target | result |',
  '|---|---|---|---|---|---|',
  `| batch upsert, 1000 new records × ${PROPS} properties (median of ${BATCHES}) | ${fmt(batchRate)} records/s | ${fmt(baselineRate)} records/s raw insert | ${(batchRate / baselineRate).toFixed(2)} | ≥ 0.25 | ${batchRate / baselineRate >= 0.25 ? 'pass' : '**MISS**'} |`,
  `| ingestion through a source, 1000 records, half matched by identity (median of ${BATCHES}) | ${fmt(ingestRate)} records/s | – | – | – | – |`,
  `| load of ${fmt(total)} profiles through the batch API | ${fmt((total - loaded) / loadSeconds)} records/s, peak RSS ${fmt(peakRss / 2 ** 20)} MiB | – | – | < 512 MiB | ${peakRss < 512 * 2 ** 20 ? 'pass' : '**MISS**'} |`,
  '',
  `| search over ${fmt(total)} profiles (${SEARCHES} requests for the first two, ${HEAVY} for the others) | p50 ms | p99 ms | rows/answer | target | result |`,
  '|---|---|---|---|---|---|',
  ...searches.map(({ name, target, result }) =>
    `| ${name} | ${fmt(result.p50, 2)} | ${fmt(result.p99, 2)} | ${fmt(result.rows, 1)} | ${target ? `p99 < ${target} ms` : '–'} | ${target ? (result.p99 < target ? 'pass' : '**MISS**') : '–'} |`,
  ),
];
process.stdout.write(`\n${lines.join('\n')}\n`);
