// `npm run bench` (last part): a soak. The app server (bench/serve-app.ts, SQLite) takes a steady
// mix of reads and writes on every surface at BENCH_SOAK_RATE requests a second for BENCH_SOAK_S
// seconds; its RSS and V8 heap are read every BENCH_SOAK_SAMPLE_S seconds, and the slope of each
// after the warm-up (the first third) says whether memory keeps rising. With BENCH_SOAK_GC=1 the
// server runs with --expose-gc and each sample also gives the heap after a full collection: what
// is really held, as opposed to garbage not yet collected. With BENCH_SOAK_SNAPSHOTS=<folder>,
// each sample also writes a heap snapshot there (to compare in Chrome's DevTools).
// What the figures mean: docs/benchmarks.md, "Soak".
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { request, startServer, type Server } from './servers.ts';

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) === 0) throw new Error(`${name} must be a positive whole number (got "${raw}")`);
  return Number(raw);
}

const SECONDS = envNumber('BENCH_SOAK_S', 60);
const RATE = envNumber('BENCH_SOAK_RATE', 150);
const SAMPLE_S = envNumber('BENCH_SOAK_SAMPLE_S', 5);
const GC = Boolean(process.env.BENCH_SOAK_GC);
const SNAPSHOTS = process.env.BENCH_SOAK_SNAPSHOTS ? resolve(process.env.BENCH_SOAK_SNAPSHOTS) : undefined;

const log = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mib = (bytes: number) => bytes / 2 ** 20;

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return num / den;
}

interface Setup {
  ws: number;
  token: string;
  properties: string[];
  profiles: string[];
}

async function setUp(server: Server, operator: string): Promise<Setup> {
  const base = server.url;
  const tenant = await request<{ id: number }>(base, operator, 'POST', '/v1/tenants', { name: 'Soak' }, 201);
  const ws = (await request<{ id: number }>(base, operator, 'POST', `/v1/tenants/${tenant.id}/workspaces`, { name: 'soak', property_limit: 1_000_000 }, 201)).id;
  const scopes = ['properties:read', 'properties:write', 'profiles:read', 'profiles:write'];
  const { token } = await request<{ token: string }>(base, operator, 'POST', `/v1/tenants/${tenant.id}/api-keys`, { name: 'soak', scopes }, 201);
  const properties = Array.from({ length: 20 }, (_, i) => `soak_${i}`);
  const inputs = properties.map((name, i) => ({ name, data_type: i % 2 ? 'integer' : 'string', merge_function: i % 2 ? 'sum' : 'update' }));
  await request(base, token, 'POST', `/v1/workspaces/${ws}/properties/batch`, { inputs }, 201);
  const records = Array.from({ length: 500 }, (_, i) => ({ properties: { email: `seed${i}@example.com`, soak_0: `seed ${i}`, soak_1: i } }));
  const results = await request<{ results: { id: string }[] }>(base, token, 'POST', `/v1/workspaces/${ws}/profiles/batch`, { inputs: records }, 200);
  return { ws, token, properties, profiles: results.results.map((r) => r.id) };
}

/** The mix: mostly reads, some writes that grow the store and the dictionary, every surface. */
function nextRequest(i: number, s: Setup): { method: string; path: string; body?: unknown; headers?: Record<string, string> } {
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];
  const v1 = `/v1/workspaces/${s.ws}`;
  switch (i % 20) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
      return { method: 'GET', path: `${v1}/properties/${pick(s.properties)}` };
    case 5:
    case 6:
      return { method: 'GET', path: `${v1}/properties?limit=100` };
    case 7:
    case 8:
    case 9:
      return { method: 'GET', path: `${v1}/profiles/${pick(s.profiles)}` };
    case 10:
    case 11:
      return { method: 'PATCH', path: `${v1}/profiles/${pick(s.profiles)}`, body: { properties: { soak_1: 1, soak_2: `at ${i}` } } };
    case 12:
      return {
        method: 'POST',
        path: `${v1}/profiles/batch`,
        body: { inputs: Array.from({ length: 10 }, (_, k) => ({ properties: { email: `soak${i}-${k}@example.com`, soak_0: `new ${i}` } })) },
      };
    case 13:
      return { method: 'GET', path: `${v1}/profiles?filter[soak_1][gte]=${Math.floor(Math.random() * 500)}&limit=20` };
    case 14:
      return { method: 'GET', path: '/ocamba/v1/hood/profile-properties?page=1,100' };
    case 15:
      return { method: 'GET', path: `/hcl/api/campaign-data-dictionary/campaignId/${s.ws}`, headers: { authkey: s.token } };
    case 16:
      return { method: 'GET', path: `/lineworks/v1.0/contacts/custom-properties?domainId=${s.ws}` };
    case 17:
      // One create in a hundred requests: the dictionary grows, and every cached read of it is dropped.
      if (i % 100 === 17) return { method: 'POST', path: `${v1}/properties`, body: { name: `grown_${i}`, data_type: 'string' } };
      return { method: 'GET', path: `${v1}/limits` };
    case 18:
      return { method: 'GET', path: `${v1}/limits` };
    default:
      return { method: 'GET', path: '/healthz' };
  }
}

