// `npm run bench` (second part): the profile store. Batch upserts against a raw-insert baseline
// measured in the same run, identity-resolved ingestion through a source, a load of a large
// workspace (1,000,000 profiles by default) with the peak memory of the server, then filtered
// search over it. What the figures mean: docs/benchmarks.md, "Profile store".
//
// The app runs as a real server in a child process of its own (bench/serve-app.ts, started by
// bench/servers.ts; its background job runner on), and this process drives it over HTTP. So the
// peak RSS is the server's alone, not the driver's payloads and garbage: its RSS is read from
// /proc/<pid>/status every 100 ms during the load. The database is a new SQLite file in the temp
// folder, or with BENCH_DATABASE_URL=postgres://... a new schema (bench_<timestamp>) in that
// PostgreSQL database; the server migrates it. Both are deleted at the end unless BENCH_KEEP_DB
// is set. The baseline, the property ids it needs and the profile counts go through a direct
// connection (node:sqlite's DatabaseSync on the same file, or a pg client on the same schema).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { postgresSchema, request, startServer, type Server } from './servers.ts';

const PROFILES = Number(process.env.BENCH_PROFILES ?? 1_000_000);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 10);
const SEARCHES = Number(process.env.BENCH_SEARCHES ?? 500);
/** Fewer runs of the searches that walk much of the workspace (sorts, broad ranges). */
const HEAVY = Number(process.env.BENCH_HEAVY_SEARCHES ?? 30);
/** postgres://...: the whole bench runs on PostgreSQL, in a new schema of that database. */
const DATABASE_URL = process.env.BENCH_DATABASE_URL || undefined;
/** Set: the SQLite file or the PostgreSQL schema is kept (and named) at the end. */
const KEEP_DB = Boolean(process.env.BENCH_KEEP_DB);
const BATCH = 1000;
const PROPS = 10;
/** Segment SDKs send up to 100 calls a batch (analytics-node flushes at 15, RudderStack at 20). */
const SEGMENT_BATCH = 100;
const SEGMENT_BATCHES = Number(process.env.BENCH_SEGMENT_BATCHES ?? BATCHES * 10);
const log = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mib = (bytes: number) => fmt(bytes / 2 ** 20);
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/**
 * The CPU time a process has used, user and system, from /proc/<pid>/stat (clock ticks of 10 ms);
 * undefined where there is no /proc. Steadier than a rate when other work shares the machine.
 */
function serverCpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

if (DATABASE_URL !== undefined && !/^postgres(ql)?:\/\/.+/.test(DATABASE_URL)) throw new Error(`BENCH_DATABASE_URL must be postgres://... (got "${DATABASE_URL}")`);

// ---------------------------------------------------------------------------------------------
// The database: where it is, a direct connection to it, and its removal

/** One profile of the raw baseline: its id and its values in the order of the property ids. */
interface RawProfile {
  id: string;
  values: (string | number)[];
}

/** A connection beside the server's, to the same database. */
interface Direct {
  /** The workspace's custom properties, by id. */
  propertyIds(workspaceId: number): Promise<number[]>;
  profileCount(workspaceId: number): Promise<number>;
  /**
   * Whatever a database keeps up by itself after a large load: on PostgreSQL the planner's
   * statistics (ANALYZE), which autovacuum gathers on a default server; nothing on SQLite.
   */
  settle(): Promise<string | undefined>;
  /** The raw baseline: the rows, one prepared statement per table, in one transaction. */
  insertRaw(workspaceId: number, propertyIds: number[], profiles: RawProfile[], at: string): Promise<void>;
  close(): Promise<void>;
}

interface Store {
  /** Shown in the title. */
  title: string;
  /** The DATABASE_URL the server is given. */
  url: string;
  /** Opened once the server has migrated the database. */
  connect(): Promise<Direct>;
  /** Deletes the database, or with BENCH_KEEP_DB says where it is. */
  dispose(): Promise<void>;
}

const INSERT_PROFILE = 'insert into profiles (workspace_id, id, created_at, updated_at)';
const INSERT_VALUE = 'insert into profile_values (workspace_id, profile_id, property_id, position, v_text, v_num, v_json, source, written_at)';
/** A value's columns as the store keeps them: v_text, v_num, v_json. */
const columns = (v: string | number) => [typeof v === 'number' ? null : String(v), typeof v === 'number' ? v : null, JSON.stringify(v)] as const;

