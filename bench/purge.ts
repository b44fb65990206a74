// `npm run bench` (third part): what a background job costs the requests that arrive while it
// runs. The app server (bench/serve-app.ts, its job runner on) holds one property with
// BENCH_PURGE_VALUES values (1,000,000 by default, written straight into its SQLite file); the
// property is purged, and while the job runs one client reads GET /healthz and a profile in turn,
// one request at a time. The same reads measured just before the purge are the baseline.
// What the figures mean: docs/benchmarks.md, "Requests during a background job".
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { request, startServer, type Server } from './servers.ts';

const VALUES = Number(process.env.BENCH_PURGE_VALUES ?? 1_000_000);
/** Seconds of reads before the purge: the baseline. */
const BASELINE_S = Number(process.env.BENCH_PURGE_BASELINE_S ?? 5);
if (!Number.isInteger(VALUES) || VALUES < 1000) throw new Error(`BENCH_PURGE_VALUES must be a whole number ≥ 1000 (got "${process.env.BENCH_PURGE_VALUES}")`);

const log = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** Milliseconds one GET takes, from the client's side; throws on any other status than 200. */
async function timedGet(base: string, path: string, token?: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(base + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
  return performance.now() - started;
}

interface Latencies {
  healthz: number[];
  profile: number[];
}

/** Reads in turn, one at a time, while `go()` holds. */
async function readWhile(server: Server, ws: number, token: string, go: () => Promise<boolean> | boolean): Promise<Latencies> {
  const out: Latencies = { healthz: [], profile: [] };
  while (await go()) {
    out.healthz.push(await timedGet(server.url, '/healthz'));
    out.profile.push(await timedGet(server.url, `/v1/workspaces/${ws}/profiles/reader`, token));
  }
  return out;
}

const row = (what: string, phase: string, xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return `| ${what} | ${phase} | ${fmt(xs.length)} | ${fmt(percentile(sorted, 50), 1)} | ${fmt(percentile(sorted, 99), 1)} | ${fmt(sorted.at(-1) ?? 0, 1)} |`;
};

const dir = mkdtempSync(join(tmpdir(), 'propdict-purge-bench-'));
const file = join(dir, 'purge.db');
const operator = `bench-${randomBytes(12).toString('hex')}`;
let server: Server | undefined;
try {
  server = await startServer('./serve-app.ts', { ...process.env, DATABASE_URL: `sqlite:${file}`, PROPDICT_ADMIN_TOKEN: operator });
  const tenant = await request<{ id: number }>(server.url, operator, 'POST', '/v1/tenants', { name: 'Purge' }, 201);
  const ws = (await request<{ id: number }>(server.url, operator, 'POST', `/v1/tenants/${tenant.id}/workspaces`, { name: 'purge' }, 201)).id;
  const { token } = await request<{ token: string }>(server.url, operator, 'POST', `/v1/tenants/${tenant.id}/api-keys`, { name: 'bench', scopes: ['properties:read', 'properties:write', 'profiles:read', 'profiles:write'] }, 201);
  const property = await request<{ id: number }>(server.url, token, 'POST', `/v1/workspaces/${ws}/properties`, { name: 'doomed', data_type: 'string' }, 201);
  await request(server.url, token, 'PUT', `/v1/workspaces/${ws}/profiles/reader`, { properties: { first_name: 'Ada', email: 'ada@example.com' } }, 201);

  // The values, straight into the file: one profile each, as the purge's worst case (one row per profile).
  log(`writing ${fmt(VALUES)} values into ${file} ...`);
  const loadStarted = performance.now();
  const direct = new DatabaseSync(file);
  direct.exec('PRAGMA busy_timeout = 10000; BEGIN IMMEDIATE');
  const at = new Date().toISOString();
  const insertProfile = direct.prepare('insert into profiles (workspace_id, id, created_at, updated_at) values (?, ?, ?, ?)');
  const insertValue = direct.prepare(
    'insert into profile_values (workspace_id, profile_id, property_id, position, v_text, v_num, v_json, source, written_at) values (?, ?, ?, 0, ?, null, ?, null, ?)',
  );
  for (let i = 0; i < VALUES; i++) {
    const id = `p${String(i).padStart(7, '0')}`;
    insertProfile.run(ws, id, at, at);
    insertValue.run(ws, id, property.id, `value ${i}`, JSON.stringify(`value ${i}`), at);
  }
  direct.exec('COMMIT');
  direct.close();
  log(`written in ${fmt((performance.now() - loadStarted) / 1000, 1)} s`);
  // The load held this process's event loop: let it see the kept-alive connections the server
  // closed meanwhile (PROPDICT_IDLE_TIMEOUT_MS), before a request would reuse one.
  await new Promise((resolve) => setTimeout(resolve, 200));

  const baselineUntil = performance.now() + BASELINE_S * 1000;
  const before = await readWhile(server, ws, token, () => performance.now() < baselineUntil);

  const purgeStarted = performance.now();
  const { job } = await request<{ job: { id: string } }>(server.url, token, 'DELETE', `/v1/workspaces/${ws}/properties/doomed?purge=true`, undefined, 202);
  let reads = 0;
  let status = 'queued';
  const during = await readWhile(server, ws, token, async () => {
    // The job's own progress is read every 20 rounds: a third kind of request, not timed.
    if (reads++ % 20 === 0) status = (await request<{ status: string }>(server!.url, token, 'GET', `/v1/workspaces/${ws}/jobs/${job.id}`, undefined, 200)).status;
    return status !== 'done' && status !== 'failed';
  });
  const purgeSeconds = (performance.now() - purgeStarted) / 1000;
  if (status !== 'done') throw new Error(`the purge ended ${status}`);

  const lines = [
    `Requests during a purge of ${fmt(VALUES)} values on SQLite (one client, one request at a time; the purge took ${fmt(purgeSeconds, 1)} s, ${fmt(VALUES / purgeSeconds)} values/s)`,
    '',
    '| request | while | requests | p50 ms | p99 ms | max ms |',
    '|---|---|---|---|---|---|',
    row('GET /healthz', 'before (baseline)', before.healthz),
    row('GET /healthz', 'during the purge', during.healthz),
    row('GET profile', 'before (baseline)', before.profile),
    row('GET profile', 'during the purge', during.profile),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
} finally {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}
