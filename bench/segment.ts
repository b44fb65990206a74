// The Segment batch in one process, against what the same storage work costs done raw. Three
// measures on one SQLite file (WAL, synchronous as the server's), alternated round by round:
//   raw insert   the baseline of bench/profiles.ts: 1000 new records × 10 values, one prepared
//                statement per table, one transaction (reported per 100 records);
//   raw segment  a Segment batch's storage work with node:sqlite alone: 100 message ids claimed,
//                the 100 user ids looked up, 50 new profiles (profile, key, 11 values), 50
//                existing ones (profile touched, values read, unchanged values' date and source
//                rewritten, changed ones upserted), one commit; prepared statements, no app;
//   app segment  the same kind of batch through /segment/v1/batch (app.inject, the real app).
// Each is timed by wall clock (what the bench's calls/s see, syncs included) and by this
// process's CPU. Prints the median per 100 records or calls of each round, and the ratios.
// `npx node bench/segment.ts` (BENCH_SEED=10000 profiles first; BENCH_ROUNDS=5; BENCH_REPEAT=10
// batches of each kind a round; BENCH_CPU_PROF=dir profiles the app's batches only; BENCH_APP_ONLY=1
// runs the app's batches alone, for perf; BENCH_LOG_SQL=1 writes each statement to stderr as it
// ends, which strace's record of temporary files can be read beside).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Session } from 'node:inspector/promises';
import { createTenancy, createTestApp, expectStatus } from '../test/helpers/app.ts';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SEED = env('BENCH_SEED', 10_000);
const ROUNDS = env('BENCH_ROUNDS', 5);
const REPEAT = env('BENCH_REPEAT', 10);
const CPU_PROF = process.env.BENCH_CPU_PROF;
/** Set: only the app's batches (for a profile of the process by perf). */
const APP_ONLY = Boolean(process.env.BENCH_APP_ONLY);
const PROPS = 10;
const CITIES = ['Beograd', 'Novi Sad', 'Niš', 'Kragujevac', 'Subotica', 'Zrenjanin', 'Pančevo', 'Čačak'];
/** As bench/profiles.ts's record(n). */
const record = (n: number, prefix = 'C') => ({
  customer_id: `${prefix}${n}`,
  home_city: CITIES[n % CITIES.length],
  score: n % 1000,
  ...Object.fromEntries(Array.from({ length: PROPS - 3 }, (_, i) => [`attr_${i}`, i % 2 ? n * i : `value ${n}-${i}`])),
});

