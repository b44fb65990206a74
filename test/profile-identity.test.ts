// Identity resolution in batches: records matched by primary identities, then secondary ones by
// priority; records that match several profiles merge them into the oldest; unique values; two
// batches racing for one new identity; and the batch rules (order, statuses, partial rejection).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTenancy, createTestApp, expectError, expectStatus, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

/** A clock that moves 1 ms forward on every reading: a profile created later is always newer. */
function tickingClock(start = Date.parse('2026-11-23T00:00:00Z')) {
  let now = start;
  return { now: () => new Date(now++) };
}

interface Result {
  index: number;
  status: 'created' | 'updated' | 'merged' | 'rejected';
  id?: string;
  errors?: { field: string; problem: string }[];
}

for (const dialect of dialects) {
  describe(`profile identity and batches [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let base: string;
    const req = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
      t.request({ method, url: `${base}${url}`, token: a.token, ...(payload === undefined ? {} : { payload: payload as object }) });

    /** Sends one batch and returns its results, checking the envelope and the input order. */
    async function batch(inputs: Record<string, unknown>[]): Promise<Result[]> {
      const res = await req('POST', '/profiles/batch', { inputs });
      expectStatus(res, 200);
      assert.deepEqual(Object.keys(res.body), ['results']);
      assert.deepEqual(
        res.body.results.map((r: Result) => r.index),
        inputs.map((_, i) => i),
        'one result per input, in input order',
      );
      return res.body.results;
    }

    async function read(id: string) {
      const res = await req('GET', `/profiles/${id}`);
      expectStatus(res, 200);
      return res.body;
    }

    /** The ids of the profiles holding this customer_id (not PII, so it can be filtered on). */
    async function holdersOf(property: string, value: string): Promise<string[]> {
      const res = await req('GET', `/profiles?${new URLSearchParams({ [`filter[${property}][eq]`]: value })}`);
      expectStatus(res, 200);
      assert.equal(res.body.next_cursor, null);
      return res.body.data.map((p: { id: string }) => p.id);
    }

    before(async () => {
      t = await createTestApp(dialect, { clock: tickingClock() });
      a = await createTenancy(t, 'Identity');
      base = `/v1/workspaces/${a.workspaceId}`;
      for (const p of [
        { name: 'customer_id', data_type: 'string', identity: { role: 'primary' } },
        { name: 'crm_id', data_type: 'string', identity: { role: 'primary', priority: 2 } },
        // Created in the opposite order to their priorities, and `keep`, so that a record naming
        // two of them can land on either profile without taking the other's value.
        { name: 'device_id', data_type: 'string', identity: { role: 'secondary', priority: 2 }, merge_function: 'keep' },
        { name: 'loyalty_card', data_type: 'string', identity: { role: 'secondary', priority: 1 }, merge_function: 'keep' },
        { name: 'points', data_type: 'integer', merge_function: 'sum' },
        { name: 'tier', data_type: 'string' },
        { name: 'tags', data_type: 'string', multi_valued: true, merge_function: 'append' },
        { name: 'vat_no', data_type: 'string', unique: true },
      ]) {
        expectStatus(await req('POST', '/properties', p), 201);
      }
    });
    after(() => t.close());

    describe('identity resolution', () => {
      test('a record without an id that matches nobody creates a profile', async () => {
        const [result] = await batch([{ properties: { email: 'new.one@example.com', points: 1 } }]);
        assert.equal(result.status, 'created');
        assert.equal(typeof result.id, 'string');
        assert.deepEqual(Object.keys(result).sort(), ['id', 'index', 'status']);
        const profile = await read(result.id!);
        assert.equal(profile.id, result.id);
        assert.deepEqual(profile.properties, { email: 'new.one@example.com', points: 1 });
        assert.deepEqual(profile.identities, { email: 'new.one@example.com' });
      });

      test('a record is matched by its primary identity (email, normalised)', async () => {
        expectStatus(await req('PUT', '/profiles/by-email', { properties: { email: 'ana@example.com', points: 1 } }), 201);
        const [result] = await batch([{ properties: { email: '  ANA@Example.com ', points: 2, tier: 'gold' } }]);
        assert.deepEqual(result, { index: 0, status: 'updated', id: 'by-email' });
        assert.deepEqual((await read('by-email')).properties, { email: 'ana@example.com', points: 3, tier: 'gold' });
      });

      test('a record whose two primary identities name the same profile updates it', async () => {
        expectStatus(await req('PUT', '/profiles/both-primaries', { properties: { email: 'both@example.com', customer_id: 'CUST-BOTH' } }), 201);
        const [result] = await batch([{ properties: { customer_id: 'CUST-BOTH', email: 'both@example.com', points: 1 } }]);
        assert.deepEqual(result, { index: 0, status: 'updated', id: 'both-primaries' });
      });

      test('a record is matched by a custom primary identity', async () => {
        expectStatus(await req('PUT', '/profiles/by-customer-id', { properties: { customer_id: 'CUST-1' } }), 201);
        const [result] = await batch([{ properties: { customer_id: 'CUST-1', tier: 'silver' } }]);
        assert.deepEqual(result, { index: 0, status: 'updated', id: 'by-customer-id' });
        assert.deepEqual((await read('by-customer-id')).properties, { customer_id: 'CUST-1', tier: 'silver' });
      });

      test('a record whose primary identities match nobody is matched by a secondary one (phone)', async () => {
        expectStatus(await req('PUT', '/profiles/by-phone', { properties: { phone: '+381641111111' } }), 201);
        const [result] = await batch([{ properties: { email: 'phone.owner@example.com', phone: '+381 64 111-1111' } }]);
        assert.deepEqual(result, { index: 0, status: 'updated', id: 'by-phone' });
        const profile = await read('by-phone');
        assert.deepEqual(profile.properties, { email: 'phone.owner@example.com', phone: '+381641111111' });
        assert.deepEqual(profile.identities, { email: 'phone.owner@example.com', phone: '+381641111111' });
      });

      test('a primary match wins over a secondary one', async () => {
        expectStatus(await req('PUT', '/profiles/primary-owner', { properties: { email: 'primary@example.com', loyalty_card: 'L-PRIMARY' } }), 201);
        expectStatus(await req('PUT', '/profiles/secondary-owner', { properties: { loyalty_card: 'L-SECONDARY' } }), 201);
        const [result] = await batch([{ properties: { loyalty_card: 'L-SECONDARY', email: 'primary@example.com', tier: 'gold' } }]);
        assert.deepEqual(result, { index: 0, status: 'updated', id: 'primary-owner' });
        assert.deepEqual((await read('primary-owner')).properties, { email: 'primary@example.com', loyalty_card: 'L-PRIMARY', tier: 'gold' });
        assert.deepEqual((await read('secondary-owner')).properties, { loyalty_card: 'L-SECONDARY' });
      });

      test('a primary match whose record carries a secondary identity another profile holds is rejected, not merged', async () => {
        expectStatus(await req('PUT', '/profiles/primary-only', { properties: { email: 'primary.only@example.com' } }), 201);
        expectStatus(await req('PUT', '/profiles/card-only', { properties: { loyalty_card: 'L-TAKEN' } }), 201);
        const [result] = await batch([{ properties: { email: 'primary.only@example.com', loyalty_card: 'L-TAKEN', tier: 'gold' } }]);
        assert.deepEqual(result, { index: 0, status: 'rejected', errors: [{ field: 'properties.loyalty_card', problem: 'is already held by profile card-only' }] });
        assert.deepEqual((await read('primary-only')).properties, { email: 'primary.only@example.com' });
        assert.deepEqual((await read('card-only')).properties, { loyalty_card: 'L-TAKEN' });
      });

      test('secondary identities are tried by priority, not by the order a record names them', async () => {
        // loyalty_card has priority 1, device_id priority 2.
        expectStatus(await req('PUT', '/profiles/card-holder', { properties: { loyalty_card: 'L-77', device_id: 'D-OWN' } }), 201);
        expectStatus(await req('PUT', '/profiles/device-holder', { properties: { device_id: 'D-77', loyalty_card: 'L-OWN' } }), 201);
        const [result] = await batch([{ properties: { device_id: 'D-77', loyalty_card: 'L-77', tier: 'bronze' } }]);
        assert.deepEqual(result, { index: 0, status: 'updated', id: 'card-holder' });
        assert.deepEqual((await read('card-holder')).properties, { loyalty_card: 'L-77', device_id: 'D-OWN', tier: 'bronze' });
        assert.deepEqual((await read('device-holder')).properties, { device_id: 'D-77', loyalty_card: 'L-OWN' });
        // With only the lower-priority identity known, that one decides.
        const [second] = await batch([{ properties: { device_id: 'D-77', loyalty_card: 'L-UNKNOWN', tier: 'iron' } }]);
        assert.deepEqual(second, { index: 0, status: 'updated', id: 'device-holder' });
        assert.deepEqual((await read('device-holder')).properties, { device_id: 'D-77', loyalty_card: 'L-OWN', tier: 'iron' });
      });

      test('a record with an id is written to that id, created when absent', async () => {
        const results = await batch([
          { id: 'explicit-1', properties: { tier: 'gold' } },
          { id: 'explicit-1', properties: { points: 4 } },
        ]);
        assert.deepEqual(results, [
          { index: 0, status: 'created', id: 'explicit-1' },
          { index: 1, status: 'updated', id: 'explicit-1' },
        ]);
        assert.deepEqual((await read('explicit-1')).properties, { tier: 'gold', points: 4 });
      });

      test('a later record of the same batch finds the profile an earlier one created', async () => {
        const results = await batch([
          { properties: { email: 'twice@example.com', points: 1 } },
          { properties: { email: 'TWICE@example.com', points: 2, tags: ['x'] } },
        ]);
        assert.equal(results[0].status, 'created');
        assert.deepEqual(results[1], { index: 1, status: 'updated', id: results[0].id });
        assert.deepEqual((await read(results[0].id!)).properties, { email: 'twice@example.com', points: 3, tags: ['x'] });
      });
    });

    describe('merging profiles', () => {
      test('a record matching two profiles merges them into the older; values combine by merge function', async () => {
        expectStatus(await req('PUT', '/profiles/merge-old', { properties: { email: 'merge.old@example.com', points: 5, tier: 'gold', tags: ['a', 'b'] } }), 201);
        expectStatus(await req('PUT', '/profiles/merge-new', { properties: { customer_id: 'CUST-MERGE', points: 7, city: 'Novi Sad', tags: ['b', 'c'] } }), 201);
        const [result] = await batch([{ properties: { email: 'merge.old@example.com', customer_id: 'CUST-MERGE', points: 1 } }]);
        assert.deepEqual(result, { index: 0, status: 'merged', id: 'merge-old' });

        const survivor = await read('merge-old');
        assert.equal(survivor.id, 'merge-old');
        assert.deepEqual(survivor.properties, {
          email: 'merge.old@example.com',
          customer_id: 'CUST-MERGE',
          points: 13,
          tier: 'gold',
          city: 'Novi Sad',
          tags: ['a', 'b', 'c'],
        });
        assert.deepEqual(survivor.identities, { email: 'merge.old@example.com', customer_id: 'CUST-MERGE' });

        // The merged-away id answers with the surviving profile, its own id in the body.
        const alias = await req('GET', '/profiles/merge-new');
        expectStatus(alias, 200);
        assert.deepEqual(alias.body, survivor);
        assert.deepEqual(await holdersOf('customer_id', 'CUST-MERGE'), ['merge-old']);

        // The identities now lead to the survivor alone.
        const [again] = await batch([{ properties: { customer_id: 'CUST-MERGE', points: 1 } }]);
        assert.deepEqual(again, { index: 0, status: 'updated', id: 'merge-old' });
        assert.equal((await read('merge-old')).properties.points, 14);

        // The merged-away id is an alias of the survivor for writes too.
        const [byAlias] = await batch([{ id: 'merge-new', properties: { points: 1 } }]);
        assert.deepEqual(byAlias, { index: 0, status: 'updated', id: 'merge-old' });
        const patched = await req('PATCH', '/profiles/merge-new', { properties: { points: 1 } });
        expectStatus(patched, 200);
        assert.equal(patched.body.id, 'merge-old');
        assert.equal(patched.body.properties.points, 16);
        expectError(await req('POST', '/profiles', { id: 'merge-new', properties: {} }), 409, 'ALREADY_EXISTS');
      });

      test('the oldest profile survives, whichever identity matched it', async () => {
        // zz-oldest is created first: neither the order of the record's properties nor the ids decide.
        expectStatus(await req('PUT', '/profiles/zz-oldest', { properties: { customer_id: 'CUST-OLDEST', points: 1 } }), 201);
        expectStatus(await req('PUT', '/profiles/aa-newer', { properties: { email: 'newer@example.com', points: 2 } }), 201);
        const [result] = await batch([{ properties: { email: 'newer@example.com', customer_id: 'CUST-OLDEST' } }]);
        assert.deepEqual(result, { index: 0, status: 'merged', id: 'zz-oldest' });
        const survivor = await read('aa-newer');
        assert.equal(survivor.id, 'zz-oldest');
        assert.deepEqual(survivor.properties, { customer_id: 'CUST-OLDEST', email: 'newer@example.com', points: 3 });
      });

      test('a record matching three profiles merges all of them into the oldest', async () => {
        expectStatus(await req('PUT', '/profiles/three-b', { properties: { customer_id: 'CUST-3', points: 10, tags: ['b'] } }), 201);
        expectStatus(await req('PUT', '/profiles/three-c', { properties: { crm_id: 'CRM-3', points: 100, tags: ['c'] } }), 201);
        expectStatus(await req('PUT', '/profiles/three-a', { properties: { email: 'three@example.com', points: 1, tags: ['a'] } }), 201);
        const [result] = await batch([{ properties: { email: 'three@example.com', customer_id: 'CUST-3', crm_id: 'CRM-3', points: 1000 } }]);
        assert.deepEqual(result, { index: 0, status: 'merged', id: 'three-b' });
        const survivor = await read('three-b');
        assert.equal(survivor.properties.points, 1111);
        assert.deepEqual([...survivor.properties.tags].sort(), ['a', 'b', 'c']);
        assert.equal(survivor.properties.tags[0], 'b', "the survivor's items come first");
        assert.deepEqual(survivor.identities, { email: 'three@example.com', customer_id: 'CUST-3', crm_id: 'CRM-3' });
        for (const id of ['three-a', 'three-c']) assert.equal((await read(id)).id, 'three-b', id);
      });

      test('erasing a survivor erases its merged-away ids and frees every identity', async () => {
        expectStatus(await req('PUT', '/profiles/erase-old', { properties: { email: 'erase@example.com' } }), 201);
        expectStatus(await req('PUT', '/profiles/erase-new', { properties: { customer_id: 'CUST-ERASE' } }), 201);
        const [merged] = await batch([{ properties: { email: 'erase@example.com', customer_id: 'CUST-ERASE' } }]);
        assert.deepEqual(merged, { index: 0, status: 'merged', id: 'erase-old' });
        const removed = await req('DELETE', '/profiles/erase-old');
        expectStatus(removed, 204);
        assert.equal(removed.raw, '');
        expectError(await req('GET', '/profiles/erase-old'), 404, 'NOT_FOUND');
        expectError(await req('GET', '/profiles/erase-new'), 404, 'NOT_FOUND');
        assert.deepEqual(await holdersOf('customer_id', 'CUST-ERASE'), []);
        const [fresh] = await batch([{ properties: { email: 'erase@example.com', customer_id: 'CUST-ERASE' } }]);
        assert.equal(fresh.status, 'created');
        assert.notEqual(fresh.id, 'erase-old');
        assert.notEqual(fresh.id, 'erase-new');
      });
    });

    describe('unique values', () => {
      test('two profiles may not hold one unique value: PUT, POST, PATCH → 409; nothing written', async () => {
        expectStatus(await req('PUT', '/profiles/vat-holder', { properties: { vat_no: 'RS100' } }), 201);

        const put = await req('PUT', '/profiles/vat-put', { properties: { vat_no: 'RS100', tier: 'gold' } });
        const putDetails = expectError(put, 409, 'CONFLICT');
        assert.deepEqual(putDetails.map((d) => d.field), ['properties.vat_no']);
        assert.match(putDetails[0].problem, /vat-holder/, 'names the profile that holds it');
        expectError(await req('GET', '/profiles/vat-put'), 404, 'NOT_FOUND');

        const post = await req('POST', '/profiles', { id: 'vat-post', properties: { vat_no: 'RS100' } });
        assert.deepEqual(expectError(post, 409, 'CONFLICT').map((d) => d.field), ['properties.vat_no']);
        expectError(await req('GET', '/profiles/vat-post'), 404, 'NOT_FOUND');

        expectStatus(await req('PUT', '/profiles/vat-patch', { properties: { tier: 'silver' } }), 201);
        const patch = await req('PATCH', '/profiles/vat-patch', { properties: { vat_no: 'RS100', tier: 'gold' } });
        assert.deepEqual(expectError(patch, 409, 'CONFLICT').map((d) => d.field), ['properties.vat_no']);
        assert.deepEqual((await read('vat-patch')).properties, { tier: 'silver' }, 'a refused PATCH changes nothing');

        // The holder may write its own value again; once it lets go, another may take it.
        expectStatus(await req('PUT', '/profiles/vat-holder', { properties: { vat_no: 'RS100', tier: 'x' } }), 200);
        expectStatus(await req('PATCH', '/profiles/vat-holder', { properties: { vat_no: null } }), 200);
        const taken = await req('PATCH', '/profiles/vat-patch', { properties: { vat_no: 'RS100' } });
        expectStatus(taken, 200);
        assert.deepEqual(taken.body.properties, { tier: 'silver', vat_no: 'RS100' });
      });

      test('a unique identity compares normalised values (email)', async () => {
        expectStatus(await req('PUT', '/profiles/email-holder', { properties: { email: 'same@example.com' } }), 201);
        const res = await req('PUT', '/profiles/email-twin', { properties: { email: '  Same@EXAMPLE.com' } });
        assert.deepEqual(expectError(res, 409, 'CONFLICT').map((d) => d.field), ['properties.email']);
        expectError(await req('GET', '/profiles/email-twin'), 404, 'NOT_FOUND');
      });

      test('a unique value is rejected in a batch, the rest written', async () => {
        expectStatus(await req('PUT', '/profiles/vat-batch-holder', { properties: { vat_no: 'RS200' } }), 201);
        const results = await batch([
          { id: 'vat-batch-1', properties: { vat_no: 'RS201', tier: 'a' } },
          { id: 'vat-batch-2', properties: { vat_no: 'RS200', tier: 'b' } },
          { id: 'vat-batch-3', properties: { vat_no: 'RS201', tier: 'c' } },
        ]);
        assert.deepEqual(results[0], { index: 0, status: 'created', id: 'vat-batch-1' });
        for (const i of [1, 2]) {
          assert.equal(results[i].status, 'rejected', JSON.stringify(results[i]));
          assert.deepEqual(results[i].errors!.map((e) => e.field), ['properties.vat_no']);
          assert.equal(results[i].id, undefined);
        }
        expectError(await req('GET', '/profiles/vat-batch-2'), 404, 'NOT_FOUND');
        expectError(await req('GET', '/profiles/vat-batch-3'), 404, 'NOT_FOUND');
        assert.deepEqual((await read('vat-batch-holder')).properties, { vat_no: 'RS200' });
      });

      test('long unique values that differ only at the end are different values', async () => {
        const long = 'V'.repeat(600);
        expectStatus(await req('PUT', '/profiles/long-vat-1', { properties: { vat_no: `${long}1` } }), 201);
        const second = await req('PUT', '/profiles/long-vat-2', { properties: { vat_no: `${long}2` } });
        expectStatus(second, 201);
        assert.equal(second.body.properties.vat_no, `${long}2`);
        // ...and the same long value is still refused.
        const twin = await req('PUT', '/profiles/long-vat-3', { properties: { vat_no: `${long}1` } });
        expectError(twin, 409, 'CONFLICT');
      });

      test('two profiles racing for one unique value: exactly one gets it', async () => {
        const [one, two] = await Promise.all([
          req('PUT', '/profiles/race-vat-1', { properties: { vat_no: 'RS-RACE' } }),
          req('PUT', '/profiles/race-vat-2', { properties: { vat_no: 'RS-RACE' } }),
        ]);
        assert.deepEqual([one.status, two.status].sort(), [201, 409], `${one.raw} ${two.raw}`);
        const loser = one.status === 409 ? one : two;
        assert.deepEqual(expectError(loser, 409, 'CONFLICT').map((d) => d.field), ['properties.vat_no']);
        assert.deepEqual((await holdersOf('vat_no', 'RS-RACE')).length, 1);
      });
    });

    describe('concurrency', () => {
      test('two batches in parallel carrying one new identity create one profile', async () => {
        for (let round = 0; round < 5; round++) {
          const customer = `RACE-${round}`;
          const body = { inputs: [{ properties: { customer_id: customer, points: 1 } }] };
          const responses = await Promise.all([1, 2].map(() => req('POST', '/profiles/batch', body)));
          for (const res of responses) expectStatus(res, 200);
          const results: Result[] = responses.map((res) => res.body.results[0]);
          assert.deepEqual(results.map((r) => r.status).sort(), ['created', 'updated'], JSON.stringify(results));
          assert.equal(results[0].id, results[1].id, 'both answer the same profile');
          assert.deepEqual(await holdersOf('customer_id', customer), [results[0].id]);
          assert.equal((await read(results[0].id!)).properties.points, 2, 'no write is lost');
        }
      });

      test('two PUTs of one new id in parallel: one creates it, the other replaces it', async () => {
        const [one, two] = await Promise.all([
          req('PUT', '/profiles/race-put', { properties: { tier: 'one' } }),
          req('PUT', '/profiles/race-put', { properties: { tier: 'two' } }),
        ]);
        assert.deepEqual([one.status, two.status].sort(), [200, 201], `${one.raw} ${two.raw}`);
        const last = one.status === 200 ? one : two;
        assert.deepEqual((await read('race-put')).properties, last.body.properties);
      });

      test('two POSTs of one new id in parallel: one creates it, the other → 409 ALREADY_EXISTS', async () => {
        const [one, two] = await Promise.all([
          req('POST', '/profiles', { id: 'race-post', properties: { tier: 'one' } }),
          req('POST', '/profiles', { id: 'race-post', properties: { tier: 'two' } }),
        ]);
        assert.deepEqual([one.status, two.status].sort(), [201, 409], `${one.raw} ${two.raw}`);
        const [winner, loser] = one.status === 201 ? [one, two] : [two, one];
        expectError(loser, 409, 'ALREADY_EXISTS');
        assert.deepEqual((await read('race-post')).properties, winner.body.properties);
      });

      test('parallel PATCHes under sum lose no write', async () => {
        expectStatus(await req('PUT', '/profiles/race-sum', { properties: { points: 0 } }), 201);
        const responses = await Promise.all(Array.from({ length: 10 }, () => req('PATCH', '/profiles/race-sum', { properties: { points: 1 } })));
        for (const res of responses) expectStatus(res, 200);
        assert.equal((await read('race-sum')).properties.points, 10);
      });

      test('parallel batches sharing several new identities in different orders create one profile each', async () => {
        const customers = ['MULTI-A', 'MULTI-B', 'MULTI-C', 'MULTI-D'];
        const orders = [customers, [...customers].reverse(), [customers[2], customers[0], customers[3], customers[1]]];
        const responses = await Promise.all(
          orders.map((order) => req('POST', '/profiles/batch', { inputs: order.map((customer_id) => ({ properties: { customer_id, points: 1 } })) })),
        );
        for (const res of responses) expectStatus(res, 200);
        for (const customer of customers) {
          const holders = await holdersOf('customer_id', customer);
          assert.equal(holders.length, 1, `${customer}: ${holders.join(', ')}`);
          assert.equal((await read(holders[0])).properties.points, orders.length, customer);
        }
        const statuses = responses.flatMap((res) => res.body.results.map((r: Result) => r.status));
        assert.equal(statuses.filter((s: string) => s === 'created').length, customers.length);
        assert.equal(statuses.filter((s: string) => s === 'updated').length, customers.length * (orders.length - 1));
      });
    });

    describe('batch rules', () => {
      test('one bad record among good ones: the good ones written, the bad one rejected with every reason', async () => {
        expectStatus(await req('PUT', '/profiles/batch-existing', { properties: { tier: 'before', points: 1 } }), 201);
        const results = await batch([
          { id: 'batch-good-1', properties: { tier: 'one' } },
          { id: 'batch-bad-new', properties: { tier: 'written?', points: 'many', nope: 1, email: 'a@b' } },
          { properties: { email: 'batch.good@example.com' } },
          { id: 'batch-existing', properties: { tier: 'changed?', points: 1.5 } },
          { id: 'batch-existing', properties: { points: 2 } },
        ]);
        assert.deepEqual(results[0], { index: 0, status: 'created', id: 'batch-good-1' });
        assert.equal(results[1].status, 'rejected');
        assert.equal(results[1].id, undefined);
        assert.deepEqual(results[1].errors!.map((e) => e.field).sort(), ['properties.email', 'properties.nope', 'properties.points']);
        for (const e of results[1].errors!) assert.ok(e.problem.length > 0, `${e.field} says what is wrong`);
        assert.equal(results[2].status, 'created');
        assert.equal(results[3].status, 'rejected');
        assert.deepEqual(results[3].errors!.map((e) => e.field), ['properties.points']);
        assert.deepEqual(results[4], { index: 4, status: 'updated', id: 'batch-existing' });

        assert.deepEqual((await read('batch-good-1')).properties, { tier: 'one' });
        assert.deepEqual((await read(results[2].id!)).properties, { email: 'batch.good@example.com' });
        expectError(await req('GET', '/profiles/batch-bad-new'), 404, 'NOT_FOUND');
        assert.deepEqual((await read('batch-existing')).properties, { tier: 'before', points: 3 }, 'nothing of the rejected record is written');
      });

      test('an unknown source rejects its record only', async () => {
        const results = await batch([
          { id: 'source-bad', properties: { tier: 'x' }, source: 'nowhere' },
          { id: 'source-none', properties: { tier: 'y' } },
        ]);
        assert.equal(results[0].status, 'rejected');
        assert.deepEqual(results[0].errors!.map((e) => e.field), ['source']);
        assert.deepEqual(results[1], { index: 1, status: 'created', id: 'source-none' });
        expectError(await req('GET', '/profiles/source-bad'), 404, 'NOT_FOUND');
      });

      // A timestamp is checked per record: a date that does not exist rejects its record alone.
      const timestamps: { title: string; timestamp: string; ok: boolean }[] = [
        { title: 'a UTC time', timestamp: '2021-02-28T10:00:00Z', ok: true },
        { title: 'an offset, lower-case t and z allowed', timestamp: '2021-02-28t10:00:00.123+05:30', ok: true },
        { title: 'a leap day', timestamp: '2024-02-29T00:00:00Z', ok: true },
        { title: 'a year before 100', timestamp: '0050-06-01T00:00:00Z', ok: true },
        { title: 'the 30th of February', timestamp: '2021-02-30T00:00:00Z', ok: false },
        { title: 'a leap day in a common year', timestamp: '2023-02-29T00:00:00Z', ok: false },
        { title: 'an offset of +25:00', timestamp: '2021-02-28T10:00:00+25:00', ok: false },
        { title: 'an offset of -03:60', timestamp: '2021-02-28T10:00:00-03:60', ok: false },
        { title: 'hour 24', timestamp: '2021-02-28T24:00:00Z', ok: false },
        { title: 'minute 60', timestamp: '2021-02-28T10:60:00Z', ok: false },
        { title: 'no offset', timestamp: '2021-02-28T10:00:00', ok: false },
        { title: 'a date alone', timestamp: '2021-02-28', ok: false },
        { title: 'words', timestamp: 'yesterday', ok: false },
        { title: 'empty', timestamp: '', ok: false },
      ];
      for (const [i, row] of timestamps.entries()) {
        test(`timestamp ${row.title} (${JSON.stringify(row.timestamp)}): ${row.ok ? 'written' : 'its record alone rejected'}`, async () => {
          const results = await batch([
            { id: `ts-before-${i}`, properties: { tier: 'a' } },
            { id: `ts-${i}`, properties: { tier: 'b' }, timestamp: row.timestamp },
            { id: `ts-after-${i}`, properties: { tier: 'c' }, timestamp: '2021-01-01T00:00:00Z' },
          ]);
          assert.deepEqual(results[0], { index: 0, status: 'created', id: `ts-before-${i}` });
          assert.deepEqual(results[2], { index: 2, status: 'created', id: `ts-after-${i}` });
          if (row.ok) {
            assert.deepEqual(results[1], { index: 1, status: 'created', id: `ts-${i}` });
            const res = await req('GET', `/profiles/ts-${i}?include=provenance`);
            expectStatus(res, 200);
            assert.equal(res.body.provenance.tier.updated_at, new Date(row.timestamp).toISOString(), 'dated by its timestamp');
          } else {
            assert.equal(results[1].status, 'rejected', JSON.stringify(results[1]));
            assert.deepEqual(results[1].errors!.map((e) => e.field), ['timestamp']);
            assert.match(results[1].errors![0].problem, /RFC 3339 .*such as 2026-11-23T12:00:00Z/);
            expectError(await req('GET', `/profiles/ts-${i}`), 404, 'NOT_FOUND');
          }
          expectStatus(await req('GET', `/profiles/ts-after-${i}`), 200);
        });
      }

      test('a bad timestamp is listed with the record\'s other problems', async () => {
        const [result] = await batch([{ id: 'ts-several', properties: { nope: 1 }, timestamp: '2021-13-01T00:00:00Z' }]);
        assert.equal(result.status, 'rejected');
        assert.deepEqual(result.errors!.map((e) => e.field).sort(), ['properties.nope', 'timestamp']);
      });

      test('1000 records are one batch', async () => {
        const inputs = Array.from({ length: 1000 }, (_, i) => ({ id: `bulk-${i}`, properties: { points: i } }));
        const results = await batch(inputs);
        assert.ok(results.every((r, i) => r.status === 'created' && r.id === `bulk-${i}`));
        assert.equal((await read('bulk-999')).properties.points, 999);
      });

      test('more than 1000 records → 413 PAYLOAD_TOO_LARGE, nothing written', async () => {
        const inputs = Array.from({ length: 1001 }, (_, i) => ({ id: `too-many-${i}`, properties: { points: i } }));
        expectError(await req('POST', '/profiles/batch', { inputs }), 413, 'PAYLOAD_TOO_LARGE');
        expectError(await req('GET', '/profiles/too-many-0'), 404, 'NOT_FOUND');
      });

      test('bad batch bodies → 400 naming the field', async () => {
        const cases: [unknown, string[]][] = [
          [{ inputs: [] }, ['inputs']],
          [{}, ['inputs']],
          [{ inputs: {} }, ['inputs']],
          [{ inputs: [{ properties: {} }], extra: 1 }, ['extra']],
          [{ inputs: [{ properties: { tier: 'x' }, colour: 'red' }] }, ['inputs[0].colour']],
          [{ inputs: [{ id: 'bad id', properties: {} }] }, ['inputs[0].id']],
          [{ inputs: [{ properties: {}, timestamp: 20210228 }] }, ['inputs[0].timestamp']],
          [{ inputs: [{ properties: 'tier=x' }] }, ['inputs[0].properties']],
          [{ inputs: [{ id: 'no-properties' }] }, ['inputs[0].properties']],
          [{ inputs: [{ properties: {}, source: 5 }] }, ['inputs[0].source']],
        ];
        for (const [body, fields] of cases) {
          const res = await req('POST', '/profiles/batch', body);
          assert.deepEqual(expectError(res, 400, 'VALIDATION_FAILED').map((d) => d.field).sort(), fields, JSON.stringify(body));
        }
        expectError(await req('GET', '/profiles/no-properties'), 404, 'NOT_FOUND');
      });
    });
  });
}
