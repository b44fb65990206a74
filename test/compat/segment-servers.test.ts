// Two server processes on one database sharing Redis: a write key revoked through one fails at
// once on the other (which had it cached), and a message id seen by one is a repeat on the other.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REDIS_URL, redisMissing } from '../helpers/redis.ts';

const OPERATOR = 'segment-operator-token-0000';

const noRedis = await redisMissing();

describe('Segment calls spread over two servers', { skip: noRedis }, () => {
  const cli = join(import.meta.dirname, '..', '..', 'src', 'cli.ts');
  let dir: string;
  const servers: { kill(): void; exited: Promise<unknown> }[] = [];
  const bases: string[] = [];
  let ws: string;
  let sourceId: number;

  const api = async (method: string, path: string, body?: unknown, expect = 200) => {
    const res = await fetch(`${bases[0]}${path}`, {
      method,
      headers: { authorization: `Bearer ${OPERATOR}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    assert.equal(res.status, expect, text);
    return text === '' ? undefined : JSON.parse(text);
  };
  const identify = async (server: number, key: string, body: unknown) => {
    const res = await fetch(`${bases[server]}/segment/v1/identify`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { success: boolean; message?: string } };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'propdict-segment-'));
    const env = { ...process.env, DATABASE_URL: `sqlite:${join(dir, 'shared.db')}`, PROPDICT_ADMIN_TOKEN: OPERATOR, REDIS_URL, LOG_LEVEL: 'info', PORT: '0' };
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
    const tenant = await api('POST', '/v1/tenants', { name: 'Shared' }, 201);
    ws = `/v1/workspaces/${(await api('POST', `/v1/tenants/${tenant.id}/workspaces`, { name: 'ws' }, 201)).id}`;
    await api('POST', `${ws}/properties`, { name: 'user_id', data_type: 'string', identity: { role: 'primary' } }, 201);
    await api('POST', `${ws}/properties`, { name: 'visits', data_type: 'integer', merge_function: 'sum' }, 201);
    sourceId = (await api('POST', `${ws}/sources`, { name: 'app', user_id_property: 'user_id' }, 201)).id;
  });

  after(async () => {
    for (const s of servers) s.kill();
    await Promise.all(servers.map((s) => s.exited));
    rmSync(dir, { recursive: true, force: true });
  });

  test('a write key revoked through one server fails at once on the other', async () => {
    const key = await api('POST', `${ws}/sources/${sourceId}/write-keys`, undefined, 201);
    assert.deepEqual(await identify(1, key.key, { userId: 'r-1' }), { status: 200, body: { success: true } });
    await api('DELETE', `${ws}/sources/${sourceId}/write-keys/${key.id}`, undefined, 204);
    // The message travels through Redis; give it a moment, far below the cache's 5 s.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const refused = await identify(1, key.key, { userId: 'r-2' });
    assert.equal(refused.status, 401, JSON.stringify(refused.body));
    assert.equal(refused.body.success, false);
  });

  test('a message id written through one server is a repeat on the other', async () => {
    const key = await api('POST', `${ws}/sources/${sourceId}/write-keys`, undefined, 201);
    const call = { userId: 'd-1', traits: { visits: 1 }, messageId: 'shared-1' };
    assert.deepEqual(await identify(0, key.key, call), { status: 200, body: { success: true } });
    assert.deepEqual(await identify(1, key.key, call), { status: 200, body: { success: true } });
    const found = await api('GET', `${ws}/profiles?filter[user_id][eq]=d-1`);
    assert.deepEqual(found.data.map((p: { properties: unknown }) => p.properties), [{ user_id: 'd-1', visits: 1 }]);
  });
});
