// Rate limits: the window logic on a controlled clock, the native per-key limits through the
// API, and one limit shared by two server processes through Redis.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createMemoryStore, createRateLimiter, type CounterStore, type Window } from '../src/modules/rate-limits/rate-limiter.ts';
import { createRedisStore } from '../src/modules/rate-limits/redis-store.ts';
import { createTenancy, createTestApp, expectError, expectStatus } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A clock the test moves by hand. */
function manualClock(start = Date.UTC(2026, 10, 23, 12, 0, 0)) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => void (now += ms) };
}

async function redisAvailable(): Promise<boolean> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}
const redisUp = await redisAvailable();
const noRedis = redisUp ? false : `no Redis answers at ${REDIS_URL}`;
if (!redisUp) console.log(`# skipping the Redis rate-limit tests: ${noRedis}`);

const secondAndMinute: Window[] = [
  { name: 'second', limit: 3, ms: 1000 },
  { name: 'minute', limit: 5, ms: 60_000 },
];

function windowLogic(name: string, makeStore: (clock: ReturnType<typeof manualClock>) => CounterStore, skip: string | false = false) {
  describe(`window logic [${name}]`, { skip }, () => {
    test('both windows are enforced and refusals do not spend the budget', async () => {
      const clock = manualClock();
      const store = makeStore(clock);
      const limiter = createRateLimiter({ store, clock });
      const subject = `t-${randomBytes(4).toString('hex')}`;
      const hit = () => limiter.hit(subject, secondAndMinute);
      try {
        const first = await Promise.all([hit(), hit(), hit()]);
        assert.deepEqual(first.map((d) => d.allowed), [true, true, true]);
        const fourth = await hit();
        assert.equal(fourth.allowed, false);
        assert.equal(fourth.tightest.name, 'second');
        assert.equal(fourth.retryAfterMs, 1000);

        clock.advance(1000);
        const next = await hit();
        assert.equal(next.allowed, true);
        assert.deepEqual(next.windows.map((w) => [w.name, w.remaining]), [['second', 2], ['minute', 1]]);
        // The refused 4th request did not count: one left in the minute.
        assert.equal((await hit()).allowed, true);
        const overMinute = await hit();
        assert.equal(overMinute.allowed, false);
        assert.equal(overMinute.tightest.name, 'minute');
        assert.equal(overMinute.retryAfterMs, 59_000);

        clock.advance(59_000);
        assert.equal((await hit()).allowed, true);
      } finally {
        await store.close();
      }
    });

    test('subjects are counted apart', async () => {
      const clock = manualClock();
      const store = makeStore(clock);
      const limiter = createRateLimiter({ store, clock });
      const tag = randomBytes(4).toString('hex');
      try {
        for (let i = 0; i < 3; i++) await limiter.hit(`a-${tag}`, secondAndMinute);
        assert.equal((await limiter.hit(`a-${tag}`, secondAndMinute)).allowed, false);
        assert.equal((await limiter.hit(`b-${tag}`, secondAndMinute)).allowed, true);
      } finally {
        await store.close();
      }
    });
  });
}

windowLogic('in-process', (clock) => createMemoryStore(clock));
windowLogic('redis', () => createRedisStore(REDIS_URL, 'propdict-test:'), noRedis);

for (const dialect of dialects) {
  describe(`native per-key limits [${dialect.name}]`, () => {
    const clock = manualClock();
    let t: Awaited<ReturnType<typeof createTestApp>>;
    before(async () => {
      t = await createTestApp(dialect, { clock });
    });
    after(() => t.close());

    test('a key without rate_limit is not limited and gets no headers', async () => {
      const a = await createTenancy(t, 'Free');
      const res = await t.request({ method: 'GET', url: `/v1/workspaces/${a.workspaceId}/limits`, token: a.token });
      expectStatus(res, 200);
      assert.equal(res.headers.ratelimit, undefined);
    });

    test('a limited key gets IETF headers, then 429 RATE_LIMITED with Retry-After', async () => {
      const a = await createTenancy(t, 'Metered');
      const created = await t.request({
        method: 'POST',
        url: `/v1/tenants/${a.tenantId}/api-keys`,
        payload: { name: 'metered', scopes: ['properties:read'], rate_limit: { per_second: 2, per_minute: 3 } },
      });
      expectStatus(created, 201);
      assert.deepEqual(created.body.rate_limit, { per_second: 2, per_minute: 3 });
      const get = () => t.request({ method: 'GET', url: `/v1/workspaces/${a.workspaceId}/limits`, token: created.body.token });

      const first = await get();
      expectStatus(first, 200);
      assert.equal(first.headers['ratelimit-policy'], '"per_second";q=2;w=1, "per_minute";q=3;w=60');
      assert.equal(first.headers.ratelimit, '"per_second";r=1;t=1');
      expectStatus(await get(), 200);
      const refused = await get();
      expectError(refused, 429, 'RATE_LIMITED');
      assert.equal(refused.headers['retry-after'], '1');

      clock.advance(1000);
      const third = await get();
      expectStatus(third, 200);
      assert.equal(third.headers.ratelimit, '"per_minute";r=0;t=59');
      const minute = await get();
      expectError(minute, 429, 'RATE_LIMITED');
      assert.equal(minute.headers['retry-after'], '59');
    });
  });
}