const dir = mkdtempSync(join(tmpdir(), 'propdict-soak-'));
const operator = `bench-${randomBytes(12).toString('hex')}`;
let server: Server | undefined;
try {
  if (SNAPSHOTS) mkdirSync(SNAPSHOTS, { recursive: true });
  server = await startServer(
    './serve-app.ts',
    {
      ...process.env,
      DATABASE_URL: `sqlite:${join(dir, 'soak.db')}`,
      PROPDICT_ADMIN_TOKEN: operator,
      PROPDICT_OCAMBA_PER_SECOND: '0',
      PROPDICT_OCAMBA_PER_MINUTE: '0',
      PROPDICT_LINEWORKS_PER_MINUTE: '0',
      PROPDICT_LINEWORKS_MAX_PROPERTIES: '1000000',
    },
    undefined,
    { execArgv: GC ? ['--expose-gc'] : [], cwd: SNAPSHOTS },
  );
  const setup = await setUp(server, operator);
  log(`soak: ${RATE} req/s for ${SECONDS} s on SQLite, server pid ${server.pid}; a sample every ${SAMPLE_S} s`);

  const statuses = new Map<number | string, number>();
  let sent = 0;
  let inFlight = 0;
  let skipped = 0;
  const started = performance.now();
  const samples: { t: number; rss: number; heapUsed: number; liveHeap?: number; snapshot?: string }[] = [];

  const fire = (i: number) => {
    // Open loop, but bounded: a server that falls behind is not buried under requests.
    if (inFlight >= 200) {
      skipped++;
      return;
    }
    const r = nextRequest(i, setup);
    inFlight++;
    sent++;
    fetch(server!.url + r.path, {
      method: r.method,
      headers: { authorization: `Bearer ${setup.token}`, ...(r.body === undefined ? {} : { 'content-type': 'application/json' }), ...r.headers },
      body: r.body === undefined ? undefined : JSON.stringify(r.body),
    })
      .then(async (res) => {
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      })
      .catch((error: Error) => statuses.set(error.message, (statuses.get(error.message) ?? 0) + 1))
      .finally(() => inFlight--);
  };

  // Requests are sent on a 10 ms tick, as many as the rate asks for since the start.
  let i = 0;
  const ticker = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * RATE);
    while (i < due) fire(i++);
  }, 10);
  try {
    for (let next = SAMPLE_S; next <= SECONDS; next += SAMPLE_S) {
      const wait = started + next * 1000 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const { rss } = await server.rss();
      const memory = await server.memory();
      const sample: (typeof samples)[number] = { t: next, rss, heapUsed: memory.heapUsed };
      if (GC) sample.liveHeap = (await server.gc()).heapUsed;
      if (SNAPSHOTS) sample.snapshot = await server.snapshot();
      samples.push(sample);
      log(`  ${next} s: rss ${fmt(mib(rss))} MiB, heap ${fmt(mib(memory.heapUsed))} MiB${sample.liveHeap ? `, after a full GC ${fmt(mib(sample.liveHeap))} MiB` : ''}`);
    }
  } finally {
    clearInterval(ticker);
  }
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 50));

  const warm = samples.filter((s) => s.t > SECONDS / 3);
  const perMinute = (key: 'rss' | 'heapUsed' | 'liveHeap') => slope(warm.filter((s) => s[key] !== undefined).map((s) => ({ x: s.t / 60, y: mib(s[key]!) })));
  const lines = [
    `Soak: ${fmt(sent)} requests at ${RATE}/s for ${SECONDS} s on SQLite (${[...statuses].map(([k, n]) => `${k}: ${fmt(n)}`).join(', ')}${skipped ? `; ${fmt(skipped)} not sent, 200 in flight` : ''})`,
    '',
    `| s | RSS MiB | heap used MiB |${GC ? ' heap after full GC MiB |' : ''}${SNAPSHOTS ? ' snapshot |' : ''}`,
    `|---|---|---|${GC ? '---|' : ''}${SNAPSHOTS ? '---|' : ''}`,
    ...samples.map(
      (s) => `| ${s.t} | ${fmt(mib(s.rss))} | ${fmt(mib(s.heapUsed))} |${GC ? ` ${fmt(mib(s.liveHeap ?? 0))} |` : ''}${SNAPSHOTS ? ` ${s.snapshot} |` : ''}`,
    ),
    '',
    `Slope after the warm-up (samples after ${fmt(SECONDS / 3)} s): RSS ${fmt(perMinute('rss'), 1)} MiB/min, heap used ${fmt(perMinute('heapUsed'), 1)} MiB/min${GC ? `, heap after full GC ${fmt(perMinute('liveHeap'), 1)} MiB/min` : ''}`,
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
} finally {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}
