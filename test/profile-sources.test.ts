// Ingesting raw records through a data source: paths, alternate paths, mandatory mappings,
// the mapping's merge function, and source priorities.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTenancy, createTestApp, expectError, expectStatus, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

for (const dialect of dialects) {
  describe(`ingesting records through a source [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let ws: string;
    let crm: number;
    let shop: number;
    const post = (url: string, payload: unknown) => t.request({ method: 'POST', url: `${ws}${url}`, token: a.token, payload: payload as object });
    const byCustomer = async (id: string) => {
      const res = await t.request({ method: 'GET', url: `${ws}/profiles?filter[customer_id][eq]=${id}`, token: a.token });
      expectStatus(res, 200);
      return res.body.data as { id: string; properties: Record<string, unknown> }[];
    };

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t, 'Ingest');
      ws = `/v1/workspaces/${a.workspaceId}`;
      expectStatus(await post('/properties', { name: 'customer_id', data_type: 'string', identity: { role: 'primary', priority: 2 } }), 201);
      expectStatus(await post('/properties', { name: 'points', data_type: 'integer' }), 201);
      expectStatus(await post('/properties', { name: 'tier', data_type: 'string' }), 201);
      const c = await post('/sources', {
        name: 'crm',
        priority: 1,
        mappings: [
          { property: 'customer_id', input_path: 'properties.customer_id', alternate_paths: ['otherIds.customer_id', 'ids[0].value'], mandatory: true },
          { property: 'points', input_path: 'loyalty.points', merge_function: 'sum' },
          { property: 'tier', input_path: 'tier' },
        ],
      });
      expectStatus(c, 201);
      crm = c.body.id;
      const s = await post('/sources', { name: 'shop', priority: 2, mappings: [{ property: 'customer_id', input_path: 'cid', mandatory: true }, { property: 'tier', input_path: 'tier' }] });
      expectStatus(s, 201);
      shop = s.body.id;
    });
    after(() => t.close());

    test('paths, alternate paths and the mapping merge function; a record missing a mandatory path is rejected', async () => {
      const res = await post(`/sources/${crm}/records`, {
        records: [
          { properties: { customer_id: 'C1' }, loyalty: { points: 5 } },
          { otherIds: { customer_id: 'C1' }, loyalty: { points: 7 } },
          { ids: [{ value: 'C2' }], tier: 'gold' },
          { loyalty: { points: 1 } },
          { properties: { customer_id: 42 } },
        ],
      });
      expectStatus(res, 200);
      const [first, second, third, missing, wrongType] = res.body.results;
      assert.deepEqual([first.status, second.status, third.status], ['created', 'updated', 'created']);
      assert.equal(second.id, first.id);
      assert.deepEqual(missing, {
        index: 3,
        status: 'rejected',
        errors: [{ field: 'properties.customer_id', problem: 'is required by the mapping to customer_id (also tried: otherIds.customer_id, ids[0].value)' }],
      });
      assert.deepEqual(wrongType, { index: 4, status: 'rejected', errors: [{ field: 'properties.customer_id', problem: 'must be a string' }] });
      assert.deepEqual((await byCustomer('C1')).map((p) => p.properties), [{ customer_id: 'C1', points: 12 }]);
      assert.deepEqual((await byCustomer('C2')).map((p) => p.properties), [{ customer_id: 'C2', tier: 'gold' }]);
    });

    test('a lower-priority source does not replace a higher-priority one under update; the reverse does', async () => {
      expectStatus(await post(`/sources/${crm}/records`, { records: [{ properties: { customer_id: 'C3' }, tier: 'gold' }] }), 200);
      expectStatus(await post(`/sources/${shop}/records`, { records: [{ cid: 'C3', tier: 'bronze' }] }), 200);
      const [p] = await byCustomer('C3');
      assert.equal(p.properties.tier, 'gold');
      const withProvenance = await t.request({ method: 'GET', url: `${ws}/profiles/${p.id}?include=provenance`, token: a.token });
      expectStatus(withProvenance, 200);
      assert.equal(withProvenance.body.provenance.tier.source, 'crm');

      expectStatus(await post(`/sources/${shop}/records`, { records: [{ cid: 'C4', tier: 'bronze' }] }), 200);
      expectStatus(await post(`/sources/${crm}/records`, { records: [{ properties: { customer_id: 'C4' }, tier: 'gold' }] }), 200);
      assert.equal((await byCustomer('C4'))[0].properties.tier, 'gold');
    });

    test('an unknown source is 404; over 1000 records is 413; a non-object record is 400', async () => {
      expectError(await post('/sources/999/records', { records: [{}] }), 404, 'NOT_FOUND');
      expectError(await post(`/sources/${crm}/records`, { records: Array.from({ length: 1001 }, () => ({})) }), 413, 'PAYLOAD_TOO_LARGE');
      const details = expectError(await post(`/sources/${crm}/records`, { records: [[1, 2]] }), 400, 'VALIDATION_FAILED');
      assert.deepEqual(details.map((d) => d.field), ['records[0]']);
    });
  });
}
