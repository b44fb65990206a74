// `npm run bench`: throughput and latency of the native property API on SQLite, each as a
// ratio to a bare Fastify route measured in the same run. What the figures mean: docs/benchmarks.md.
//
// Each server runs in its own child process so that the load generator (autocannon, here) and
// the server under test do not share an event loop; on a 2-core machine each gets a core.
import autocannon from 'autocannon';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { FromChild, ToChild } from './child.ts';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number (got "${raw}")`);
  return Number(raw);
}

const DURATION = envInt('BENCH_DURATION', 10); // seconds measured per scenario
const WARMUP = envInt('BENCH_WARMUP', 2); // seconds of unmeasured load first, so the JIT has run
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 50);
const SIZES = (process.env.BENCH_SIZES || '100,10000').split(',').map((s) => s.trim());
if (!SIZES.every((s) => /^[1-9]\d*$/.test(s))) throw new Error(`BENCH_SIZES must be positive whole numbers separated by commas (got "${process.env.BENCH_SIZES}")`);
/** When set, the app children run with --cpu-prof and write their profiles into this folder. */
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF || undefined;
/** Which endpoint scenarios run (one, list, create); all by default. Handy with BENCH_CPU_PROF. */
const ONLY = new Set((process.env.BENCH_ONLY || 'one,list,create').split(',').map((s) => s.trim()));
for (const name of ONLY) if (!['one', 'list', 'create'].includes(name)) throw new Error(`BENCH_ONLY takes one, list and create (got "${name}")`);

type Scenario = 'baseline' | 'GET one' | 'list page' | 'POST create';
/** Minimum req/s as a share of the baseline's. */
const TARGETS: Record<Exclude<Scenario, 'baseline'>, number> = { 'GET one': 0.5, 'list page': 0.15, 'POST create': 0.1 };
/** Each larger workspace's req/s must stay within 20% of the smallest one's. */
const SCALE_TARGET = 0.8;

interface Measured {
  scenario: Scenario;
  /** Custom properties in the workspace when the measurement started, and when it ended. */
  size?: { before: number; after: number };
  rps: number;
  p50: number;
  p99: number;
  /**
   * Server CPU time (µs) per request: unlike req/s, it hardly moves when other processes share
   * the machine, so it shows where the time goes even on a noisy run.
   */
  cpuPerRequest: number;
  /** Connection errors, timeouts and non-2xx answers: a figure with any is not a valid measurement. */
  failures: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Child servers

interface Server {
  url: string;
  /** CPU time (user + system, µs) the server process has used so far. */
  cpu(): Promise<number>;
  stop(): Promise<void>;
}

async function startServer(file: string, env: NodeJS.ProcessEnv = process.env, profile = false): Promise<Server> {
  const execArgv = profile && CPU_PROF_DIR ? [...process.execArgv, '--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : process.execArgv;
  // fork runs the same node binary as this process (the pinned Node 24 when started by npm).
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), { env, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () =>
    new Promise<FromChild>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`${file} exited (code ${code})`));
      child.once('exit', onExit);
      child.once('message', (message: FromChild) => {
        child.off('exit', onExit);
        resolve(message);
      });
    });
  const ready = await next();
  if (!('port' in ready)) throw new Error(`${file} did not report its port`);
  return {
    url: `http://127.0.0.1:${ready.port}`,
    async cpu() {
      const answer = next();
      child.send('cpu' satisfies ToChild);
      const message = await answer;
      if (!('cpu' in message)) throw new Error(`${file} did not report its CPU time`);
      return message.cpu;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.disconnect(); // the child closes the app and exits when its IPC channel closes
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Setting up a workspace through the API

async function call<T>(base: string, token: string, method: string, path: string, body: unknown, expect: number): Promise<T> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== expect) throw new Error(`${method} ${path}: expected ${expect}, got ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

const DATA_TYPES = ['string', 'number', 'boolean', 'date', 'integer', 'email'] as const;
const seedName = (i: number) => `seed_${String(i).padStart(5, '0')}`;

/** A realistic custom property: a label, a description, a group and an import alias. */
const seedProperty = (i: number) => ({
  name: seedName(i),
  display_name: `Seed ${i}`,
  data_type: DATA_TYPES[i % DATA_TYPES.length],
  description: `Seeded property ${i} for the benchmark.`,
  group: `group_${i % 10}`,
  import_aliases: [`seed_alias_${i}`],
});

interface Workspace {
  id: number;
  token: string;
}

/** A tenant, a workspace that allows a million custom properties, a read/write key, and `size` properties. */
async function setUpWorkspace(base: string, adminToken: string, size: number): Promise<Workspace> {
  const tenant = await call<{ id: number }>(base, adminToken, 'POST', '/v1/tenants', { name: 'Bench' }, 201);
  const ws = await call<{ id: number }>(base, adminToken, 'POST', `/v1/tenants/${tenant.id}/workspaces`, { name: 'Bench', property_limit: 1_000_000 }, 201);
  const key = await call<{ token: string }>(
    base,
    adminToken,
    'POST',
    `/v1/tenants/${tenant.id}/api-keys`,
    { name: 'bench', scopes: ['properties:read', 'properties:write'], workspace_ids: [ws.id] },
    201,
  );
  for (let from = 1; from <= size; from += 100) {
    const inputs = Array.from({ length: Math.min(100, size - from + 1) }, (_, k) => seedProperty(from + k));
    await call(base, key.token, 'POST', `/v1/workspaces/${ws.id}/properties/batch`, { inputs }, 201);
  }
  return { id: ws.id, token: key.token };
}

const customCount = async (base: string, ws: Workspace) =>
  (await call<{ custom_properties: { used: number } }>(base, ws.token, 'GET', `/v1/workspaces/${ws.id}/limits`, undefined, 200)).custom_properties.used;

// ---------------------------------------------------------------------------------------------
// Measuring

async function load(server: Server, options: autocannon.Options): Promise<Omit<Measured, 'scenario' | 'size'>> {
  if (WARMUP > 0) await autocannon({ ...options, connections: CONNECTIONS, duration: WARMUP });
  const cpuBefore = await server.cpu();
  const r = await autocannon({ ...options, connections: CONNECTIONS, duration: DURATION });
  const cpu = (await server.cpu()) - cpuBefore;
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    cpuPerRequest: cpu / Math.max(1, r.requests.total),
    failures: r.errors + r.timeouts + r.non2xx,
  };
}

/** One workspace size: the baseline measured just before, and each endpoint. */
interface Phase {
  size: number;
  baseline: Measured;
  endpoints: Measured[];
}

let created = 0;

async function measurePhase(bare: Server, app: Server, ws: Workspace): Promise<Phase> {
  const base = app.url;
  const headers = { authorization: `Bearer ${ws.token}` };
  const path = `/v1/workspaces/${ws.id}/properties`;
  const size = await customCount(base, ws);
  // The property in the middle of the seeded ones, by name (the usual way clients address one).
  const one = `${path}/${seedName(Math.ceil(size / 2))}`;
  const list = `${path}?limit=100`;
  // A broken route would be measured as fast errors: check each answers as it should first.
  await call(base, ws.token, 'GET', one, undefined, 200);
  await call(base, ws.token, 'GET', list, undefined, 200);

  // The machine may be shared, so the baseline is measured again right before each size's endpoints.
  log(`  baseline (bare Fastify route)`);
  const baseline: Measured = { scenario: 'baseline', ...(await load(bare, { url: `${bare.url}/` })) };
  const endpoints: Measured[] = [];
  const unchanged = { before: size, after: size };
  if (ONLY.has('one')) {
    log(`  GET one (${size} custom properties)`);
    endpoints.push({ scenario: 'GET one', size: unchanged, ...(await load(app, { url: base + one, headers })) });
  }
  if (ONLY.has('list')) {
    log(`  list page (${size} custom properties)`);
    endpoints.push({ scenario: 'list page', size: unchanged, ...(await load(app, { url: base + list, headers })) });
  }
  if (ONLY.has('create')) {
    // Last, because every request adds a property: the workspace grows while this runs.
    log(`  POST create (${size} custom properties and growing)`);
    const create = await load(app, {
      url: base + path,
      requests: [
        {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          // A new, unique property per request; the counter is shared by all connections.
          setupRequest: (request) => {
            created += 1;
            return { ...request, body: JSON.stringify({ name: `bench_new_${created}`, data_type: 'string', description: 'Created by the benchmark.', group: 'bench' }) };
          },
        },
      ],
    });
    endpoints.push({ scenario: 'POST create', size: { before: size, after: await customCount(base, ws) }, ...create });
  }
  return { size, baseline, endpoints };
}

// ---------------------------------------------------------------------------------------------
// Reporting (Markdown tables, so a run can be pasted into docs/benchmarks.md)

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
/** Ratios are cut, not rounded, so a shown ratio never reaches a target the real one misses. */
const fmtRatio = (n: number) => (Math.floor(n * 100) / 100).toFixed(2);
const verdict = (ok: boolean) => (ok ? 'pass' : '**MISS**');
const invalid = (m: Measured) => (m.failures > 0 ? `**INVALID** (${fmt(m.failures)} failed)` : undefined);

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function report(phases: Phase[]): string {
  const rows = phases.flatMap(({ size, baseline, endpoints }) =>
    [baseline, ...endpoints].map((m) => {
      const ratio = m.rps / baseline.rps;
      const target = m.scenario === 'baseline' ? undefined : TARGETS[m.scenario];
      const props = m.size === undefined ? `(${fmt(size)} run)` : m.size.before === m.size.after ? fmt(m.size.before) : `${fmt(m.size.before)} → ${fmt(m.size.after)}`;
      const result = invalid(m) ?? (target === undefined ? '–' : verdict(ratio >= target));
      // What the ratio would be if both servers had a whole core: steadier than req/s on a shared machine.
      const cpuRatio = baseline.cpuPerRequest / m.cpuPerRequest;
      const goal = target === undefined ? '–' : `≥ ${target}`;
      return [m.scenario, props, fmt(m.rps), fmt(m.p50, 1), fmt(m.p99, 1), fmt(m.cpuPerRequest), fmtRatio(ratio), fmtRatio(cpuRatio), goal, result];
    }),
  );
  const head = ['scenario', 'custom properties', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', '× baseline', '(by CPU)', 'target', 'result'];
  const out = [table(head, rows)];

  // The reading: each larger workspace's req/s against the smallest one's. CPU µs/req is
  // beside it because on a shared machine it shows whether a change is the code's or the noise's.
  const [small, ...larger] = phases;
  for (const big of larger) {
    const scale = big.endpoints.map((m, i) => {
      const s = small.endpoints[i];
      const change = m.rps / s.rps;
      return [
        m.scenario,
        `${fmt(s.rps)} → ${fmt(m.rps)}`,
        `${fmt(s.p50, 1)} → ${fmt(m.p50, 1)}`,
        `${fmt(s.p99, 1)} → ${fmt(m.p99, 1)}`,
        `${fmt(s.cpuPerRequest)} → ${fmt(m.cpuPerRequest)}`,
        fmtRatio(change),
        `≥ ${SCALE_TARGET}`,
        invalid(m) ?? invalid(s) ?? verdict(change >= SCALE_TARGET),
      ];
    });
    const label = `${fmt(small.size)} → ${fmt(big.size)} properties`;
    out.push('', table([label, 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'req/s ratio', 'target', 'result'], scale));
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const adminToken = `bench-${randomBytes(16).toString('hex')}`;
  const machine = `${availableParallelism()} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}`;
  log(`propdict bench: ${CONNECTIONS} connections, ${WARMUP} s warm-up + ${DURATION} s per scenario, workspaces of ${SIZES.join(' and ')} properties`);
  log(machine);

  const bare = await startServer('./serve-baseline.ts');
  const phases: Phase[] = [];
  try {
    // A fresh app and database per size, so one size's writes do not weigh on the other's figures.
    for (const size of SIZES.map(Number)) {
      const server = await startServer('./serve-app.ts', { ...process.env, PROPDICT_ADMIN_TOKEN: adminToken }, true);
      try {
        log(`seeding ${size} custom properties`);
        const started = performance.now();
        const ws = await setUpWorkspace(server.url, adminToken, size);
        log(`  seeded in ${fmt((performance.now() - started) / 1000, 1)} s`);
        phases.push(await measurePhase(bare, server, ws));
      } finally {
        await server.stop();
      }
    }
  } finally {
    await bare.stop();
  }

  process.stdout.write(`\npropdict bench, ${new Date().toISOString().slice(0, 10)}; ${machine}; ${CONNECTIONS} connections, ${DURATION} s each\n\n`);
  process.stdout.write(`${report(phases)}\n`);
  // A missed target is a finding, not a failure: the exit code stays 0.
}

await main();
