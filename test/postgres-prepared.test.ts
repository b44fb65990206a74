// Statements prepared by name on PostgreSQL (create-db.ts): a server keeps working when a
// migration adds a column to a table it reads while it runs, as during a rolling upgrade.
// PostgreSQL refuses a prepared statement whose result columns changed ("cached plan must not
// change result type"), so a `select *` of a table is never prepared by name.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { createTenancy, createTestApp, expectStatus, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

const postgres = dialects.find((d) => d.name === 'postgres');

describe('a column added while the server runs [postgres]', { skip: postgres ? false : 'TEST_DATABASE_URL is not set' }, () => {
  let t: TestApp;
  let base: string;
  let token: string;

  before(async () => {
    t = await createTestApp(postgres!);
    const a = await createTenancy(t, 'Prepared');
    base = `/v1/workspaces/${a.workspaceId}`;
    token = a.token;
    expectStatus(await t.request({ method: 'POST', url: `${base}/sources`, token, payload: { name: 'crm', priority: 1 } }), 201);
  });
  after(async () => {
    await t?.close();
  });

  test('the list of sources (a select of every column) answers as before', async () => {
    const list = async () => {
      const res = await t.request({ method: 'GET', url: `${base}/sources`, token });
      expectStatus(res, 200);
      return res.body;
    };
    const before = await list();
    // Every pooled connection has run the statement (more times than PostgreSQL needs to settle on a plan).
    for (let i = 0; i < 10; i++) assert.deepEqual(await list(), before);
    await sql`alter table sources add column added_later text`.execute(t.db);
    for (let i = 0; i < 10; i++) assert.deepEqual(await list(), before);
  });
});
