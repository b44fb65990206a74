// `npm run bench`: throughput and latency of the native property API on SQLite (or PostgreSQL
// with BENCH_DATABASE_URL), each as a
// ratio to a bare Fastify route measured in the same run, then the vendor surfaces' list and
// create, each as a ratio to the native figure of the same operation. What the figures mean:
// docs/benchmarks.md.
//
// Each server runs in its own child process (bench/servers.ts) so that the load generator
// (autocannon, here) and the server under test do not share an event loop; on a 2-core machine
// each gets a core.
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { perfRecord } from './perf-split.ts';
import { postgresSchema, request, startServer, type Server } from './servers.ts';

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
/**
 * When set, a folder: Linux perf records the server under test during each measured scenario
 * (`<n>-<scenario>.data`, the baseline's too); `npx node bench/perf-split.ts <folder>` splits the
 * server's CPU into SQLite, the kernel's network and file work, and JavaScript.
 */
const PERF_DIR = process.env.BENCH_PERF || undefined;
if (PERF_DIR !== undefined) mkdirSync(PERF_DIR, { recursive: true });
let perfRecorded = 0;
/**
 * Which endpoint scenarios run (one, list, create, profiles); all by default. `profiles` is the
 * four profile scenarios, each also named alone (profile-get, identity-search, profile-patch,
 * profile-post), so that a CPU profile (BENCH_CPU_PROF) holds one of them only.
 */
const PROFILE_SCENARIOS = ['profile-get', 'identity-search', 'profile-patch', 'profile-post'] as const;
const ONLY = new Set((process.env.BENCH_ONLY || 'one,list,create,profiles').split(',').flatMap((s) => (s.trim() === 'profiles' ? ['profiles', ...PROFILE_SCENARIOS] : [s.trim()])));
for (const name of ONLY) if (!['one', 'list', 'create', 'profiles', ...PROFILE_SCENARIOS].includes(name)) throw new Error(`BENCH_ONLY takes one, list, create, profiles and ${PROFILE_SCENARIOS.join(', ')} (got "${name}")`);
/**
 * Profiles in the workspace before the profile scenarios run, one number per workspace size
 * (BENCH_SIZES), or one for every size: by default 10,000 beside 100 properties and 1,000,000
 * beside 10,000, the issue's large case.
 */
const PROFILE_COUNTS = (process.env.BENCH_PROFILES || '10000,1000000').split(',').map((s) => s.trim());
if (!PROFILE_COUNTS.every((s) => /^[1-9]\d*$/.test(s))) throw new Error(`BENCH_PROFILES must be positive whole numbers separated by commas (got "${process.env.BENCH_PROFILES}")`);
const profilesAt = (sizeIndex: number) => Number(PROFILE_COUNTS[Math.min(sizeIndex, PROFILE_COUNTS.length - 1)]);
/**
 * Which surfaces are measured: `native` (the scenarios above) and the vendor surfaces `ocamba`,
 * `hcl`, `lineworks` (their list and create, as BENCH_ONLY allows); all by default.
 */
const SURFACE_NAMES = ['native', 'ocamba', 'hcl', 'lineworks'] as const;
type SurfaceName = (typeof SURFACE_NAMES)[number];
const SURFACES = new Set((process.env.BENCH_SURFACES || SURFACE_NAMES.join(',')).split(',').map((s) => s.trim()));
for (const name of SURFACES) if (!(SURFACE_NAMES as readonly string[]).includes(name)) throw new Error(`BENCH_SURFACES takes ${SURFACE_NAMES.join(', ')} (got "${name}")`);
const NATIVE = SURFACES.has('native');
/**
 * postgres://...: the app serves a new schema of that PostgreSQL database per workspace size
 * (migrated by the app, dropped at the end), not a SQLite file; the statistics are as the load
 * leaves them (autovacuum's, if it has run).
 */
const PG_URL = process.env.BENCH_DATABASE_URL || undefined;
if (PG_URL !== undefined && !/^postgres(ql)?:\/\/.+/.test(PG_URL)) throw new Error(`BENCH_DATABASE_URL must be postgres://... (got "${PG_URL}")`);

