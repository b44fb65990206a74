// Rate limits: the window logic, the native per-key limits and Segment's per-source ones through
// the API, and one limit (and the caches) shared by two servers through Redis, all on a clock the
// test moves.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { Kysely } from 'kysely';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db/create-db.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import type { Database } from '../src/db/schema.ts';
import { createMemoryStore, createRateLimiter, type CounterStore, type Decision, type Window } from '../src/modules/rate-limits/rate-limiter.ts';
import { createRedisStore } from '../src/modules/rate-limits/redis-store.ts';
import { createTenancy, createTestApp, expectError, expectStatus, OPERATOR_TOKEN, type Response } from './helpers/app.ts';
import { dialects, type TestDialect } from './helpers/dialects.ts';
import { REDIS_URL, redisMissing } from './helpers/redis.ts';

/** A clock the test moves by hand. */
function manualClock(start = Date.UTC(2026, 10, 23, 12, 0, 0)) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => void (now += ms) };
}

const noRedis = await redisMissing();
if (noRedis) console.log(`# skipping the Redis rate-limit tests: ${noRedis}`);

const show = (value: unknown) => JSON.stringify(value);

/** Asserts what a limiter decided, showing the whole decision when it differs. */
function expectDecision(d: Decision, expected: { allowed: boolean; tightest?: string; retryAfterMs?: number }): void {
  const seen = { allowed: d.allowed, ...(expected.tightest ? { tightest: d.tightest.name } : {}), ...(expected.retryAfterMs !== undefined ? { retryAfterMs: d.retryAfterMs } : {}) };
  assert.deepEqual(seen, expected, show(d));
}

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
        assert.deepEqual(first.map((d) => d.allowed), [true, true, true], show(first));
        expectDecision(await hit(), { allowed: false, tightest: 'second', retryAfterMs: 1000 });

        clock.advance(1000);
        const next = await hit();
        expectDecision(next, { allowed: true });
        assert.deepEqual(next.windows.map((w) => [w.name, w.remaining]), [['second', 2], ['minute', 1]], show(next));
        // The refused 4th request did not count: one left in the minute.
        expectDecision(await hit(), { allowed: true });
        expectDecision(await hit(), { allowed: false, tightest: 'minute', retryAfterMs: 59_000 });

        clock.advance(59_000);
        expectDecision(await hit(), { allowed: true });
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
        for (let i = 0; i < 3; i++) expectDecision(await limiter.hit(`a-${tag}`, secondAndMinute), { allowed: true });
        expectDecision(await limiter.hit(`a-${tag}`, secondAndMinute), { allowed: false });
        expectDecision(await limiter.hit(`b-${tag}`, secondAndMinute), { allowed: true });
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
      assert.equal(res.headers.ratelimit, undefined, show(res.headers));
    });

    test('a limited key gets IETF headers, then 429 RATE_LIMITED with Retry-After', async () => {
      const a = await createTenancy(t, 'Metered');
      const created = await t.request({
        method: 'POST',
        url: `/v1/tenants/${a.tenantId}/api-keys`,
        payload: { name: 'metered', scopes: ['properties:read'], rate_limit: { per_second: 2, per_minute: 3 } },
      });
      expectStatus(created, 201);
      assert.deepEqual(created.body.rate_limit, { per_second: 2, per_minute: 3 }, created.raw);
      const get = () => t.request({ method: 'GET', url: `/v1/workspaces/${a.workspaceId}/limits`, token: created.body.token });

      const first = await get();
      expectStatus(first, 200);
      assert.equal(first.headers['ratelimit-policy'], '"per_second";q=2;w=1, "per_minute";q=3;w=60', show(first.headers));
      assert.equal(first.headers.ratelimit, '"per_second";r=1;t=1', show(first.headers));
      expectStatus(await get(), 200);
      const refused = await get();
      expectError(refused, 429, 'RATE_LIMITED');
      assert.equal(refused.headers['retry-after'], '1', show(refused.headers));

      clock.advance(1000);
      const third = await get();
      expectStatus(third, 200);
      assert.equal(third.headers.ratelimit, '"per_minute";r=0;t=59', show(third.headers));
      const minute = await get();
      expectError(minute, 429, 'RATE_LIMITED');
      assert.equal(minute.headers['retry-after'], '59', show(minute.headers));
    });
  });
}