function sqliteStore(): Store {
  const dir = mkdtempSync(join(tmpdir(), 'propdict-bench-profiles-'));
  const file = join(dir, 'bench.db');
  return {
    title: 'SQLite',
    url: `sqlite:${file}`,
    async connect() {
      const raw = new DatabaseSync(file);
      // As the app opens it; the busy timeout in case the server's job runner holds the write lock.
      raw.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${process.env.PROPDICT_SQLITE_SYNCHRONOUS ?? 'full'}; PRAGMA busy_timeout = 5000;`);
      const insertProfile = raw.prepare(`${INSERT_PROFILE} values (?, ?, ?, ?)`);
      const insertValue = raw.prepare(`${INSERT_VALUE} values (?, ?, ?, 0, ?, ?, ?, null, ?)`);
      return {
        propertyIds: async (ws) =>
          (raw.prepare('select id from properties where workspace_id = ? and system = 0 order by id').all(ws) as { id: number }[]).map((p) => p.id),
        profileCount: async (ws) => Number((raw.prepare('select count(*) as n from profiles where workspace_id = ?').get(ws) as { n: number }).n),
        settle: async () => undefined,
        async insertRaw(ws, propertyIds, profiles, at) {
          raw.exec('begin');
          for (const { id, values } of profiles) {
            insertProfile.run(ws, id, at, at);
            values.forEach((v, p) => insertValue.run(ws, id, propertyIds[p], ...columns(v), at));
          }
          raw.exec('commit');
        },
        close: async () => raw.close(),
      };
    },
    async dispose() {
      if (KEEP_DB) log(`database kept at ${file}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresStore(baseUrl: string): Promise<Store> {
  const { schema, url, version, drop } = await postgresSchema(baseUrl, 'bench');
  return {
    title: `PostgreSQL ${version}`,
    url,
    async connect() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      return {
        propertyIds: async (ws) =>
          (await client.query<{ id: number }>('select id from properties where workspace_id = $1 and system = 0 order by id', [ws])).rows.map((p) => p.id),
        profileCount: async (ws) => Number((await client.query<{ n: string }>('select count(*) as n from profiles where workspace_id = $1', [ws])).rows[0].n),
        async settle() {
          const { autovacuum } = (await client.query<{ autovacuum: string }>('show autovacuum')).rows[0];
          if (!process.env.BENCH_NO_ANALYZE) await client.query('analyze profiles, profile_values, profile_keys');
          return `autovacuum ${autovacuum}; ${process.env.BENCH_NO_ANALYZE ? 'no ANALYZE (BENCH_NO_ANALYZE)' : 'ANALYZE run after the load'}`;
        },
        async insertRaw(ws, propertyIds, profiles, at) {
          await client.query('begin');
          try {
            // One named statement per table, run once per batch with the rows as arrays: a
            // statement per row would cost a network round trip each and measure the network.
            const valueRows = profiles.flatMap(({ id, values }) => values.map((v, p) => [id, propertyIds[p], ...columns(v)] as const));
            await client.query({
              name: 'bench_insert_profiles',
              text: `${INSERT_PROFILE} select $1, id, $3, $3 from unnest($2::text[]) as id`,
              values: [ws, profiles.map((p) => p.id), at],
            });
            await client.query({
              name: 'bench_insert_values',
              text: `${INSERT_VALUE} select $1, r.profile_id, r.property_id, 0, r.v_text, r.v_num, r.v_json, null, $7
                from unnest($2::text[], $3::integer[], $4::text[], $5::double precision[], $6::text[]) as r(profile_id, property_id, v_text, v_num, v_json)`,
              values: [ws, ...[0, 1, 2, 3, 4].map((c) => valueRows.map((r) => r[c])), at],
            });
            await client.query('commit');
          } catch (error) {
            await client.query('rollback');
            throw error;
          }
        },
        close: () => client.end(),
      };
    },
    async dispose() {
      if (KEEP_DB) {
        log(`database kept: schema ${schema} (DATABASE_URL=${url})`);
        return;
      }
      await drop();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The bench

const CITIES = ['Beograd', 'Novi Sad', 'Niš', 'Kragujevac', 'Subotica', 'Zrenjanin', 'Pančevo', 'Čačak'];
const record = (n: number) => ({
  properties: {
    customer_id: `C${n}`,
    home_city: CITIES[n % CITIES.length],
    score: n % 1000,
    ...Object.fromEntries(Array.from({ length: PROPS - 3 }, (_, i) => [`attr_${i}`, i % 2 ? n * i : `value ${n}-${i}`])),
  },
});

async function bench(server: Server, direct: Direct, operator: string): Promise<string[]> {
  const call = <T>(method: 'GET' | 'POST', path: string, token: string, payload?: unknown, expect = 200) => request<T>(server.url, token, method, path, payload, expect);

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
  const propertyIds = await direct.propertyIds(ws.id);
  if (propertyIds.length !== PROPS) throw new Error(`${propertyIds.length} custom properties in the workspace, not ${PROPS}`);

  // 1. Batch upsert of 1000 new records × 10 properties, against the same rows inserted raw.
  log(`1. batch upsert, ${BATCHES} × ${BATCH} records, then the raw-insert baseline`);
  let next = 0;
  const batchMs: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const inputs = Array.from({ length: BATCH }, () => record(next++));
    const started = performance.now();
    await call('POST', `${base}/profiles/batch`, key.token, { inputs });
    batchMs.push(performance.now() - started);
  }
  // The baseline: one prepared statement per table, one transaction, the same database.
  const baselineMs: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const started = performance.now();
    const at = new Date().toISOString();
    const rows = Array.from({ length: BATCH }, (_, i) => ({ id: `raw-${b}-${i}`, values: Object.values(record(next++).properties) }));
    await direct.insertRaw(ws.id, propertyIds, rows, at);
    baselineMs.push(performance.now() - started);
  }
  const batchRate = BATCH / (median(batchMs) / 1000);
  const baselineRate = BATCH / (median(baselineMs) / 1000);

  // 2. Identity-resolved ingestion through a source: half the records match existing profiles.
  log(`2. ingestion through a source, ${BATCHES} × ${BATCH} records`);
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

  // 2b. Segment identify calls through /segment/v1/batch, as an app's SDK sends them: 100 calls a
  // batch, 10 traits each (one through an import alias), half of them existing profiles.
  const calls = SEGMENT_BATCH * SEGMENT_BATCHES;
  log(`2b. Segment identify calls, ${SEGMENT_BATCHES} × ${SEGMENT_BATCH} calls through /segment/v1/batch`);
  const app = await call<{ id: number }>('POST', `${base}/sources`, key.token, { name: 'web-app', priority: 2, user_id_property: 'customer_id' }, 201);
  const writeKey = (await call<{ key: string }>('POST', `${base}/sources/${app.id}/write-keys`, key.token, undefined, 201)).key;
  const segmentMs: number[] = [];
  const serverCpu0 = serverCpuMs(server.pid);
  for (let b = 0; b < SEGMENT_BATCHES; b++) {
    const batch = Array.from({ length: SEGMENT_BATCH }, (_, i) => {
      const n = i % 2 ? Math.floor(Math.random() * next) : next++;
      const { customer_id: userId, ...traits } = record(n).properties;
      return { type: 'identify', userId, traits: { firstName: `Ana ${n}`, ...traits }, messageId: `m-${b}-${i}`, timestamp: new Date().toISOString() };
    });
    const started = performance.now();
    const res = await fetch(`${server.url}/segment/v1/batch`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch, sentAt: new Date().toISOString() }),
    });
    const text = await res.text();
    segmentMs.push(performance.now() - started);
    if (res.status !== 200) throw new Error(`POST /segment/v1/batch: expected 200, got ${res.status}: ${text.slice(0, 300)}`);
  }
  const segmentRate = SEGMENT_BATCH / (median(segmentMs) / 1000);
  const serverCpu1 = serverCpuMs(server.pid);
  const segmentCpu = serverCpu0 === undefined || serverCpu1 === undefined ? '' : `, server CPU ${fmt((serverCpu1 - serverCpu0) / SEGMENT_BATCHES, 1)} ms a batch`;
  const segmentViolations = await call<{ data: unknown[] }>('GET', `${base}/violations`, key.token);
  if (segmentViolations.data.length > 0) throw new Error(`the Segment calls were refused in part: ${JSON.stringify(segmentViolations.data)}`);

  // 3. Load up to PROFILES profiles through the batch API, sampling the server's RSS every 100 ms.
  const loaded = await direct.profileCount(ws.id);
  let peakRss = (await server.rss()).rss;
  log(`3. load up to ${fmt(PROFILES)} profiles (${fmt(loaded)} now), server rss ${mib(peakRss)} MiB`);
  let sampling = false;
  const watch = setInterval(() => {
    if (sampling) return; // only where there is no /proc and the busy server has not answered yet
    sampling = true;
    void server
      .rss()
      .then((m) => (peakRss = Math.max(peakRss, m.rss)))
      .finally(() => (sampling = false));
  }, 100);
  const loadStarted = performance.now();
  try {
    for (let have = loaded, batches = 1; have < PROFILES; have += BATCH, batches++) {
      const inputs = Array.from({ length: Math.min(BATCH, PROFILES - have) }, () => record(next++));
      await call('POST', `${base}/profiles/batch`, key.token, { inputs });
      if (batches % 100 === 0) {
        // Asked between two requests, when the server's event loop is free to answer.
        const m = await server.memory();
        const rate = (have + inputs.length - loaded) / ((performance.now() - loadStarted) / 1000);
        log(`  ${fmt(have + inputs.length)} profiles, ${fmt(rate)} records/s, server rss ${mib(m.rss)} MiB (V8 heap ${mib(m.heapTotal)}, external ${mib(m.external)})`);
      }
    }
  } finally {
    clearInterval(watch);
  }
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const afterLoad = await server.rss();
  peakRss = Math.max(peakRss, afterLoad.rss);
  const total = await direct.profileCount(ws.id);
  const settled = await direct.settle();
  if (settled) log(`  statistics: ${settled}`);

  // 4. Searches: equality on the identity and on a shared value, ranges, sorts (of one and two keys) and both together.
  log(`4. searches over ${fmt(total)} profiles`);
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
    // Two keys: a page sorts the ties on the first key's value it reaches by the second.
    { name: 'sort by score then -attr_1 (ties of 1 in 1,000), first 100', target: undefined, result: await timeSearch(() => `sort=${pick() % 2 ? '-' : ''}score,-attr_1&limit=100`, HEAVY) },
    { name: 'sort by home_city then score (ties of 1 in 8), first 100', target: undefined, result: await timeSearch(() => `sort=home_city,score&limit=100`, HEAVY) },
  ];
  log(`  server peak RSS over the whole run (VmHWM): ${mib((await server.rss()).peak)} MiB`);

  return [
    '| measurement | figure | baseline | ratio | target | result |',
    '|---|---|---|---|---|---|',
    `| batch upsert, 1000 new records × ${PROPS} properties (median of ${BATCHES}) | ${fmt(batchRate)} records/s | ${fmt(baselineRate)} records/s raw insert | ${(batchRate / baselineRate).toFixed(2)} | ≥ 0.6 | ${batchRate / baselineRate >= 0.6 ? 'pass' : '**MISS**'} |`,
    `| ingestion through a source, 1000 records, half matched by identity (median of ${BATCHES}) | ${fmt(ingestRate)} records/s | – | – | – | – |`,
    `| Segment identify calls through /segment/v1/batch, ${SEGMENT_BATCH} a batch × 10 traits, half existing profiles (median of ${SEGMENT_BATCHES}, ${fmt(calls)} calls) | ${fmt(segmentRate)} calls/s${segmentCpu} | ${fmt(baselineRate)} records/s raw insert | ${(segmentRate / baselineRate).toFixed(2)} | ≥ 0.5 | ${segmentRate / baselineRate >= 0.5 ? 'pass' : '**MISS**'} |`,
    `| load of ${fmt(total)} profiles through the batch API | ${fmt((total - loaded) / loadSeconds)} records/s, server peak RSS ${mib(peakRss)} MiB (VmHWM ${mib(afterLoad.peak)} MiB) | – | – | < 512 MiB | ${peakRss < 512 * 2 ** 20 ? 'pass' : '**MISS**'} |`,
    '',
    `| search over ${fmt(total)} profiles (${SEARCHES} requests for the first two, ${HEAVY} for the others${settled ? `; ${settled}` : ''}) | p50 ms | p99 ms | rows/answer | target | result |`,
    '|---|---|---|---|---|---|',
    ...searches.map(({ name, target, result }) =>
      `| ${name} | ${fmt(result.p50, 2)} | ${fmt(result.p99, 2)} | ${fmt(result.rows, 1)} | ${target ? `p99 < ${target} ms` : '–'} | ${target ? (result.p99 < target ? 'pass' : '**MISS**') : '–'} |`,
    ),
  ];
}

// ---------------------------------------------------------------------------------------------

const store = DATABASE_URL === undefined ? sqliteStore() : await postgresStore(DATABASE_URL);
const operator = `bench-${randomBytes(16).toString('hex')}`;
let server: Server | undefined;
let direct: Direct | undefined;
let lines: string[];
try {
  // The caller's environment, as a real server would read it, with the database and the operator
  // token set here. The native API has no rate limit unless a key is given one (the bench key has
  // none), and a batch of 1000 records (about 230 KB) is within the default body limit.
  server = await startServer('./serve-app.ts', { ...process.env, DATABASE_URL: store.url, PROPDICT_ADMIN_TOKEN: operator });
  log(`propdict profile bench on ${store.title} (DATABASE_URL=${store.url}): server pid ${server.pid} at ${server.url}, rss ${mib((await server.rss()).rss)} MiB`);
  direct = await store.connect();
  lines = await bench(server, direct, operator);
} finally {
  await direct?.close();
  await server?.stop();
  await store.dispose();
}

const title = `propdict profile bench, ${new Date().toISOString().slice(0, 10)}; Node ${process.version}; ${store.title}; the app in its own process, over HTTP`;
process.stdout.write(`\n${[title, '', ...lines].join('\n')}\n`);
