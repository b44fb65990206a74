// PII values: encrypted at rest (no plaintext in the database), masked for keys without
// pii:read, findable by equality through a blind index, re-stored in the background when a
// property's pii flag changes, and never stored by a server without the encryption key.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db/create-db.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { createJobRunner } from '../src/modules/jobs/job-runner.ts';
import { createTenancy, createTestApp, expectError, expectStatus, TEST_ENCRYPTION_KEY, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

for (const dialect of dialects) {
  describe(`PII values [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let ws: string;
    let reader: string;
    // Plain objects: node:sqlite returns rows without a prototype.
    const rawRows = async (property: string) =>
      (
        await t.db
        .selectFrom('profile_values as v')
        .innerJoin('properties as p', (j) => j.onRef('p.workspace_id', '=', 'v.workspace_id').onRef('p.id', '=', 'v.property_id'))
        .select(['v.v_text', 'v.v_num', 'v.v_json'])
        .where('v.workspace_id', '=', a.workspaceId)
          .where('p.name', '=', property)
          .execute()
      ).map((r) => ({ ...r }));

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t, 'Private');
      ws = `/v1/workspaces/${a.workspaceId}`;
      reader = (await a.key(['profiles:read'])).token;
      for (const p of [
        { name: 'ssn', data_type: 'string', pii: true },
        { name: 'private_email', data_type: 'email', pii: true, identity: { role: 'primary' } },
        { name: 'salary', data_type: 'integer', pii: true },
        { name: 'city_note', data_type: 'string' },
      ]) {
        expectStatus(await t.request({ method: 'POST', url: `${ws}/properties`, token: a.token, payload: p }), 201);
      }
      const put = await t.request({
        method: 'PUT',
        url: `${ws}/profiles/p1`,
        token: a.token,
        payload: { properties: { ssn: '123-45-6789', private_email: 'Ana@Example.com', salary: 5000, city_note: 'Novi Sad' } },
      });
      expectStatus(put, 201);
    });
    after(() => t.close());

    test('the raw rows hold no plaintext', async () => {
      for (const [property, plain] of [
        ['ssn', '123-45-6789'],
        ['private_email', 'ana@example.com'],
        ['salary', '5000'],
      ]) {
        const rows = await rawRows(property);
        assert.equal(rows.length, 1);
        const raw = JSON.stringify(rows[0]);
        assert.ok(!raw.includes(plain), `${property} row: ${raw}`);
        assert.match(rows[0].v_json, /^enc:v2:[0-9a-f]{16}:/);
        assert.match(String(rows[0].v_text), /^[0-9a-f]{64}$/);
        assert.equal(rows[0].v_num, null);
      }
      const keys = await t.db.selectFrom('profile_keys').select('value_key').where('workspace_id', '=', a.workspaceId).execute();
      assert.ok(keys.every((k) => !k.value_key.includes('ana@example.com')));
      assert.deepEqual(await rawRows('city_note'), [{ v_text: 'Novi Sad', v_num: null, v_json: '"Novi Sad"' }]);
    });

    test('readers with pii:read see values; others see "***"', async () => {
      const full = await t.request({ method: 'GET', url: `${ws}/profiles/p1`, token: a.token });
      expectStatus(full, 200);
      assert.deepEqual(full.body.properties, { city_note: 'Novi Sad', private_email: 'ana@example.com', salary: 5000, ssn: '123-45-6789' });
      const masked = await t.request({ method: 'GET', url: `${ws}/profiles/p1`, token: reader });
      expectStatus(masked, 200);
      assert.deepEqual(masked.body.properties, { city_note: 'Novi Sad', private_email: '***', salary: '***', ssn: '***' });
      assert.deepEqual(masked.body.identities, { private_email: '***' });
    });

    test('equality search on PII goes through the blind index, for pii:read only', async () => {
      const found = await t.request({ method: 'GET', url: `${ws}/profiles?filter[private_email][eq]=ANA@example.com&filter[salary][in]=1,5000`, token: a.token });
      expectStatus(found, 200);
      assert.deepEqual(found.body.data.map((p: { id: string }) => p.id), ['p1']);
      const range = await t.request({ method: 'GET', url: `${ws}/profiles?filter[salary][gt]=1`, token: a.token });
      const details = expectError(range, 400, 'VALIDATION_FAILED');
      assert.deepEqual(details[0].allowed, ['eq', 'ne', 'in', 'exists']);
      expectError(await t.request({ method: 'GET', url: `${ws}/profiles?filter[ssn][eq]=123-45-6789`, token: reader }), 403, 'FORBIDDEN');
      const exists = await t.request({ method: 'GET', url: `${ws}/profiles?filter[ssn][exists]=true`, token: reader });
      expectStatus(exists, 200);
      assert.equal(exists.body.data.length, 1);
    });

    test('a PII identity still matches records in a batch', async () => {
      const res = await t.request({ method: 'POST', url: `${ws}/profiles/batch`, token: a.token, payload: { inputs: [{ properties: { private_email: 'ana@example.com', city_note: 'Beograd' } }] } });
      expectStatus(res, 200);
      assert.deepEqual(res.body.results, [{ index: 0, status: 'updated', id: 'p1' }]);
    });

    test('turning pii on or off re-stores existing values in the background', async () => {
      const on = await t.request({ method: 'PATCH', url: `${ws}/properties/city_note`, token: a.token, payload: { pii: true } });
      expectStatus(on, 200);
      const jobs = await t.db.selectFrom('jobs').select(['id', 'type', 'status']).where('workspace_id', '=', a.workspaceId).where('type', '=', 'reencode_property').execute();
      assert.deepEqual(jobs.map((j) => j.status), ['queued']);
      // Before the job runs, the value still reads correctly.
      assert.equal((await t.request({ method: 'GET', url: `${ws}/profiles/p1`, token: a.token })).body.properties.city_note, 'Beograd');
      await t.jobRunner.drain();
      const [encrypted] = await rawRows('city_note');
      assert.match(encrypted.v_json, /^enc:v2:[0-9a-f]{16}:/);
      assert.ok(!JSON.stringify(encrypted).includes('Beograd'));
      assert.equal((await t.request({ method: 'GET', url: `${ws}/profiles/p1`, token: reader })).body.properties.city_note, '***');

      expectStatus(await t.request({ method: 'PATCH', url: `${ws}/properties/city_note`, token: a.token, payload: { pii: false } }), 200);
      await t.jobRunner.drain();
      assert.deepEqual(await rawRows('city_note'), [{ v_text: 'Beograd', v_num: null, v_json: '"Beograd"' }]);
      const job = await t.request({ method: 'GET', url: `${ws}/jobs/${jobs[0].id}`, token: a.token });
      expectStatus(job, 200);
      assert.deepEqual([job.body.type, job.body.status, job.body.progress], ['reencode_property', 'done', { done: 1, total: 1 }]);
    });
  });

  describe(`keys while a pii flag's re-encoding runs [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let ws: string;
    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t, 'Reencode');
      ws = `/v1/workspaces/${a.workspaceId}`;
    });
    after(() => t.close());

    const call = (method: 'PUT' | 'POST' | 'PATCH' | 'GET', url: string, payload?: Record<string, unknown>) => t.request({ method, url: `${ws}${url}`, token: a.token, payload });
    const cases = [
      { title: 'unique, pii turned on', keyed: { unique: true }, from: false },
      { title: 'unique, pii turned off', keyed: { unique: true }, from: true },
      { title: 'primary identity, pii turned on', keyed: { identity: { role: 'primary' } }, from: false },
      { title: 'primary identity, pii turned off', keyed: { identity: { role: 'primary' } }, from: true },
    ];
    for (const [i, c] of cases.entries()) {
      test(`${c.title}: a write carrying the property answers 409 naming the job until it is done; then the key is found in its new form`, async () => {
        const name = `vat_${i}`;
        const [p1, p0, p2] = [`p1-${i}`, `p0-${i}`, `p2-${i}`];
        expectStatus(await call('POST', '/properties', { name, data_type: 'string', pii: c.from, ...c.keyed }), 201);
        expectStatus(await call('POST', '/properties', { name: `note_${i}`, data_type: 'string' }), 201);
        expectStatus(await call('PUT', `/profiles/${p1}`, { properties: { [name]: 'A' } }), 201);
        expectStatus(await call('PUT', `/profiles/${p0}`, { properties: { [name]: 'B' } }), 201);
        expectStatus(await call('PATCH', `/properties/${name}`, { pii: !c.from }), 200);
        const [{ id: job }] = await t.db.selectFrom('jobs').select('id').where('workspace_id', '=', a.workspaceId).where('type', '=', 'reencode_property').where('status', '=', 'queued').execute();

        // One step of one profile: one key is in the new form, the other still in the old one.
        const runner = createJobRunner({ db: t.db, clock: { now: () => new Date() }, steps: t.services.jobs.steps, batchSize: 1, minBatchSize: 1, leaseMs: -1 });
        assert.equal(await runner.stepOnce(), false);
        const running = await call('GET', `/jobs/${job}`);
        expectStatus(running, 200);
        assert.deepEqual([running.body.status, running.body.progress], ['running', { done: 1, total: 2 }], running.raw);

        const refused = [{ field: `properties.${name}`, problem: `is being changed by job ${job}; write it again once the job is done` }];
        const rows = [
          { what: 'PUT of a new profile with the held value', send: () => call('PUT', `/profiles/${p2}`, { properties: { [name]: 'A' } }) },
          { what: 'PUT of a new profile with a new value', send: () => call('PUT', `/profiles/${p2}`, { properties: { [name]: 'C' } }) },
          { what: 'PATCH of the holder', send: () => call('PATCH', `/profiles/${p1}`, { properties: { [name]: 'D' } }) },
        ];
        for (const r of rows) {
          const res = await r.send();
          assert.deepEqual(expectError(res, 409, 'CONFLICT'), refused, `${r.what}: ${res.raw}`);
          assert.match(res.body.error.message, /^A definition change is running: /, res.raw);
        }
        const batch = await call('POST', '/profiles/batch', { inputs: [{ properties: { [name]: 'A' } }, { id: p2, properties: { [`note_${i}`]: 'x' } }] });
        expectStatus(batch, 200);
        assert.deepEqual(batch.body.results, [{ index: 0, status: 'rejected', errors: refused }, { index: 1, status: 'created', id: p2 }], batch.raw);

        await t.jobRunner.drain();
        const done = await call('GET', `/jobs/${job}`);
        assert.deepEqual([done.body.status, done.body.progress], ['done', { done: 2, total: 2 }], done.raw);
        const held = [{ field: `properties.${name}`, problem: `is already held by profile ${p1}` }];
        const duplicate = await call('PUT', `/profiles/${p2}`, { properties: { [name]: 'A' } });
        assert.deepEqual(expectError(duplicate, 409, 'CONFLICT'), held, duplicate.raw);
        const record = await call('POST', '/profiles/batch', { inputs: [{ properties: { [name]: 'A', [`note_${i}`]: 'y' } }] });
        expectStatus(record, 200);
        const matched = 'identity' in c.keyed ? { index: 0, status: 'updated', id: p1 } : { index: 0, status: 'rejected', errors: held };
        assert.deepEqual(record.body.results, [matched], record.raw);
        const keys = await t.db.selectFrom('profile_keys as k').innerJoin('properties as p', (j) => j.onRef('p.workspace_id', '=', 'k.workspace_id').onRef('p.id', '=', 'k.property_id')).select('k.value_key').where('k.workspace_id', '=', a.workspaceId).where('p.name', '=', name).execute();
        assert.equal(keys.length, 2);
        assert.equal(keys.filter((k) => k.value_key === 'A' || k.value_key === 'B').length, c.from ? 2 : 0, JSON.stringify(keys));
      });
    }

    test('a write in flight when the pii flag changes commits before the job is queued, and the job re-stores its value and key', { skip: dialect.name === 'sqlite' ? 'SQLite runs one writer at a time' : false }, async () => {
      expectStatus(await call('POST', '/properties', { name: 'vat_gate', data_type: 'string', unique: true }), 201);
      expectStatus(await call('PUT', '/profiles/g1', { properties: { vat_gate: 'A' } }), 201);
      // A write that has checked for running jobs but not yet committed.
      const trx = await t.db.startTransaction().execute();
      let patched: ReturnType<typeof call> | undefined;
      try {
        const [written] = await t.services.profiles.writeRecords(trx, a.workspaceId, [{ id: 'g2', properties: { vat_gate: 'B' } }]);
        assert.equal(written.status, 'created', JSON.stringify(written));
        patched = call('PATCH', '/properties/vat_gate', { pii: true });
        // The PATCH waits at the workspace's start gate for the write.
        const waiting = async () => Number((await sql<{ n: number | string }>`select count(*) as n from pg_locks where locktype = 'advisory' and not granted`.execute(t.db)).rows[0].n);
        for (let i = 0; (await waiting()) === 0; i++) assert.ok(i < 500, 'the PATCH never waited for the write in flight');
      } finally {
        await trx.commit().execute();
      }
      expectStatus(await patched!, 200);
      const [job] = await t.db.selectFrom('jobs').select(['id', 'progress_total']).where('workspace_id', '=', a.workspaceId).where('type', '=', 'reencode_property').where('status', '=', 'queued').execute();
      assert.equal(job.progress_total, 2);
      await t.jobRunner.drain();
      const keys = await t.db.selectFrom('profile_keys as k').innerJoin('properties as p', (j) => j.onRef('p.workspace_id', '=', 'k.workspace_id').onRef('p.id', '=', 'k.property_id')).select('k.value_key').where('k.workspace_id', '=', a.workspaceId).where('p.name', '=', 'vat_gate').execute();
      assert.deepEqual(keys.map((k) => /^[0-9a-f]{64}$/.test(k.value_key)), [true, true], JSON.stringify(keys));
      const duplicate = await call('PUT', '/profiles/g3', { properties: { vat_gate: 'B' } });
      assert.deepEqual(expectError(duplicate, 409, 'CONFLICT'), [{ field: 'properties.vat_gate', problem: 'is already held by profile g2' }], duplicate.raw);
    });
  });

  describe(`a server without an encryption key [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    before(async () => {
      t = await createTestApp(dialect, { config: { encryptionKey: undefined } });
      a = await createTenancy(t, 'Keyless');
    });
    after(() => t.close());

    test('refuses to define a PII property, and says why', async () => {
      const res = await t.request({ method: 'POST', url: `/v1/workspaces/${a.workspaceId}/properties`, token: a.token, payload: { name: 'ssn', data_type: 'string', pii: true } });
      const details = expectError(res, 409, 'CONFLICT');
      assert.deepEqual(details, [{ field: 'pii', problem: 'needs PROPDICT_ENCRYPTION_KEY on the server' }]);
    });
  });
}

describe('starting without the key once PII properties exist', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'propdict-pii-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the server refuses to start, with a clear message', async () => {
    const url = `sqlite:${join(dir, 'pii.db')}`;
    const { db } = createDb(url);
    await migrateToLatest(db);
    const { app, services } = await buildApp({ db, runJobs: false, config: { ...loadConfig({}), adminToken: 'pii-operator-token-00000', encryptionKey: TEST_ENCRYPTION_KEY } });
    const tenant = await services.tenants.create('T');
    const ws = await services.workspaces.create({ kind: 'operator' }, tenant.id, { name: 'w' });
    await services.properties.create(ws.id, { name: 'ssn', data_type: 'string', pii: true }, { actor: 'operator' });
    await app.close();
    await db.destroy();

    const cli = join(import.meta.dirname, '..', 'src', 'cli.ts');
    const res = spawnSync(process.execPath, [cli, 'serve'], { env: { ...process.env, DATABASE_URL: url, PORT: '0', PROPDICT_ADMIN_TOKEN: 'pii-operator-token-00000', PROPDICT_ENCRYPTION_KEY: '' }, encoding: 'utf8', timeout: 30_000 });
    assert.equal(res.status, 1, res.stdout + res.stderr);
    assert.match(res.stderr, /^This database has PII properties and no encryption key was given: give the key their values were encrypted with in the key file .*encryption\.key \(restore it from your backup\) or in PROPDICT_ENCRYPTION_KEY\.\n$/);
    assert.equal(existsSync(join(dir, 'encryption.key')), false, 'no new key is made for a database that has PII properties');
  });
});