const dir = mkdtempSync(join(tmpdir(), 'propdict-bench-segment-'));
const file = join(dir, 'bench.db');
let statements = 0;
const LOG_SQL = Boolean(process.env.BENCH_LOG_SQL);
const t = await createTestApp(
  { name: 'sqlite', fresh: async () => ({ url: `sqlite:${file}`, drop: async () => {} }) },
  {
    onQuery: (text) => {
      statements++;
      if (LOG_SQL) process.stderr.write(`SQL ${text.slice(0, 80)}\n`);
    },
  },
);
const raw = new DatabaseSync(file);
try {
  raw.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${process.env.PROPDICT_SQLITE_SYNCHRONOUS ?? 'full'}; PRAGMA busy_timeout = 5000;`);
  const ten = await createTenancy(t);
  const ws = ten.workspaceId;
  const base = `/v1/workspaces/${ws}`;
  const send = async (url: string, payload: unknown, status: number) => {
    const res = await t.request({ method: 'POST', url: base + url, payload: payload as object, token: ten.token });
    expectStatus(res, status);
    return res.body;
  };
  await send('/properties/batch', {
    inputs: [
      { name: 'customer_id', data_type: 'string', identity: { role: 'primary' } },
      { name: 'home_city', data_type: 'string' },
      { name: 'score', data_type: 'integer' },
      ...Array.from({ length: PROPS - 3 }, (_, i) => ({ name: `attr_${i}`, data_type: i % 2 ? 'integer' : 'string' })),
    ],
  }, 201);
  let next = 0;
  // The seeding's batches of 1000 new records (the profile bench's batch upsert), timed too.
  const seeding: number[] = [];
  for (; next < SEED; ) {
    const inputs = Array.from({ length: 1000 }, () => ({ properties: record(next++) }));
    const c0 = process.cpuUsage();
    await send('/profiles/batch', { inputs }, 200);
    const c = process.cpuUsage(c0);
    seeding.push((c.user + c.system) / 1000);
  }
  const app = await send('/sources', { name: 'web-app', priority: 2, user_id_property: 'customer_id' }, 201);
  const writeKey = (await send(`/sources/${app.id}/write-keys`, undefined, 201)).key as string;
  const authorization = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;

  const props = new Map((raw.prepare('select id, name from properties where workspace_id = ?').all(ws) as { id: number; name: string }[]).map((p) => [p.name, Number(p.id)]));
  const customerProperty = props.get('customer_id')!;
  const INSERT_PROFILE = raw.prepare('insert into profiles (workspace_id, id, created_at, updated_at) values (?, ?, ?, ?)');
  const INSERT_VALUE = raw.prepare('insert into profile_values (workspace_id, profile_id, property_id, position, v_text, v_num, v_json, source, written_at) values (?, ?, ?, 0, ?, ?, ?, ?, ?)');
  const columns = (v: string | number) => [typeof v === 'number' ? null : v, typeof v === 'number' ? v : null, JSON.stringify(v)] as const;

  /** The baseline of bench/profiles.ts: 1000 records in one transaction. */
  let rawBatch = 0;
  function rawInsert() {
    const at = new Date().toISOString();
    const b = rawBatch++;
    raw.exec('begin');
    for (let i = 0; i < 1000; i++) {
      const id = `raw-${b}-${i}`;
      INSERT_PROFILE.run(ws, id, at, at);
      for (const [name, v] of Object.entries(record(1_000_000 + b * 1000 + i, 'R'))) INSERT_VALUE.run(ws, id, props.get(name)!, ...columns(v), null, at);
    }
    raw.exec('commit');
  }

  /** Calls as bench/profiles.ts sends them: half new profiles, half random existing ones. */
  let segmentBatch = 0;
  function calls() {
    const b = segmentBatch++;
    return Array.from({ length: 100 }, (_, i) => {
      const n = i % 2 ? Math.floor(Math.random() * next) : next++;
      const { customer_id: userId, ...traits } = record(n);
      return { type: 'identify', userId, traits: { firstName: `Ana ${n}`, ...traits }, messageId: `m-${b}-${i}`, timestamp: new Date().toISOString() };
    });
  }

  const claim = raw.prepare(
    'insert into ingested_messages (workspace_id, source_id, message_hash, seen_at) values (?, ?, ?, ?) on conflict (workspace_id, source_id, message_hash) do update set seen_at = excluded.seen_at where ingested_messages.seen_at < ? returning message_hash',
  );
  const owner = raw.prepare('select profile_id from profile_keys where workspace_id = ? and property_id = ? and value_key = ?');
  const touchProfile = raw.prepare('update profiles set updated_at = ? where workspace_id = ? and id = ?');
  const storedValues = raw.prepare('select property_id, v_json from profile_values where workspace_id = ? and profile_id = ?');
  const touchValue = raw.prepare('update profile_values set source = ?, written_at = ? where workspace_id = ? and profile_id = ? and property_id = ? and position = 0');
  const upsertValue = raw.prepare(
    'insert into profile_values (workspace_id, profile_id, property_id, position, v_text, v_num, v_json, source, written_at) values (?, ?, ?, 0, ?, ?, ?, ?, ?) on conflict (workspace_id, profile_id, property_id, position) do update set v_text = excluded.v_text, v_num = excluded.v_num, v_json = excluded.v_json, source = excluded.source, written_at = excluded.written_at',
  );
  const insertKey = raw.prepare('insert into profile_keys (workspace_id, property_id, value_key, profile_id) values (?, ?, ?, ?)');
  let rawIds = 0;
  const idPrefix = randomBytes(4).toString('hex');

  /** A Segment batch's storage work, raw. */
  function rawSegment(batch: ReturnType<typeof calls>) {
    const at = new Date().toISOString();
    const since = new Date(Date.now() - 86_400_000).toISOString();
    raw.exec('begin');
    for (const c of [...batch].sort((a, b) => (a.messageId < b.messageId ? -1 : 1))) claim.get(ws, app.id, createHash('sha256').update(c.messageId).digest('hex'), at, since);
    for (const c of batch) {
      const values: [number, string | number][] = [[customerProperty, c.userId]];
      for (const [name, v] of Object.entries(c.traits)) values.push([props.get(name === 'firstName' ? 'first_name' : name)!, v as string | number]);
      const held = owner.get(ws, customerProperty, c.userId) as { profile_id: string } | undefined;
      if (held) {
        const id = held.profile_id;
        touchProfile.run(at, ws, id);
        const stored = new Map((storedValues.all(ws, id) as { property_id: number; v_json: string }[]).map((r) => [Number(r.property_id), r.v_json]));
        for (const [property, v] of values) {
          const cols = columns(v);
          if (stored.get(property) === cols[2]) touchValue.run('web-app', c.timestamp, ws, id, property);
          else upsertValue.run(ws, id, property, ...cols, 'web-app', c.timestamp);
        }
      } else {
        const id = `${idPrefix}-${String(rawIds++).padStart(10, '0')}`;
        INSERT_PROFILE.run(ws, id, at, at);
        insertKey.run(ws, customerProperty, c.userId, id);
        for (const [property, v] of values) INSERT_VALUE.run(ws, id, property, ...columns(v), 'web-app', c.timestamp);
      }
    }
    raw.exec('commit');
  }

  const headers = { authorization, 'content-type': 'application/json' };
  async function appSegment(batch: ReturnType<typeof calls>) {
    const res = await t.app.inject({ method: 'POST', url: '/segment/v1/batch', headers, payload: JSON.stringify({ batch, sentAt: new Date().toISOString() }) });
    if (res.statusCode !== 200) throw new Error(`${res.statusCode}: ${res.body}`);
  }

  type Sample = { ms: number; cpu: number };
  const samples: Record<'raw insert' | 'raw segment' | 'app segment', Sample[][]> = { 'raw insert': [], 'raw segment': [], 'app segment': [] };
  const time = async (fn: () => unknown, per: number): Promise<Sample> => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    const c = process.cpuUsage(c0);
    return { ms: (performance.now() - t0) / per, cpu: (c.user + c.system) / 1000 / per };
  };
  const session = CPU_PROF ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
  }
  let appStatements = 0;
  let appBatches = 0;
  for (let round = 0; round <= ROUNDS; round++) {
    // Each kind in a block of its own: a commit on the other connection empties this one's page
    // cache, and the bench runs them apart too (the first of a block pays it; the median does not).
    const r = { 'raw insert': [] as Sample[], 'raw segment': [] as Sample[], 'app segment': [] as Sample[] };
    if (!APP_ONLY) {
      for (let i = 0; i < REPEAT; i++) r['raw insert'].push(await time(rawInsert, 10));
      for (let i = 0; i < REPEAT; i++) {
        const batch = calls();
        r['raw segment'].push(await time(() => rawSegment(batch), 1));
      }
    }
    for (let i = 0; i < REPEAT; i++) {
      const batch = calls();
      if (session && round > 0) await session.post('Profiler.start');
      const s0 = statements;
      r['app segment'].push(await time(() => appSegment(batch), 1));
      if (round > 0) {
        appStatements += statements - s0;
        appBatches++;
      }
      if (session && round > 0) {
        const { profile } = await session.post('Profiler.stop');
        writeFileSync(join(CPU_PROF!, `segment-${round}-${i}.cpuprofile`), JSON.stringify(profile));
      }
      // As a server's event loop turns between requests.
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Round 0 warms up.
    if (round > 0) for (const k of Object.keys(r) as (keyof typeof r)[]) samples[k].push(r[k]);
  }
  const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)];
  const fmt = (x: number) => x.toFixed(1);
  console.log(`${SEED} profiles seeded; ${ROUNDS} rounds of ${REPEAT} batches each; ms per 100 records or calls (median of a round), wall / CPU`);
  for (const [name, rounds] of Object.entries(samples).filter(([, rounds]) => rounds[0]?.length)) {
    console.log(`${name.padEnd(12)} wall ${rounds.map((s) => fmt(median(s.map((x) => x.ms)))).join(' ')}   CPU ${rounds.map((s) => fmt(median(s.map((x) => x.cpu)))).join(' ')}`);
  }
  const ratios = (k: 'raw segment' | 'app segment', f: 'ms' | 'cpu') => samples[k].map((s, i) => median(samples['raw insert'][i].map((x) => x[f])) / median(s.map((x) => x[f])));
  for (const k of APP_ONLY ? [] : (['raw segment', 'app segment'] as const)) {
    console.log(`${k} / raw insert (records per second, same round): wall ${ratios(k, 'ms').map((x) => x.toFixed(2)).join(' ')}   CPU ${ratios(k, 'cpu').map((x) => x.toFixed(2)).join(' ')}`);
  }
  console.log(`app statements per Segment batch: ${(appStatements / appBatches).toFixed(1)}`);
  console.log(`seeding: batch upsert of 1000 new records, CPU ms ${seeding.map((x) => x.toFixed(0)).join(' ')} (median ${median(seeding.slice(1)).toFixed(0)} after the first)`);
} finally {
  raw.close();
  await t.close();
  rmSync(dir, { recursive: true, force: true });
}
