// In-process CPU per request of the profile reads (no sockets): the real app through
// `app.inject`, `BENCH_CONCURRENCY` requests at a time, on SQLite (or BENCH_DATABASE_URL's
// PostgreSQL, a new schema dropped at the end). Steadier than req/s on a shared machine: only
// this process's CPU time is counted, and no other process's scheduling sits in it. Prints, per
// scenario, the best of BENCH_ROUNDS rounds of BENCH_REQUESTS requests, the statements sent per
// request and the dictionary's cache misses.
// `npx node bench/in-process.ts` (BENCH_ONLY=profile-get,identity-search; BENCH_PROFILES=2000;
// BENCH_SIZES=100: custom properties).
import { createTestApp, createTenancy, expectStatus } from '../test/helpers/app.ts';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const PROFILES = env('BENCH_PROFILES', 2000);
const PROPERTIES = env('BENCH_SIZES', 100);
const REQUESTS = env('BENCH_REQUESTS', 2000);
const ROUNDS = env('BENCH_ROUNDS', 3);
const CONCURRENCY = env('BENCH_CONCURRENCY', 50);
const ONLY = (process.env.BENCH_ONLY || 'profile-get,identity-search').split(',');
if (process.env.BENCH_DATABASE_URL) process.env.TEST_DATABASE_URL = process.env.BENCH_DATABASE_URL;
// After TEST_DATABASE_URL is set: the dialects are read from it when the module loads.
const { dialects } = await import('../test/helpers/dialects.ts');
const dialect = process.env.BENCH_DATABASE_URL ? dialects.find((d) => d.name === 'postgres')! : dialects[0];

let statements = 0;
// Reads of every definition of the workspace (the dictionary's cache misses that reached the database).
let dictionaryReads = 0;
const t = await createTestApp(dialect, {
  propertyLimit: PROPERTIES + 10,
  onQuery: (sql) => {
    statements++;
    if (/^select .* from "properties" where "workspace_id" = \S+ order by/.test(sql)) dictionaryReads++;
  },
});
try {
  const ten = await createTenancy(t);
  const base = `/v1/workspaces/${ten.workspaceId}`;
  const send = async (method: 'GET' | 'POST', url: string, payload?: unknown, status = 200) => {
    const res = await t.request({ method, url: base + url, payload: payload as object, token: ten.token });
    expectStatus(res, status);
    return res;
  };
  for (let from = 0; from < PROPERTIES; from += 100) {
    const inputs = Array.from({ length: Math.min(100, PROPERTIES - from) }, (_, k) => ({ name: `seed_${from + k}`, data_type: 'string' }));
    await send('POST', '/properties/batch', { inputs }, 201);
  }
  await send('POST', '/properties/batch', {
    inputs: [
      { name: 'bench_customer', data_type: 'string', identity: { role: 'primary' } },
      { name: 'bench_tier', data_type: 'string' },
      { name: 'bench_score', data_type: 'integer' },
    ],
  }, 201);
  for (let from = 0; from < PROFILES; from += 1000) {
    const inputs = Array.from({ length: Math.min(1000, PROFILES - from) }, (_, k) => ({ id: `p-${from + k}`, properties: { bench_customer: `C${from + k}`, bench_tier: 'seed', bench_score: from + k } }));
    await send('POST', '/profiles/batch', { inputs });
  }
  const pick = () => Math.floor(Math.random() * PROFILES);
  const scenarios: Record<string, () => string> = {
    'profile-get': () => `/profiles/p-${pick()}`,
    'identity-search': () => `/profiles?filter[bench_customer][eq]=C${pick()}`,
  };
  const headers = { authorization: `Bearer ${ten.token}` };
  const dictionary = t.services.properties.cacheStats;
  for (const name of ONLY) {
    const url = scenarios[name];
    const results: { cpu: number; ms: number; statements: number; misses: number; reads: number }[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      const s0 = statements, m0 = dictionary.misses, r0 = dictionaryReads;
      const c0 = process.cpuUsage(), t0 = performance.now();
      let next = 0;
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < REQUESTS) {
          const res = await t.app.inject({ method: 'GET', url: base + url(), headers });
          if (res.statusCode !== 200) throw new Error(`${res.statusCode}: ${res.body}`);
          // As a server's event loop turns between requests: timers run (the caches' expiry).
          await new Promise((resolve) => setImmediate(resolve));
        }
      }));
      const c = process.cpuUsage(c0);
      // Round 0 warms up.
      if (round > 0) results.push({ cpu: (c.user + c.system) / REQUESTS, ms: performance.now() - t0, statements: (statements - s0) / REQUESTS, misses: dictionary.misses - m0, reads: dictionaryReads - r0 });
    }
    const best = results.toSorted((a, b) => a.cpu - b.cpu)[0];
    console.log(`${name}: CPU µs/req ${results.map((r) => r.cpu.toFixed(0)).join(' ')} (best ${best.cpu.toFixed(0)}), wall ms ${results.map((r) => r.ms.toFixed(0)).join(' ')}, statements/req ${best.statements.toFixed(2)}, dictionary misses ${results.map((r) => r.misses).join(' ')}, dictionary reads ${results.map((r) => r.reads).join(' ')}`);
  }
} finally {
  await t.close();
}
