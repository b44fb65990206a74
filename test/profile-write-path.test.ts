// The write path every bulk writer shares (profiles service writeRecords): inside the caller's
// transaction, with modes (upsert, create, update), a dry run, and the `unchanged` outcome. Its
// effects are read back through the API.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WriteOptions, WriteRecord, WriteResult } from '../src/modules/profiles/profiles.service.ts';
import { createTenancy, createTestApp, expectError, expectStatus, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

for (const dialect of dialects) {
  describe(`the profile write path [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let base: string;
    const req = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) => t.request({ method, url: `${base}${url}`, token: a.token, ...(payload ? { payload } : {}) });

    /** Writes records in a transaction of the test's own, committed unless `rollback`. */
    async function write(records: WriteRecord[], options?: WriteOptions, rollback = false): Promise<WriteResult[]> {
      let results: WriteResult[] = [];
      const undo = new Error('rolled back by the test');
      try {
        await t.db.transaction().execute(async (trx) => {
          results = await t.services.profiles.writeRecords(trx, a.workspaceId, records, options);
          if (rollback) throw undo;
        });
      } catch (error) {
        if (error !== undo) throw error;
      }
      return results;
    }

    async function read(id: string) {
      return req('GET', `/profiles/${id}?include=provenance`);
    }

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t, 'Writes');
      base = `/v1/workspaces/${a.workspaceId}`;
      for (const p of [
        { name: 'customer_id', data_type: 'string', identity: { role: 'primary' }, import_aliases: ['cust_no'] },
        { name: 'points', data_type: 'integer', merge_function: 'sum' },
        { name: 'tier', data_type: 'string' },
      ]) {
        expectStatus(await req('POST', '/properties', p), 201);
      }
    });
    after(() => t.close());

    test('upsert: created, updated, unchanged, merged and rejected, one per record in input order', async () => {
      expectStatus(await req('PUT', '/profiles/wp-1', { properties: { customer_id: 'WP-1', tier: 'gold' } }), 201);
      expectStatus(await req('PUT', '/profiles/wp-2', { properties: { customer_id: 'WP-2' } }), 201);
      const results = await write([
        { properties: { customer_id: 'WP-NEW', tier: 'silver' } },
        { properties: { customer_id: 'WP-1', tier: 'platinum' } },
        { properties: { customer_id: 'WP-1', tier: 'platinum' } },
        { id: 'wp-2', properties: {} },
        { properties: { customer_id: 'WP-1', tier: 1 } },
      ]);
      assert.equal(results[0].status, 'created');
      assert.deepEqual(results.slice(1), [
        { index: 1, status: 'updated', id: 'wp-1' },
        { index: 2, status: 'unchanged', id: 'wp-1' },
        { index: 3, status: 'unchanged', id: 'wp-2' },
        { index: 4, status: 'rejected', errors: [{ field: 'properties.tier', problem: 'must be a string' }] },
      ]);
      const res = await read('wp-1');
      expectStatus(res, 200);
      assert.deepEqual(res.body.properties, { customer_id: 'WP-1', tier: 'platinum' });
    });

    test('records updating one profile each are written together; merges, repeats and conflicts beside them one at a time', async () => {
      for (const [id, customer_id] of [['ws-1', 'WS-1'], ['ws-2', 'WS-2'], ['ws-3', 'WS-3'], ['ws-4', 'WS-4'], ['ws-5', 'WS-5']]) {
        expectStatus(await req('PUT', `/profiles/${id}`, { properties: { customer_id, points: 1, tier: 'base' } }), 201);
      }
      const results = await write([
        { id: 'ws-1', properties: { tier: 'gold' } },
        { properties: { customer_id: 'WS-2', points: 5 } },
        { properties: { customer_id: 'WS-3', tier: 'base' } },
        { id: 'ws-4', properties: { customer_id: 'WS-5' } },
        { properties: { customer_id: 'WS-5', points: 2 } },
        { id: 'ws-5', properties: { points: 3 } },
        { properties: { customer_id: 'WS-2x', points: 'many' } },
      ]);
      assert.deepEqual(results, [
        { index: 0, status: 'updated', id: 'ws-1' },
        { index: 1, status: 'updated', id: 'ws-2' },
        { index: 2, status: 'unchanged', id: 'ws-3' },
        { index: 3, status: 'rejected', errors: [{ field: 'properties.customer_id', problem: 'is already held by profile ws-5' }] },
        { index: 4, status: 'updated', id: 'ws-5' },
        { index: 5, status: 'updated', id: 'ws-5' },
        { index: 6, status: 'rejected', errors: [{ field: 'properties.points', problem: 'must be an integer' }] },
      ]);
      const expected: [string, object][] = [
        ['ws-1', { customer_id: 'WS-1', points: 1, tier: 'gold' }],
        ['ws-2', { customer_id: 'WS-2', points: 6, tier: 'base' }],
        ['ws-3', { customer_id: 'WS-3', points: 1, tier: 'base' }],
        ['ws-4', { customer_id: 'WS-4', points: 1, tier: 'base' }],
        ['ws-5', { customer_id: 'WS-5', points: 6, tier: 'base' }],
      ];
      for (const [id, properties] of expected) {
        const res = await read(id);
        expectStatus(res, 200);
        assert.deepEqual(res.body.properties, properties, id);
      }
    });

    test('the native batch answers unchanged as updated', async () => {
      expectStatus(await req('PUT', '/profiles/wp-same', { properties: { tier: 'gold' } }), 201);
      const res = await req('POST', '/profiles/batch', { inputs: [{ id: 'wp-same', properties: { tier: 'gold' } }] });
      expectStatus(res, 200);
      assert.deepEqual(res.body, { results: [{ index: 0, status: 'updated', id: 'wp-same' }] });
    });

    test("the caller's transaction decides: rolled back, nothing of the records stays", async () => {
      const [result] = await write([{ id: 'wp-gone', properties: { customer_id: 'WP-GONE' } }], {}, true);
      assert.deepEqual(result, { index: 0, status: 'created', id: 'wp-gone' });
      expectError(await read('wp-gone'), 404, 'NOT_FOUND');
      // Its identity was not kept either: a new record with it creates a profile.
      const [again] = await write([{ properties: { customer_id: 'WP-GONE' } }]);
      assert.equal(again.status, 'created');
    });

    describe('modes', () => {
      const rows: { title: string; mode: WriteOptions['mode']; input: WriteRecord; expected: { status: WriteResult['status']; id?: string; errors?: { field: string; problem: string }[] } }[] = [
        {
          title: 'create: an id that names a profile is rejected',
          mode: 'create',
          input: { id: 'wp-m1', properties: { tier: 'x' } },
          expected: { status: 'rejected', errors: [{ field: 'id', problem: 'names profile wp-m1, which exists; mode create writes new profiles only' }] },
        },
        {
          title: 'create: identities that match a profile are rejected',
          mode: 'create',
          input: { properties: { customer_id: 'WP-M1', tier: 'x' } },
          expected: { status: 'rejected', errors: [{ field: 'properties', problem: 'matches profile wp-m1 by its identities; mode create writes new profiles only' }] },
        },
        { title: 'create: a new id is created', mode: 'create', input: { id: 'wp-m2', properties: { tier: 'x' } }, expected: { status: 'created', id: 'wp-m2' } },
        {
          title: 'update: an id that names no profile is rejected',
          mode: 'update',
          input: { id: 'wp-none', properties: { tier: 'x' } },
          expected: { status: 'rejected', errors: [{ field: 'id', problem: 'names no profile; mode update writes existing profiles only' }] },
        },
        {
          title: 'update: identities that match no profile are rejected',
          mode: 'update',
          input: { properties: { customer_id: 'WP-NONE', tier: 'x' } },
          expected: { status: 'rejected', errors: [{ field: 'properties', problem: 'matches no profile by its identities; mode update writes existing profiles only' }] },
        },
        { title: 'update: a matching record updates', mode: 'update', input: { properties: { customer_id: 'WP-M1', tier: 'y' } }, expected: { status: 'updated', id: 'wp-m1' } },
      ];
      before(async () => expectStatus(await req('PUT', '/profiles/wp-m1', { properties: { customer_id: 'WP-M1' } }), 201));
      for (const { title, mode, input, expected } of rows) {
        test(title, async () => assert.deepEqual(await write([input], { mode }), [{ index: 0, ...expected }]));
      }
      test('nothing of a rejected record is written', async () => {
        expectError(await read('wp-none'), 404, 'NOT_FOUND');
        const res = await req('GET', `/profiles?filter[customer_id][eq]=WP-NONE`);
        expectStatus(res, 200);
        assert.deepEqual(res.body.data, []);
      });
    });

    test('a dry run answers as the write would, and leaves nothing behind', async () => {
      expectStatus(await req('PUT', '/profiles/wp-dry', { properties: { customer_id: 'WP-DRY', points: 1 } }), 201);
      const records: WriteRecord[] = [
        { properties: { customer_id: 'WP-DRY', points: 2 } },
        { id: 'wp-dry-new', properties: { customer_id: 'WP-DRY-NEW' } },
        { properties: { customer_id: 'WP-DRY-FRESH' } },
        { properties: { points: 'many' } },
      ];
      const dry = await write(records, { dryRun: true });
      expectError(await read('wp-dry-new'), 404, 'NOT_FOUND');
      const kept = await read('wp-dry');
      expectStatus(kept, 200);
      assert.deepEqual(kept.body.properties, { customer_id: 'WP-DRY', points: 1 });
      const fresh = await req('GET', `/profiles?filter[customer_id][eq]=WP-DRY-FRESH`);
      expectStatus(fresh, 200);
      assert.deepEqual(fresh.body.data, []);

      const real = await write(records);
      // A new profile's generated id differs between the two runs; everything else is the same.
      const withoutFreshId = (results: WriteResult[]) => results.map((r, i) => (i === 2 && 'id' in r ? { ...r, id: '(generated)' } : r));
      assert.deepEqual(withoutFreshId(dry), withoutFreshId(real));
      assert.deepEqual(real.map((r) => r.status), ['updated', 'created', 'created', 'rejected']);
      const written = await read('wp-dry');
      expectStatus(written, 200);
      assert.deepEqual(written.body.properties, { customer_id: 'WP-DRY', points: 3 });
    });

    test("per-record merge functions replace the property's own; a caller's problems come first", async () => {
      expectStatus(await req('PUT', '/profiles/wp-fn', { properties: { customer_id: 'WP-FN', points: 10 } }), 201);
      const results = await write([
        { properties: { customer_id: 'WP-FN', points: 3 }, mergeFunctions: { points: 'min' } },
        { properties: { tier: 5 }, problems: [{ field: 'email', problem: 'is required by the mapping' }] },
      ]);
      assert.deepEqual(results, [
        { index: 0, status: 'updated', id: 'wp-fn' },
        {
          index: 1,
          status: 'rejected',
          errors: [
            { field: 'email', problem: 'is required by the mapping' },
            { field: 'properties.tier', problem: 'must be a string' },
          ],
        },
      ]);
      const res = await read('wp-fn');
      expectStatus(res, 200);
      assert.equal(res.body.properties.points, 3);
    });

    test('an import alias written as a property name names the property it belongs to', async () => {
      const details = expectError(await req('PUT', '/profiles/wp-alias', { properties: { cust_no: 'C-9' } }), 400, 'VALIDATION_FAILED');
      assert.deepEqual(details, [{ field: 'properties.cust_no', problem: 'is an import alias of "customer_id"; write it as "customer_id"' }]);
      const res = await req('POST', '/profiles/batch', { inputs: [{ properties: { CUST_NO: 'C-9' } }] });
      expectStatus(res, 200);
      assert.deepEqual(res.body.results, [
        { index: 0, status: 'rejected', errors: [{ field: 'properties.CUST_NO', problem: 'is an import alias of "customer_id"; write it as "customer_id"' }] },
      ]);
    });
  });
}
