// The process as an operator runs it: the CLI, the first start, health checks and SIGTERM.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

const cli = join(import.meta.dirname, '..', 'src', 'cli.ts');

function run(args: string[], env: Record<string, string>) {
  const res = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe('command line', () => {
  let dir: string;
  let env: Record<string, string>;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'propdict-cli-'));
    env = { DATABASE_URL: `sqlite:${join(dir, 'cli.db')}`, PROPDICT_ADMIN_TOKEN: 'cli-operator-token-000000' };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('migrate, then bootstrap a tenant, a workspace and keys', () => {
    const migrate = run(['migrate'], env);
    assert.equal(migrate.status, 0, migrate.stderr);
    assert.match(migrate.stdout, /Applied: 202611230000-initial/);
    assert.match(run(['migrate'], env).stdout, /up to date/);

    const tenant = run(['tenants', 'create', '--name', 'Acme'], env);
    assert.equal(tenant.status, 0, tenant.stderr);
    const tenantId = JSON.parse(tenant.stdout).id as number;

    const ws = run(['workspaces', 'create', '--tenant', String(tenantId), '--name', 'prod', '--id', '6335'], env);
    assert.equal(ws.status, 0, ws.stderr);
    assert.equal(JSON.parse(ws.stdout).id, 6335);

    const key = run(['keys', 'create', '--tenant', String(tenantId), '--name', 'ci', '--scopes', 'properties:read,properties:write', '--workspaces', '6335'], env);
    assert.equal(key.status, 0, key.stderr);
    const created = JSON.parse(key.stdout);
    assert.match(created.token, /^pd_/);
    assert.deepEqual(created.workspace_ids, [6335]);

    const list = run(['keys', 'list', '--tenant', String(tenantId)], env);
    assert.equal(list.status, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout).map((k: { id: string }) => k.id), [created.id]);
    assert.ok(!list.stdout.includes(created.token));

    const revoke = run(['keys', 'revoke', '--tenant', String(tenantId), '--key', created.id], env);
    assert.equal(revoke.status, 0, revoke.stderr);
    assert.deepEqual(JSON.parse(run(['keys', 'list', '--tenant', String(tenantId)], env).stdout), []);
  });

  test('bad usage and domain errors exit non-zero with a message, no stack', () => {
    const unknown = run(['frobnicate'], env);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /Unknown command "frobnicate"/);
    const missing = run(['tenants', 'create'], env);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--name is required/);
    const scopes = run(['keys', 'create', '--tenant', '1', '--name', 'x', '--scopes', 'all'], env);
    assert.equal(scopes.status, 2);
    assert.match(scopes.stderr, /unknown scopes: all/);
    const noTenant = run(['workspaces', 'create', '--tenant', '999', '--name', 'x'], env);
    assert.equal(noTenant.status, 1);
    assert.match(noTenant.stderr, /^NOT_FOUND: Tenant 999 not found\./);
    assert.doesNotMatch(noTenant.stderr, /\n\s+at /);
  });

  test('bad configuration lists every problem and exits 1', () => {
    const res = run(['migrate'], { ...env, PORT: 'x', LOG_LEVEL: 'loud' });
    assert.equal(res.status, 1);
    assert.match(res.stderr, /PORT must be/);
    assert.match(res.stderr, /LOG_LEVEL must be/);
  });
});

describe('serve', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'propdict-serve-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function start(env: Record<string, string>) {
    const child = spawn(process.execPath, [cli, 'serve'], {
      env: { ...process.env, PROPDICT_ADMIN_TOKEN: '', DATABASE_URL: `sqlite:${join(dir, 'serve.db')}`, PORT: '0', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const listening = new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = out.match(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/);
        if (match) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, listening, exited, output: () => out };
  }

  test('the first start prints an operator token once; SIGTERM closes cleanly', async () => {
    const first = start({});
    const base = await first.listening;
    const token = first.output().match(/^\s+(pd_\S+)$/m)?.[1];
    assert.ok(token, `a token in: ${first.output()}`);
    assert.match(first.output(), new RegExp(`curl -X POST http://127\\.0\\.0\\.1:\\d+/v1/tenants -H 'Authorization: Bearer ${token}'`));

    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ok' });
    const tenants = await fetch(`${base}/v1/tenants`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(tenants.status, 200);

    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);

    // The second start keeps the stored hash: no new token, and the first one still works.
    const second = start({});
    const base2 = await second.listening;
    assert.doesNotMatch(second.output(), /operator token was created/);
    const again = await fetch(`${base2}/v1/tenants`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(again.status, 200);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  });

  test('serves the OpenAPI document and the interactive docs', async () => {
    const s = start({ PROPDICT_ADMIN_TOKEN: 'serve-operator-token-0000' });
    const base = await s.listening;
    const doc = await fetch(`${base}/openapi.json`);
    assert.equal(doc.status, 200);
    const spec = (await doc.json()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(spec.openapi, '3.1.0');
    assert.ok(spec.paths['/v1/workspaces/{ws}/properties']);
    const docs = await fetch(`${base}/docs/`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /<html/i);
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0);
  });
});
