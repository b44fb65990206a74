// Faults of real server processes on SQLite: two servers on one file, SIGTERM while busy, slow
// and stalled clients, and a Redis shared by two deployments. Each test says which fault it
// reproduces; every process started here is stopped in `after`, whatever happened.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { call, startServer, tenancy, type ServerProcess } from './helpers/process.ts';
import { REDIS_URL, redisMissing } from './helpers/redis.ts';

/** A raw HTTP exchange: what the server sent until it closed the connection, and when it closed. */
function rawExchange(port: number): { socket: Socket; connected: Promise<void>; closed: Promise<{ text: string; at: number; answeredAt: number }> } {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  let answeredAt = 0;
  socket.on('data', (chunk) => {
    text += chunk.toString();
    answeredAt ||= Date.now();
  });
  socket.on('error', () => {});
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const closed = new Promise<{ text: string; at: number; answeredAt: number }>((resolve) => socket.once('close', () => resolve({ text, at: Date.now(), answeredAt })));
  return { socket, connected, closed };
}

const write = (socket: Socket, data: string) => new Promise<void>((resolve, reject) => socket.write(data, (error) => (error ? reject(error) : resolve())));

describe('two servers on one SQLite file', () => {
  let dir: string;
  let a: ServerProcess | undefined;
  let b: ServerProcess | undefined;
  let t: Awaited<ReturnType<typeof tenancy>>;
  let withRedis = false;
  const prefixes = [`pdtest-a-${process.pid}:`, `pdtest-b-${process.pid}:`];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'propdict-shared-'));
    withRedis = !(await redisMissing());
    // Short timeouts, so that the slow-client tests below take seconds; a low Ocamba budget, so
    // that the Redis prefix test sees counts kept apart.
    const env = (i: number) => ({
      DATABASE_URL: `sqlite:${join(dir, 'shared.db')}`,
      PROPDICT_HEADERS_TIMEOUT_MS: '1000',
      PROPDICT_REQUEST_TIMEOUT_MS: '2000',
      PROPDICT_IDLE_TIMEOUT_MS: '1000',
      PROPDICT_OCAMBA_PER_SECOND: '0',
      PROPDICT_OCAMBA_PER_MINUTE: '2',
      ...(withRedis ? { REDIS_URL, PROPDICT_REDIS_PREFIX: prefixes[i] } : {}),
    });
    a = await startServer(env(0));
    b = await startServer(env(1));
    t = await tenancy(a.url);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    if (withRedis) {
      const redis = new Redis(REDIS_URL);
      for (const prefix of prefixes) {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
      }
      await redis.quit();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('parallel batches carrying one new email, on both servers: no 5xx, one profile', async () => {
    const email = `shared-${Date.now()}@example.com`;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(i % 2 ? b!.url : a!.url, 'POST', `/v1/workspaces/${t.workspaceId}/profiles/batch`, { token: t.token, body: { inputs: [{ properties: { email } }] } }),
      ),
    );
    for (const res of answers) {
      assert.equal(res.status, 200, res.raw);
      assert.ok(['created', 'updated'].includes(res.body.results[0].status), res.raw);
    }
    const ids = new Set(answers.map((res) => res.body.results[0].id));
    assert.equal(ids.size, 1, `every record resolved to one profile: ${[...ids].join(', ')}`);
    const found = await call(a!.url, 'GET', `/v1/workspaces/${t.workspaceId}/profiles?filter[email][eq]=${encodeURIComponent(email)}`, { token: t.token });
    assert.equal(found.status, 200, found.raw);
    assert.equal(found.body.data.length, 1, found.raw);
  });

  test('parallel creates of one property name, on both servers: one 201, the rest 409, never 5xx', async () => {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        call(i % 2 ? b!.url : a!.url, 'POST', `/v1/workspaces/${t.workspaceId}/properties`, { token: t.token, body: { name: 'race_prop', data_type: 'string' } }),
      ),
    );
    const statuses = answers.map((res) => res.status);
    assert.equal(statuses.filter((s) => s === 201).length, 1, `one create: ${statuses.join(' ')}`);
    for (const res of answers.filter((r) => r.status !== 201)) {
      assert.equal(res.status, 409, res.raw);
      assert.equal(res.body.error.code, 'ALREADY_EXISTS', res.raw);
    }
    const file = new DatabaseSync(join(dir, 'shared.db'), { readOnly: true });
    try {
      const row = file.prepare("select count(*) as n from properties where workspace_id = ? and name_key = 'race_prop'").get(t.workspaceId) as { n: number };
      assert.equal(row.n, 1);
    } finally {
      file.close();
    }
  });

  test('a request whose headers never finish is answered 408 and closed (slowloris)', async () => {
    const { socket, connected, closed } = rawExchange(a!.port);
    await connected;
    const started = Date.now();
    await write(socket, 'GET /healthz HTTP/1.1\r\nHost: x\r\n');
    // One more header line every 200 ms: never the blank line that ends them.
    const drip = setInterval(() => socket.writable && socket.write('X-Drip: 1\r\n'), 200);
    const { text, at } = await closed;
    clearInterval(drip);
    assert.match(text, /^HTTP\/1\.1 408 /, text);
    assert.ok(at - started < 5000, `closed after ${at - started} ms`);
  });

  test('a request whose body stops arriving is answered 408 and closed', async () => {
    const { socket, connected, closed } = rawExchange(a!.port);
    await connected;
    const started = Date.now();
    await write(socket, `POST /v1/workspaces/${t.workspaceId}/profiles HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"prop`);
    const { text, at } = await closed;
    assert.match(text, /^HTTP\/1\.1 408 /, text);
    assert.ok(at - started < 6000, `closed after ${at - started} ms`);
  });

  test('an idle kept-alive connection is closed', async () => {
    const { socket, connected, closed } = rawExchange(a!.port);
    await connected;
    await write(socket, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const { text, at, answeredAt } = await closed;
    assert.match(text, /^HTTP\/1\.1 200 [^]*\{"status":"ok"\}$/, text);
    // PROPDICT_IDLE_TIMEOUT_MS is 1000 here.
    assert.ok(at - answeredAt >= 900 && at - answeredAt < 5000, `closed ${at - answeredAt} ms after the answer`);
  });

  test('two deployments sharing a Redis keep their own rate-limit counts and channels (PROPDICT_REDIS_PREFIX)', async (ctx) => {
    if (!withRedis) return ctx.skip(`no Redis at ${REDIS_URL}`);
    const ocamba = (server: ServerProcess) => call(server.url, 'GET', '/ocamba/v1/hood/profile-properties', { token: t.token });
    // A's budget of 2 a minute is spent on A alone; B, with the same tenant, still has its own.
    assert.equal((await ocamba(a!)).status, 200);
    assert.equal((await ocamba(a!)).status, 200);
    const refused = await ocamba(a!);
    assert.equal(refused.status, 429, refused.raw);
    const other = await ocamba(b!);
    assert.equal(other.status, 200, other.raw);

    const redis = new Redis(REDIS_URL);
    try {
      for (const prefix of prefixes) {
        const keys = await redis.keys(`${prefix}*`);
        assert.ok(keys.length > 0 && keys.every((k) => k.startsWith(`${prefix}rl:`)), `${prefix}: ${keys.join(', ')}`);
        const channels = (await redis.call('PUBSUB', 'CHANNELS', `${prefix}*`)) as string[];
        assert.ok(channels.includes(`${prefix}dictionary-changed`), `${prefix}: ${channels.join(', ')}`);
      }
    } finally {
      await redis.quit();
    }
  });
});