describe('two server processes sharing Redis', { skip: noRedis }, () => {
  const cli = join(import.meta.dirname, '..', 'src', 'cli.ts');
  let dir: string;
  const servers: { kill(): void; exited: Promise<unknown> }[] = [];
  const bases: string[] = [];
  let token: string;
  let workspaceId: number;
  let tenantId: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'propdict-redis-'));
    const env = { ...process.env, DATABASE_URL: `sqlite:${join(dir, 'shared.db')}`, PROPDICT_ADMIN_TOKEN: 'redis-operator-token-0000', REDIS_URL, LOG_LEVEL: 'info', PORT: '0' };
    const run = (args: string[]) => {
      const res = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8' });
      assert.equal(res.status, 0, res.stderr);
      return JSON.parse(res.stdout);
    };
    const tenant = run(['tenants', 'create', '--name', 'Shared']);
    tenantId = tenant.id;
    workspaceId = run(['workspaces', 'create', '--tenant', String(tenant.id), '--name', 'ws']).id;
    // The limited key is made through the API, which takes rate_limit.
    for (let i = 0; i < 2; i++) {
      const child = spawn(process.execPath, [cli, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      servers.push({ kill: () => child.kill('SIGTERM'), exited });
      bases.push(
        await new Promise<string>((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (c: Buffer) => {
            out += c.toString();
            const m = out.match(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/);
            if (m) resolve(m[1]);
          });
          child.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
        }),
      );
    }
    const limited = await fetch(`${bases[0]}/v1/tenants/${tenant.id}/api-keys`, {
      method: 'POST',
      headers: { authorization: 'Bearer redis-operator-token-0000', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'limited', scopes: ['properties:read'], rate_limit: { per_minute: 4 } }),
    });
    assert.equal(limited.status, 201);
    token = ((await limited.json()) as { token: string }).token;
  });

  after(async () => {
    for (const s of servers) s.kill();
    await Promise.all(servers.map((s) => s.exited));
    rmSync(dir, { recursive: true, force: true });
  });

  test('requests spread over both servers share one budget', async () => {
    // Keep the six requests inside one minute window: near its end, wait for the next one.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 50_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - intoMinute + 50));
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${bases[i % 2]}/v1/workspaces/${workspaceId}/limits`, { headers: { authorization: `Bearer ${token}` } });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    // Separate counters would let each server pass 3 of these 6.
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
  });

  test('a key revoked through one server fails at once on the other, which had it cached', async () => {
    const headers = { authorization: 'Bearer redis-operator-token-0000', 'content-type': 'application/json' };
    const made = await fetch(`${bases[0]}/v1/tenants/${tenantId}/api-keys`, { method: 'POST', headers, body: JSON.stringify({ name: 'short-lived', scopes: ['properties:read'] }) });
    assert.equal(made.status, 201);
    const key = (await made.json()) as { id: string; token: string };
    const read = () => fetch(`${bases[1]}/v1/workspaces/${workspaceId}/properties?limit=1`, { headers: { authorization: `Bearer ${key.token}` } });
    assert.equal((await read()).status, 200);
    const revoked = await fetch(`${bases[0]}/v1/tenants/${tenantId}/api-keys/${key.id}`, { method: 'DELETE', headers: { authorization: headers.authorization } });
    assert.equal(revoked.status, 204);
    // The message travels through Redis; give it a moment, far below the cache's 5 s.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await read()).status, 401);
  });

  test('a property created through one server shows at once in the cached list of the other', async () => {
    const headers = { authorization: 'Bearer redis-operator-token-0000', 'content-type': 'application/json' };
    const list = async () => {
      const res = await fetch(`${bases[1]}/v1/workspaces/${workspaceId}/properties?system=false`, { headers: { authorization: headers.authorization } });
      assert.equal(res.status, 200);
      return ((await res.json()) as { data: { name: string }[] }).data.map((p) => p.name);
    };
    const before = await list();
    const created = await fetch(`${bases[0]}/v1/workspaces/${workspaceId}/properties`, { method: 'POST', headers, body: JSON.stringify({ name: 'shared_cache_probe', data_type: 'string' }) });
    assert.equal(created.status, 201);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(await list(), [...before, 'shared_cache_probe']);
  });
});