type Scenario = 'baseline' | 'GET one' | 'list page' | 'POST create' | 'profile GET' | 'identity search' | 'profile PATCH' | 'profile POST';
/** Minimum req/s as a share of the baseline's (the one-at-a-time targets of docs/benchmarks.md). */
const TARGETS: Record<Exclude<Scenario, 'baseline'>, number> = {
  'GET one': 0.6,
  'list page': 0.15,
  'POST create': 0.15,
  'profile GET': 0.5,
  'identity search': 0.4,
  'profile PATCH': 0.3,
  'profile POST': 0.3,
};
/** On PostgreSQL (BENCH_DATABASE_URL), the profile scenarios' targets; the others keep SQLite's. */
const POSTGRES_TARGETS: Partial<typeof TARGETS> = { 'profile GET': 0.2, 'identity search': 0.2, 'profile PATCH': 0.1, 'profile POST': 0.1 };
const targetOf = (scenario: Exclude<Scenario, 'baseline'>) => (PG_URL === undefined ? undefined : POSTGRES_TARGETS[scenario]) ?? TARGETS[scenario];
/** Each larger workspace's req/s must stay within 20% of the smallest one's. */
const SCALE_TARGET = 0.8;
/** A vendor surface's req/s as a share of the native figure of the same operation. */
const VENDOR_TARGET = 0.8;
/**
 * The app runs with the vendor rate limits off and LINE WORKS's cap of 5 custom properties a
 * domain raised: the bench measures what each surface costs, not where its limits stop it.
 * These override the caller's environment.
 */
const VENDOR_LIMITS_OFF = {
  PROPDICT_OCAMBA_PER_SECOND: '0',
  PROPDICT_OCAMBA_PER_MINUTE: '0',
  PROPDICT_HCL_PER_MINUTE: '0',
  PROPDICT_LINEWORKS_PER_MINUTE: '0',
  PROPDICT_LINEWORKS_MAX_PROPERTIES: '1000000',
};

interface Measured {
  scenario: Scenario;
  /** Custom properties in the workspace when the measurement started, and when it ended. */
  size?: { before: number; after: number };
  /** Profiles in the workspace, for the profile scenarios. */
  profiles?: number;
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
// Setting up a workspace through the API

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
  const tenant = await request<{ id: number }>(base, adminToken, 'POST', '/v1/tenants', { name: 'Bench' }, 201);
  const ws = await request<{ id: number }>(base, adminToken, 'POST', `/v1/tenants/${tenant.id}/workspaces`, { name: 'Bench', property_limit: 1_000_000 }, 201);
  const key = await request<{ token: string }>(
    base,
    adminToken,
    'POST',
    `/v1/tenants/${tenant.id}/api-keys`,
    { name: 'bench', scopes: ['properties:read', 'properties:write', 'profiles:read', 'profiles:write'], workspace_ids: [ws.id] },
    201,
  );
  for (let from = 1; from <= size; from += 100) {
    const inputs = Array.from({ length: Math.min(100, size - from + 1) }, (_, k) => seedProperty(from + k));
    await request(base, key.token, 'POST', `/v1/workspaces/${ws.id}/properties/batch`, { inputs }, 201);
  }
  return { id: ws.id, token: key.token };
}

const customCount = async (base: string, ws: Workspace) =>
  (await request<{ custom_properties: { used: number } }>(base, ws.token, 'GET', `/v1/workspaces/${ws.id}/limits`, undefined, 200)).custom_properties.used;

// ---------------------------------------------------------------------------------------------
// Measuring

async function load(server: Server, label: string, options: autocannon.Options): Promise<Omit<Measured, 'scenario' | 'size'>> {
  if (WARMUP > 0) await autocannon({ ...options, connections: CONNECTIONS, duration: WARMUP });
  const perf = PERF_DIR === undefined ? undefined : await perfRecord(server.pid, join(PERF_DIR, `${++perfRecorded}-${label.replaceAll(/\W+/g, '-')}.data`));
  const cpuBefore = await server.cpu();
  const r = await autocannon({ ...options, connections: CONNECTIONS, duration: DURATION });
  const cpu = (await server.cpu()) - cpuBefore;
  await perf?.stop();
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    cpuPerRequest: cpu / Math.max(1, r.requests.total),
    failures: r.errors + r.timeouts + r.non2xx,
  };
}

/** One workspace size: the baseline measured just before, each endpoint, then the vendor surfaces. */
interface Phase {
  size: number;
  baseline: Measured;
  endpoints: Measured[];
  vendors: VendorMeasured[];
}

let created = 0;