for (const dialect of dialects) {
  describe(`Segment per-source limits [${dialect.name}]`, () => {
    const clock = manualClock();
    let t: Awaited<ReturnType<typeof createTestApp>>;
    let ws: string;
    let token: string;
    const keys: Record<'first' | 'second' | 'other', string> = { first: '', second: '', other: '' };
    const native = (method: 'GET' | 'POST', url: string, payload?: object) => t.request({ method, url: `${ws}${url}`, token, ...(payload ? { payload } : {}) });
    /** An identify through /segment: the key as HTTP Basic, or in the body. */
    const identify = (key: string, userId: string, inBody = false) =>
      t.request({
        method: 'POST',
        url: '/segment/v1/identify',
        token: null,
        headers: inBody ? {} : { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` },
        payload: { userId, ...(inBody ? { writeKey: key } : {}) },
      });
    const written = async (userId: string) => {
      const res = await native('GET', `/profiles?filter[user_id][eq]=${userId}`);
      expectStatus(res, 200);
      return res.body.data.length as number;
    };
    const expectRefused = (res: Response, retryAfter: string, spent: string) => {
      expectStatus(res, 429);
      assert.deepEqual(res.body, { success: false, message: `This source's rate limit of ${spent} is reached; retry in ${retryAfter} s.` }, res.raw);
      assert.equal(res.headers['retry-after'], retryAfter, show(res.headers));
    };

    before(async () => {
      t = await createTestApp(dialect, { clock, config: { segment: { perSecond: 2, perMinute: 3 } } });
      const a = await createTenancy(t, 'Tracked');
      ws = `/v1/workspaces/${a.workspaceId}`;
      token = a.token;
      expectStatus(await native('POST', '/properties', { name: 'user_id', data_type: 'string', identity: { role: 'primary' } }), 201);
      const sources: number[] = [];
      for (const name of ['web', 'ios']) {
        const source = await native('POST', '/sources', { name, user_id_property: 'user_id' });
        expectStatus(source, 201);
        sources.push(source.body.id);
      }
      for (const [name, source] of [['first', sources[0]], ['second', sources[0]], ['other', sources[1]]] as const) {
        const made = await native('POST', `/sources/${source}/write-keys`);
        expectStatus(made, 201);
        keys[name] = made.body.key;
      }
    });
    after(() => t.close());

    test("a source's write keys share one budget, its own: 429 in Segment's envelope with Retry-After, nothing written", async () => {
      for (const res of [await identify(keys.first, 's-1'), await identify(keys.second, 's-2', true)]) {
        expectStatus(res, 200);
        assert.deepEqual(res.body, { success: true }, res.raw);
        assert.equal(res.headers['ratelimit'], undefined, show(res.headers));
      }
      expectRefused(await identify(keys.first, 's-3'), '1', '2 requests per second');
      expectRefused(await identify(keys.second, 's-3', true), '1', '2 requests per second');
      assert.equal(await written('s-3'), 0);
      // Another source of the workspace counts apart; a bad key is refused before it is counted.
      expectStatus(await identify(keys.other, 'o-1'), 200);
      expectStatus(await identify(`${keys.other.slice(0, -4)}AAAA`, 'o-2'), 401);

      clock.advance(1000);
      expectStatus(await identify(keys.second, 's-3'), 200);
      assert.equal(await written('s-3'), 1);
      expectRefused(await identify(keys.first, 's-4'), '59', '3 requests per minute');
      expectStatus(await identify(keys.other, 'o-3'), 200);
      expectStatus(await identify(keys.other, 'o-4'), 200);

      clock.advance(59_000);
      expectStatus(await identify(keys.first, 's-4'), 200);
      assert.equal(await written('s-4'), 1);
    });

    test('refusals are counted for GET /metrics under surface="segment"', async () => {
      const res = await t.request({ method: 'GET', url: '/metrics', token: OPERATOR_TOKEN });
      expectStatus(res, 200);
      assert.match(res.raw, /propdict_rate_limit_refusals_total\{surface="segment"\} 3/);
    });
  });
}

/** A database two apps can open at once: a file on SQLite, a schema of its own on PostgreSQL. */
async function sharedDatabase(dialect: TestDialect): Promise<{ url: string; drop(): Promise<void> }> {
  if (dialect.name !== 'sqlite') return dialect.fresh();
  const dir = mkdtempSync(join(tmpdir(), 'propdict-redis-'));
  return { url: `sqlite:${join(dir, 'shared.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** Asks until `check` holds: what another server learns through Redis arrives a moment later. */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what}: not seen within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

for (const dialect of dialects) {
  // Two apps as two servers would be: one database, one Redis, nothing else in common but the
  // clock the test moves.
  describe(`two servers sharing Redis [${dialect.name}]`, { skip: noRedis }, () => {
    const clock = manualClock();
    let database: Awaited<ReturnType<typeof sharedDatabase>>;
    const servers: { app: FastifyInstance; db: Kysely<Database> }[] = [];
    let a: { tenantId: number; workspaceId: number };

    const send = async (server: number, options: InjectOptions & { token?: string }): Promise<Response> => {
      const { token = OPERATOR_TOKEN, ...rest } = options;
      const res = await servers[server].app.inject({ ...rest, headers: { authorization: `Bearer ${token}`, ...rest.headers } });
      return { status: res.statusCode, headers: res.headers, body: res.body === '' ? undefined : JSON.parse(res.body), raw: res.body };
    };

    // Counters of their own: workspace and source ids repeat from one run to the next.
    const redisPrefix = `propdict-test-${randomBytes(4).toString('hex')}:`;

    before(async () => {
      database = await sharedDatabase(dialect);
      for (let i = 0; i < 2; i++) {
        const { db } = createDb(database.url);
        if (i === 0) await migrateToLatest(db);
        const config = { ...loadConfig({}), adminToken: OPERATOR_TOKEN, redisUrl: REDIS_URL, redisPrefix, segment: { perSecond: 0, perMinute: 4 } };
        const { app } = await buildApp({ db, clock, runJobs: false, config });
        await app.ready();
        servers.push({ app, db });
      }
      const tenant = await send(0, { method: 'POST', url: '/v1/tenants', payload: { name: 'Shared' } });
      expectStatus(tenant, 201);
      const ws = await send(0, { method: 'POST', url: `/v1/tenants/${tenant.body.id}/workspaces`, payload: { name: 'ws' } });
      expectStatus(ws, 201);
      a = { tenantId: tenant.body.id, workspaceId: ws.body.id };
    });

    after(async () => {
      for (const { app, db } of servers) {
        await app.close();
        await db.destroy();
      }
      await database.drop();
    });

    const createKey = async (payload: object) => {
      const res = await send(0, { method: 'POST', url: `/v1/tenants/${a.tenantId}/api-keys`, payload });
      expectStatus(res, 201);
      return res.body as { id: string; token: string };
    };

    test('requests spread over both servers share one budget', async () => {
      const key = await createKey({ name: 'limited', scopes: ['properties:read'], rate_limit: { per_minute: 4 } });
      const answers: Response[] = [];
      for (let i = 0; i < 6; i++) answers.push(await send(i % 2, { method: 'GET', url: `/v1/workspaces/${a.workspaceId}/limits`, token: key.token }));
      // Separate counters would let each server pass 3 of these 6.
      answers.slice(0, 4).forEach((res) => expectStatus(res, 200));
      answers.slice(4).forEach((res) => expectError(res, 429, 'RATE_LIMITED'));
      clock.advance(60_000);
      expectStatus(await send(1, { method: 'GET', url: `/v1/workspaces/${a.workspaceId}/limits`, token: key.token }), 200);
    });

    test('a key revoked through one server fails at once on the other, which had it cached', async () => {
      const key = await createKey({ name: 'short-lived', scopes: ['properties:read'] });
      const read = () => send(1, { method: 'GET', url: `/v1/workspaces/${a.workspaceId}/properties?limit=1`, token: key.token });
      expectStatus(await read(), 200);
      expectStatus(await send(0, { method: 'DELETE', url: `/v1/tenants/${a.tenantId}/api-keys/${key.id}` }), 204);
      // The clock stands still, so the cached key can only go because the revocation arrived.
      let last: Response | undefined;
      await eventually('the revocation on the other server', async () => (last = await read()).status === 401);
      expectError(last!, 401, 'UNAUTHENTICATED');
    });

    test('a property created through one server shows at once in the cached list of the other', async () => {
      const list = () => send(1, { method: 'GET', url: `/v1/workspaces/${a.workspaceId}/properties?system=false` });
      const before = await list();
      expectStatus(before, 200);
      expectStatus(await send(0, { method: 'POST', url: `/v1/workspaces/${a.workspaceId}/properties`, payload: { name: 'shared_cache_probe', data_type: 'string' } }), 201);
      let last: Response | undefined;
      await eventually('the new property on the other server', async () => (last = await list()).body.data.length > before.body.data.length);
      assert.deepEqual(last!.body.data.map((p: { name: string }) => p.name), [...before.body.data.map((p: { name: string }) => p.name), 'shared_cache_probe'], last!.raw);
    });

    test('Segment calls spread over both servers share their source\'s budget', async () => {
      const ws = `/v1/workspaces/${a.workspaceId}`;
      expectStatus(await send(0, { method: 'POST', url: `${ws}/properties`, payload: { name: 'user_id', data_type: 'string', identity: { role: 'primary' } } }), 201);
      const source = await send(0, { method: 'POST', url: `${ws}/sources`, payload: { name: 'web', user_id_property: 'user_id' } });
      expectStatus(source, 201);
      const key = await send(0, { method: 'POST', url: `${ws}/sources/${source.body.id}/write-keys` });
      expectStatus(key, 201);
      const identify = (server: number, userId: string) =>
        send(server, { method: 'POST', url: '/segment/v1/identify', headers: { authorization: `Basic ${Buffer.from(`${key.body.key}:`).toString('base64')}` }, payload: { userId } });
      const answers: Response[] = [];
      for (let i = 0; i < 6; i++) answers.push(await identify(i % 2, `r-${i}`));
      assert.deepEqual(answers.map((res) => res.status), [200, 200, 200, 200, 429, 429], show(answers.map((res) => res.body)));
      assert.deepEqual(answers[5].body, { success: false, message: "This source's rate limit of 4 requests per minute is reached; retry in 60 s." }, answers[5].raw);
      assert.equal(answers[5].headers['retry-after'], '60', show(answers[5].headers));
      clock.advance(60_000);
      expectStatus(await identify(1, 'r-6'), 200);
    });
  });
}
