// Faults of a real server process on PostgreSQL (run when TEST_DATABASE_URL is set): the database
// going away and coming back, and a database that refuses connections at start. Each test gets
// a database of its own, created with a random name and dropped after.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { call, runCli, startServer, tenancy, waitFor, type ServerProcess } from './helpers/process.ts';

const BASE = process.env.TEST_DATABASE_URL;

/** A new database beside TEST_DATABASE_URL's; `sql` runs statements as the administrator. */
async function scratchDatabase() {
  const name = `propdict_faults_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BASE });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(BASE!);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    sql: (text: string) => admin.query(text),
    async drop() {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

describe('PostgreSQL outage', { skip: BASE ? false : 'TEST_DATABASE_URL is not set' }, () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let server: ServerProcess | undefined;

  before(async () => {
    db = await scratchDatabase();
  });
  after(async () => {
    await server?.stop();
    await db?.drop();
  });

  test('connections terminated, then refused for a while: 503 with Retry-After on every surface, then back without a restart', async () => {
    server = await startServer({ DATABASE_URL: db.url, PROPDICT_ENCRYPTION_KEY: 'ab'.repeat(32) });
    const t = await tenancy(server.url);
    const ws = `/v1/workspaces/${t.workspaceId}`;
    const createProperty = (name: string) => call(server!.url, 'POST', `${ws}/properties`, { token: t.token, body: { name, data_type: 'string' } });
    assert.equal((await createProperty('before_outage')).status, 201);

    // What a failover or a restart does to the idle connections: the process stays up.
    await db.sql(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${db.name}' and pid <> pg_backend_pid()`);
    // A connection the pool handed out just as it was ended answers 503 (and is dropped); the
    // next request gets a new connection.
    await waitFor(
      'a write after the connections were ended',
      async () => {
        const res = await createProperty('after_terminate');
        if (res.status === 201) return true;
        assert.equal(res.status, 503, res.raw);
        assert.equal(res.body.error.code, 'UNAVAILABLE', res.raw);
        return undefined;
      },
      20_000,
    );

    // The database refuses new connections for a while.
    await db.sql(`alter database ${db.name} allow_connections false`);
    await db.sql(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${db.name}' and pid <> pg_backend_pid()`);

    const native = await createProperty('during_outage');
    assert.equal(native.status, 503, native.raw);
    assert.equal(native.body.error.code, 'UNAVAILABLE', native.raw);
    assert.equal(native.body.error.request_id, native.headers.get('x-request-id'));
    assert.equal(native.headers.get('retry-after'), '2');

    const profile = await call(server.url, 'GET', `${ws}/profiles/nobody`, { token: t.token });
    assert.equal(profile.status, 503, profile.raw);
    assert.equal(profile.body.error.code, 'UNAVAILABLE');

    const ocamba = await call(server.url, 'POST', '/ocamba/v1/hood/profile-properties', { token: t.token, body: { label: 'o_outage', data_type: 'text' } });
    assert.equal(ocamba.status, 503, ocamba.raw);
    assert.deepEqual({ code: ocamba.body.code, title: ocamba.body.title }, { code: 503, title: 'Service unavailable.' });
    assert.equal(ocamba.headers.get('retry-after'), '2');

    // HCL authenticates with an authKey header.
    const hclRes = await fetch(`${server.url}/hcl/api/campaign-data-dictionary`, {
      method: 'POST',
      headers: { authkey: t.token, 'content-type': 'application/json' },
      body: JSON.stringify({ campaignId: t.workspaceId, dmpDataPointCode: 'h_outage', dataType: 'STRING' }),
    });
    assert.equal(hclRes.status, 503);
    assert.deepEqual(((await hclRes.json()) as { error: string }).error, 'Service Unavailable');
    assert.equal(hclRes.headers.get('retry-after'), '2');

    const lineworks = await call(server.url, 'POST', '/lineworks/v1.0/contacts/custom-properties', {
      token: t.token,
      body: { domainId: t.workspaceId, propertyName: 'l_outage', displayName: 'L outage', propertyType: 'STRING' },
    });
    assert.equal(lineworks.status, 503, lineworks.raw);
    assert.equal(lineworks.body.code, 'SERVICE_UNAVAILABLE');

    const ready = await call(server.url, 'GET', '/readyz');
    assert.equal(ready.status, 503, ready.raw);
    assert.equal((await call(server.url, 'GET', '/healthz')).status, 200);
    assert.equal(server.child.exitCode, null, 'the server is still running');

    // The database comes back: everything works again, without a restart.
    await db.sql(`alter database ${db.name} allow_connections true`);
    await waitFor('ready again', async () => ((await call(server!.url, 'GET', '/readyz')).status === 200 ? true : undefined), 20_000);
    const back = await createProperty('after_outage');
    assert.equal(back.status, 201, back.raw);
    assert.doesNotMatch(server.output(), /Unhandled 'error' event/);
  });

  test('a database that refuses connections at start: one line naming DATABASE_URL, exit 1', async () => {
    await db.sql(`alter database ${db.name} allow_connections false`);
    const res = await runCli(['serve'], { DATABASE_URL: db.url });
    await db.sql(`alter database ${db.name} allow_connections true`);
    assert.equal(res.code, 1, res.output);
    assert.equal(res.output.trim().split('\n').length, 1, res.output);
    assert.match(res.output, /^PostgreSQL at 127\.0\.0\.1:5432\/propdict_faults_\w+ refused the connection: .*not currently accepting connections \(SQLSTATE 55000\).*DATABASE_URL/);
  });

  test('a database that does not exist: one line with the server reason, exit 1', async () => {
    const url = new URL(db.url);
    url.pathname = '/propdict_no_such_database';
    const res = await runCli(['serve'], { DATABASE_URL: url.toString() });
    assert.equal(res.code, 1, res.output);
    assert.equal(res.output.trim().split('\n').length, 1, res.output);
    assert.match(res.output, /^PostgreSQL at .* refused the connection: .*\(SQLSTATE 3D000\).*DATABASE_URL/);
  });
});