async function measurePhase(bare: Server, app: Server, ws: Workspace, profiles: number): Promise<Omit<Phase, 'vendors'>> {
  const base = app.url;
  const headers = { authorization: `Bearer ${ws.token}` };
  const path = `/v1/workspaces/${ws.id}/properties`;
  const size = await customCount(base, ws);
  // The property in the middle of the seeded ones, by name (the usual way clients address one).
  const one = `${path}/${seedName(Math.ceil(size / 2))}`;
  const list = `${path}?limit=100`;
  // A broken route would be measured as fast errors: check each answers as it should first.
  await request(base, ws.token, 'GET', one, undefined, 200);
  await request(base, ws.token, 'GET', list, undefined, 200);

  // The machine may be shared, so the baseline is measured again right before each size's endpoints.
  log(`  baseline (bare Fastify route)`);
  const baseline: Measured = { scenario: 'baseline', ...(await load(bare, 'baseline', { url: `${bare.url}/` })) };
  const endpoints: Measured[] = [];
  const unchanged = { before: size, after: size };
  if (NATIVE && ONLY.has('one')) {
    log(`  GET one (${size} custom properties)`);
    endpoints.push({ scenario: 'GET one', size: unchanged, ...(await load(app, 'GET one', { url: base + one, headers })) });
  }
  if (NATIVE && ONLY.has('list')) {
    log(`  list page (${size} custom properties)`);
    endpoints.push({ scenario: 'list page', size: unchanged, ...(await load(app, 'list page', { url: base + list, headers })) });
  }
  if (NATIVE && ONLY.has('create')) {
    // Last, because every request adds a property: the workspace grows while this runs.
    log(`  POST create (${size} custom properties and growing)`);
    const create = await load(app, 'POST create', {
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
  if (NATIVE && PROFILE_SCENARIOS.some((name) => ONLY.has(name))) endpoints.push(...(await measureProfiles(app, ws, profiles)));
  return { size, baseline, endpoints };
}

let written = 0;

/**
 * One profile at a time, as apps use the store: a read by id, an identity lookup, a PATCH of two
 * values of an existing profile, a POST of a new profile with an identity; on `profiles` profiles.
 */
async function measureProfiles(app: Server, ws: Workspace, profiles: number): Promise<Measured[]> {
  const pick = () => Math.floor(Math.random() * profiles);
  const base = app.url;
  const headers = { authorization: `Bearer ${ws.token}` };
  const json = { ...headers, 'content-type': 'application/json' };
  const path = `/v1/workspaces/${ws.id}/profiles`;
  const size = await customCount(base, ws);
  await request(base, ws.token, 'POST', `/v1/workspaces/${ws.id}/properties/batch`, {
    inputs: [
      { name: 'bench_customer', data_type: 'string', identity: { role: 'primary' } },
      { name: 'bench_tier', data_type: 'string' },
      { name: 'bench_score', data_type: 'integer' },
    ],
  }, 201);
  log(`  seeding ${fmt(profiles)} profiles`);
  const started = performance.now();
  for (let from = 0; from < profiles; from += 1000) {
    const inputs = Array.from({ length: Math.min(1000, profiles - from) }, (_, k) => ({ id: `p-${from + k}`, properties: { bench_customer: `C${from + k}`, bench_tier: 'seed', bench_score: from + k } }));
    await request(base, ws.token, 'POST', `${path}/batch`, { inputs }, 200);
  }
  log(`  seeded in ${fmt((performance.now() - started) / 1000, 1)} s`);
  const sized = { before: size + 3, after: size + 3 };
  // A broken route would be measured as fast errors: check each answers as it should first.
  await request(base, ws.token, 'GET', `${path}/p-0`, undefined, 200);
  await request(base, ws.token, 'GET', `${path}?filter[bench_customer][eq]=C0`, undefined, 200);
  const out: Measured[] = [];
  const scenario = async (name: Scenario, requests: autocannon.Request[]) => {
    if (!ONLY.has(name.toLowerCase().replace(' ', '-'))) return;
    log(`  ${name} (${fmt(profiles)} profiles and more)`);
    out.push({ scenario: name, size: sized, profiles, ...(await load(app, name, { url: base + path, requests })) });
  };
  await scenario('profile GET', [{ method: 'GET', headers, setupRequest: (r) => ({ ...r, path: `${path}/p-${pick()}` }) }]);
  await scenario('identity search', [{ method: 'GET', headers, setupRequest: (r) => ({ ...r, path: `${path}?filter[bench_customer][eq]=C${pick()}` }) }]);
  await scenario('profile PATCH', [
    { method: 'PATCH', headers: json, setupRequest: (r) => ({ ...r, path: `${path}/p-${pick()}`, body: JSON.stringify({ properties: { bench_tier: `t${++written}`, bench_score: written } }) }) },
  ]);
  await scenario('profile POST', [{ method: 'POST', headers: json, setupRequest: (r) => ({ ...r, path, body: JSON.stringify({ properties: { bench_customer: `N${++written}`, bench_tier: 'new' } }) }) }]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The vendor surfaces: list and create over the same core, each against the native figure

type VendorName = Exclude<SurfaceName, 'native'>;
type Operation = 'list' | 'create';

interface Vendor {
  name: VendorName;
  title: string;
  /** How the surface authenticates: every one takes the workspace's tenant key. */
  headers(ws: Workspace): Record<string, string>;
  listPath(ws: Workspace): string;
  /** Items in a list answer (checked before loading, and shown). */
  items(body: unknown): number;
  /**
   * `page`: one page of 100, like the native list page. `all`: every custom property of the
   * workspace in one answer (the vendor documents no paging).
   */
  listKind: 'page' | 'all';
  createPath: string;
  createStatus: number;
  createBody(ws: Workspace, n: number): unknown;
}

const VENDORS: Vendor[] = [
  {
    name: 'ocamba',
    title: 'Ocamba Hood',
    // The company is the key's default workspace: the first (here the only) one it is restricted to.
    headers: (ws) => ({ authorization: `Bearer ${ws.token}` }),
    listPath: () => '/ocamba/v1/hood/profile-properties?page=1,100',
    items: (body) => (body as { items: unknown[] }).items.length,
    listKind: 'page',
    createPath: '/ocamba/v1/hood/profile-properties',
    createStatus: 201,
    createBody: (_ws, n) => ({ label: `bench_oc_${n}`, data_type: 'text' }),
  },
  {
    name: 'hcl',
    title: 'HCL CDP',
    headers: (ws) => ({ authkey: ws.token }),
    listPath: (ws) => `/hcl/api/campaign-data-dictionary/campaignId/${ws.id}`,
    items: (body) => (body as unknown[]).length,
    listKind: 'all',
    createPath: '/hcl/api/campaign-data-dictionary',
    createStatus: 200,
    createBody: (ws, n) => ({ campaignId: ws.id, dmpDataPointCode: `bench_hcl_${n}`, dataType: 'STRING', preference: 'none', priority: 1, mergeFunction: 'UPDATE' }),
  },
  {
    name: 'lineworks',
    title: 'LINE WORKS',
    headers: (ws) => ({ authorization: `Bearer ${ws.token}` }),
    listPath: (ws) => `/lineworks/v1.0/contacts/custom-properties?domainId=${ws.id}`,
    items: (body) => (body as { customProperties: unknown[] }).customProperties.length,
    listKind: 'all',
    createPath: '/lineworks/v1.0/contacts/custom-properties',
    createStatus: 201,
    // displayName: at most 20 characters and unique in the domain ("LW 1234567").
    createBody: (ws, n) => ({ domainId: ws.id, propertyName: `bench_lw_${n}`, displayName: `LW ${n}`, propertyType: 'STRING' }),
  },
];

/** One request with the surface's own headers; its status must be `expect`. */
async function probe(base: string, headers: Record<string, string>, method: string, path: string, body: unknown, expect: number): Promise<unknown> {
  const res = await fetch(base + path, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== expect) throw new Error(`${method} ${path}: expected ${expect}, got ${res.status}: ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

interface VendorMeasured extends Omit<Measured, 'scenario'> {
  vendor: Vendor;
  operation: Operation;
  /**
   * `load`: autocannon, as every native scenario. `whole`: one client reading the whole
   * dictionary again and again (see sequential); req/s is then whole reads a second.
   */
  mode: 'load' | 'whole';
  /** Items in one list answer. */
  items?: number;
  /** The native figure it is compared with. */
  native?: Measured;
}

/** The native page size the vendor list pages are compared with. */
const NATIVE_PAGE = 100;
/** The native list's largest page: a whole-dictionary read natively takes size / 1000 requests. */
const NATIVE_MAX_PAGE = 1000;

/**
 * One client reading, one read after the other, for WARMUP then DURATION seconds: no queue, and
 * no request of the warm-up still running on the server when the measured seconds start (a
 * whole-dictionary read of 10,000 items takes a tenth of a second or more: 50 connections would
 * make each wait several seconds, near autocannon's 10 s timeout, and leave 50 of them running
 * into the next measurement). `read` answers whether the read got the status it expects.
 */
async function sequential(server: Server, read: () => Promise<boolean>): Promise<Omit<Measured, 'scenario' | 'size'>> {
  const warmUntil = performance.now() + WARMUP * 1000;
  do await read();
  while (performance.now() < warmUntil);
  const cpuBefore = await server.cpu();
  const times: number[] = [];
  let failures = 0;
  const start = performance.now();
  do {
    const t = performance.now();
    if (!(await read())) failures += 1;
    times.push(performance.now() - t);
  } while (performance.now() - start < DURATION * 1000);
  const elapsed = (performance.now() - start) / 1000;
  const cpu = (await server.cpu()) - cpuBefore;
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)];
  return { rps: times.length / elapsed, p50: at(0.5), p99: at(0.99), cpuPerRequest: cpu / times.length, failures };
}

/**
 * The native way to read the same custom properties a vendor lists whole: `?system=false` pages
 * of 1000 (the native maximum), following `next_cursor`. Bodies are read as text on both sides,
 * so the client does the same work for either; the cursor is taken from the end of the body
 * (`next_cursor` is the page's last field). Answers the items read, or undefined on a failure.
 */
function nativeWholeRead(base: string, ws: Workspace, parse = false): () => Promise<number | undefined> {
  const headers = { authorization: `Bearer ${ws.token}` };
  return async () => {
    let cursor: string | null = null;
    let items = 0;
    do {
      const query = `system=false&limit=${NATIVE_MAX_PAGE}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const res = await fetch(`${base}/v1/workspaces/${ws.id}/properties?${query}`, { headers });
      const text = await res.text();
      if (res.status !== 200) return undefined;
      if (parse) {
        const page = JSON.parse(text) as { data: unknown[]; next_cursor: string | null };
        items += page.data.length;
        cursor = page.next_cursor;
      } else {
        const tail = /"next_cursor":(null|"(?:[^"\\]|\\.)*")\}$/.exec(text);
        if (!tail) return undefined;
        cursor = JSON.parse(tail[1]) as string | null;
      }
    } while (cursor !== null);
    return items;
  };
}

/** Measured only for the operations BENCH_ONLY allows; compared only when the native API ran. */
async function measureVendors(app: Server, adminToken: string, size: number, native: Measured[]): Promise<VendorMeasured[]> {
  const base = app.url;
  const out: VendorMeasured[] = [];
  const nativeOf = (scenario: Scenario) => native.find((m) => m.scenario === scenario);
  for (const vendor of VENDORS.filter((v) => SURFACES.has(v.name))) {
    // A workspace of its own, seeded like the native one: the native create has grown that one,
    // and a list of every custom property (HCL, LINE WORKS) would then list thousands more.
    log(`  ${vendor.title}: seeding a workspace of ${size} custom properties`);
    const ws = await setUpWorkspace(base, adminToken, size);
    const headers = vendor.headers(ws);
    if (ONLY.has('list')) {
      const path = vendor.listPath(ws);
      // A broken route would be measured as fast errors: check it answers as it should first.
      const items = vendor.items(await probe(base, headers, 'GET', path, undefined, 200));
      // A page holds 100 of the custom and system properties; a whole list every custom one.
      const ok = vendor.listKind === 'page' ? items === NATIVE_PAGE || (items > 0 && size < NATIVE_PAGE) : items === size;
      if (!ok) throw new Error(`${vendor.title} list: ${items} items in a workspace of ${size} custom properties`);
      if (vendor.listKind === 'page' || size <= NATIVE_PAGE) {
        // No more items than the native list page (a whole list of 100 custom properties holds
        // as many as the page of system and custom ones): the same load, compared with it.
        log(`  ${vendor.title} list (${size} custom properties, ${fmt(items)} items an answer)`);
        const m = await load(app, `${vendor.title} list`, { url: base + path, headers });
        out.push({ vendor, operation: 'list', mode: 'load', size: { before: size, after: size }, items, native: nativeOf('list page'), ...m });
      } else {
        // Every custom property in one answer, which no native request returns: compared with
        // the native read of the same items (pages of 1000), one client each, one read at a time.
        let nativeWhole: Measured | undefined;
        if (NATIVE) {
          const read = nativeWholeRead(base, ws);
          const checked = await nativeWholeRead(base, ws, true)();
          if (checked !== size) throw new Error(`native whole read: ${checked} items in a workspace of ${size} custom properties`);
          log(`  native whole dictionary (${fmt(size)} items in pages of ${NATIVE_MAX_PAGE}, one client)`);
          // Labelled as the list page it pages through; only its figures are shown.
          nativeWhole = { scenario: 'list page', size: { before: size, after: size }, ...(await sequential(app, async () => (await read()) !== undefined)) };
        }
        log(`  ${vendor.title} list, whole dictionary (${fmt(items)} items an answer, one client)`);
        const m = await sequential(app, async () => {
          const res = await fetch(base + path, { headers });
          await res.text();
          return res.status === 200;
        });
        out.push({ vendor, operation: 'list', mode: 'whole', size: { before: size, after: size }, items, native: nativeWhole, ...m });
      }
    }
    if (ONLY.has('create')) {
      // The check creates one property; the count shown starts after it.
      await probe(base, headers, 'POST', vendor.createPath, vendor.createBody(ws, ++created), vendor.createStatus);
      const before = await customCount(base, ws);
      log(`  ${vendor.title} create (${before} custom properties and growing)`);
      const m = await load(app, `${vendor.title} create`, {
        url: base + vendor.createPath,
        requests: [
          {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/json' },
            // A new, unique property per request, from the counter the native create uses.
            setupRequest: (request) => ({ ...request, body: JSON.stringify(vendor.createBody(ws, ++created)) }),
          },
        ],
      });
      out.push({ vendor, operation: 'create', mode: 'load', size: { before, after: await customCount(base, ws) }, native: nativeOf('POST create'), ...m });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reporting (Markdown tables, so a run can be pasted into docs/benchmarks.md)

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
/** Ratios are cut, not rounded, so a shown ratio never reaches a target the real one misses. */
const fmtRatio = (n: number) => (Math.floor(n * 100) / 100).toFixed(2);
const verdict = (ok: boolean) => (ok ? 'pass' : '**MISS**');
const invalid = (m: Pick<Measured, 'failures'>) => (m.failures > 0 ? `**INVALID** (${fmt(m.failures)} failed)` : undefined);

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function report(phases: Phase[]): string {
  const rows = phases.flatMap(({ size, baseline, endpoints }) =>
    [baseline, ...endpoints].map((m) => {
      const ratio = m.rps / baseline.rps;
      const target = m.scenario === 'baseline' ? undefined : targetOf(m.scenario);
      const custom = m.size === undefined ? `(${fmt(size)} run)` : m.size.before === m.size.after ? fmt(m.size.before) : `${fmt(m.size.before)} → ${fmt(m.size.after)}`;
      const props = m.profiles === undefined ? custom : `${custom} (${fmt(m.profiles)} profiles)`;
      const result = invalid(m) ?? (target === undefined ? '–' : verdict(ratio >= target));
      // What the ratio would be if both servers had a whole core: steadier than req/s on a shared machine.
      const cpuRatio = baseline.cpuPerRequest / m.cpuPerRequest;
      const goal = target === undefined ? '–' : `≥ ${target}`;
      return [m.scenario, props, fmt(m.rps), fmt(m.p50, 1), fmt(m.p99, 1), fmt(m.cpuPerRequest), fmtRatio(ratio), fmtRatio(cpuRatio), goal, result];
    }),
  );
  const head = ['scenario', 'custom properties', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', '× baseline', '(by CPU)', 'target', 'result'];
  const out = [table(head, rows)];

  // The issue's reading: each larger workspace's req/s against the smallest one's. CPU µs/req is
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

/** Each vendor's list and create beside the native figure of the same operation, per size. */
function vendorReport(phases: Phase[]): string | undefined {
  const row = (m: VendorMeasured) => {
    const n = m.native;
    const ratio = n === undefined ? undefined : m.rps / n.rps;
    const cpuRatio = n === undefined ? undefined : n.cpuPerRequest / m.cpuPerRequest;
    const props = m.size === undefined ? '–' : m.size.before === m.size.after ? fmt(m.size.before) : `${fmt(m.size.before)} → ${fmt(m.size.after)}`;
    const result = invalid(m) ?? (n && invalid(n)) ?? (ratio === undefined ? '–' : verdict(ratio >= VENDOR_TARGET));
    const digits = m.mode === 'whole' ? 1 : 0;
    return [
      m.vendor.title,
      m.operation,
      props,
      m.items === undefined ? '–' : fmt(m.items),
      fmt(m.rps, digits),
      fmt(m.p50, 1),
      fmt(m.p99, 1),
      fmt(m.cpuPerRequest),
      n === undefined ? '–' : fmt(n.rps, digits),
      n === undefined ? '–' : fmt(n.cpuPerRequest),
      ratio === undefined ? '–' : fmtRatio(ratio),
      cpuRatio === undefined ? '–' : fmtRatio(cpuRatio),
      `≥ ${VENDOR_TARGET}`,
      result,
    ];
  };
  const head = ['vendor', 'operation', 'custom properties', 'items', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'native req/s', 'native CPU µs/req', '× native', '(by CPU)', 'target', 'result'];
  const blocks: string[] = [];
  for (const { size, vendors } of phases) {
    const loaded = vendors.filter((m) => m.mode === 'load');
    const whole = vendors.filter((m) => m.mode === 'whole');
    if (loaded.length > 0) {
      const title = `${fmt(size)}-property run: ${CONNECTIONS} connections; list against the native list page (${NATIVE_PAGE} items), create against the native create`;
      blocks.push(`${title}\n\n${table(head, loaded.map(row))}`);
    }
    if (whole.length > 0) {
      const pages = Math.ceil(size / NATIVE_MAX_PAGE);
      const wholeHead = head.map((h) => ({ 'req/s': 'reads/s', 'CPU µs/req': 'CPU µs/read', 'native req/s': 'native reads/s', 'native CPU µs/req': 'native CPU µs/read' })[h] ?? h);
      const title = `${fmt(size)}-property run, whole dictionary: one client, one read at a time; the vendor's one answer of every custom property against the native read of the same items in pages of ${fmt(NATIVE_MAX_PAGE)} (${pages} request${pages === 1 ? '' : 's'})`;
      blocks.push(`${title}\n\n${table(wholeHead, whole.map(row))}`);
    }
  }
  return blocks.length > 0 ? blocks.join('\n\n') : undefined;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const adminToken = `bench-${randomBytes(16).toString('hex')}`;
  const machine = `${availableParallelism()} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}`;
  log(`propdict bench: ${CONNECTIONS} connections, ${WARMUP} s warm-up + ${DURATION} s per scenario, workspaces of ${SIZES.join(' and ')} properties; surfaces ${[...SURFACES].join(', ')}`);
  log(machine);

  const bare = await startServer('./serve-baseline.ts');
  const phases: Phase[] = [];
  let database = 'SQLite';
  try {
    // A fresh app and database per size, so one size's writes do not weigh on the other's figures.
    for (const [index, size] of SIZES.map(Number).entries()) {
      // No DATABASE_URL: serve-app.ts then serves a new SQLite file of its own, whatever the caller's environment holds.
      const pgSchema = PG_URL === undefined ? undefined : await postgresSchema(PG_URL, 'bench_run');
      if (pgSchema) database = `PostgreSQL ${pgSchema.version}`;
      const server = await startServer('./serve-app.ts', { ...process.env, DATABASE_URL: pgSchema?.url, PROPDICT_ADMIN_TOKEN: adminToken, ...VENDOR_LIMITS_OFF }, CPU_PROF_DIR);
      try {
        log(`seeding ${size} custom properties`);
        const started = performance.now();
        const ws = await setUpWorkspace(server.url, adminToken, size);
        log(`  seeded in ${fmt((performance.now() - started) / 1000, 1)} s`);
        const phase = await measurePhase(bare, server, ws, profilesAt(index));
        phases.push({ ...phase, vendors: await measureVendors(server, adminToken, size, phase.endpoints) });
      } finally {
        await server.stop();
        await pgSchema?.drop();
      }
    }
  } finally {
    await bare.stop();
  }

  process.stdout.write(`\npropdict bench, ${new Date().toISOString().slice(0, 10)}; ${machine}; ${database}; ${CONNECTIONS} connections, ${DURATION} s each\n\n`);
  process.stdout.write(`${report(phases)}\n`);
  const vendors = vendorReport(phases);
  if (vendors) process.stdout.write(`\nVendor surfaces against the native API (vendor rate limits off, LINE WORKS cap raised)\n\n${vendors}\n`);
  // A missed target is a finding, not a failure: the exit code stays 0.
}

await main();
