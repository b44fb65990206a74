// Native data sources: CRUD, mapping rules, and the rule that a mapped property cannot be purged.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTenancy, createTestApp, expectError, expectStatus, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

for (const dialect of dialects) {
  describe(`data sources [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let base: string;
    const req = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
      t.request({ method, url: `${base}${url}`, token: a.token, ...(payload === undefined ? {} : { payload: payload as object }) });

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t, 'Alpha');
      base = `/v1/workspaces/${a.workspaceId}`;
      for (const p of [
        { name: 'customer_id', data_type: 'string', identity: { role: 'primary' } },
        { name: 'points', data_type: 'integer' },
        { name: 'tags', data_type: 'string', multi_valued: true },
      ]) {
        expectStatus(await req('POST', '/properties', p), 201);
      }
    });
    after(() => t.close());

    test('create with defaults, read back, list', async () => {
      const res = await req('POST', '/sources', {
        name: 'crm',
        mappings: [{ property: 'customer_id', input_path: 'properties.customer_id', alternate_paths: ['otherIds.customer_id'], mandatory: true }],
      });
      expectStatus(res, 201);
      assert.equal(res.headers.location, `${base}/sources/${res.body.id}`);
      assert.deepEqual(
        { name: res.body.name, priority: res.body.priority, mappings: res.body.mappings },
        {
          name: 'crm',
          priority: 1,
          mappings: [{ property: 'customer_id', input_path: 'properties.customer_id', alternate_paths: ['otherIds.customer_id'], mandatory: true, merge_function: null }],
        },
      );
      const got = await req('GET', `/sources/${res.body.id}`);
      expectStatus(got, 200);
      assert.deepEqual(got.body, res.body);
      const list = await req('GET', '/sources');
      expectStatus(list, 200);
      assert.deepEqual(list.body, { data: [res.body], next_cursor: null });
    });

    test('PATCH replaces mappings and keeps what it does not name', async () => {
      const created = await req('POST', '/sources', { name: 'shop', priority: 2, mappings: [{ property: 'points', input_path: 'p' }] });
      expectStatus(created, 201);
      const res = await req('PATCH', `/sources/${created.body.id}`, { mappings: [{ property: 'points', input_path: 'loyalty.points', merge_function: 'sum' }] });
      expectStatus(res, 200);
      assert.equal(res.body.name, 'shop');
      assert.equal(res.body.priority, 2);
      assert.deepEqual(res.body.mappings, [{ property: 'points', input_path: 'loyalty.points', alternate_paths: [], mandatory: false, merge_function: 'sum' }]);
    });

    const invalid = [
      { title: 'unknown property', body: { name: 'x1', mappings: [{ property: 'nope', input_path: 'a' }] }, fields: ['mappings[0].property'] },
      {
        title: 'property mapped twice',
        body: { name: 'x2', mappings: [{ property: 'points', input_path: 'a' }, { property: 'points', input_path: 'b' }] },
        fields: ['mappings[1].property'],
      },
      { title: 'merge function not for the type', body: { name: 'x3', mappings: [{ property: 'customer_id', input_path: 'a', merge_function: 'sum' }] }, fields: ['mappings[0].merge_function'] },
      { title: 'append on a single value', body: { name: 'x4', mappings: [{ property: 'points', input_path: 'a', merge_function: 'append' }] }, fields: ['mappings[0].merge_function'] },
      { title: 'bad input path', body: { name: 'x5', mappings: [{ property: 'points', input_path: 'a..b' }] }, fields: ['mappings[0].input_path'] },
      { title: 'priority out of range', body: { name: 'x6', priority: 0 }, fields: ['priority'] },
      { title: 'unknown field', body: { name: 'x7', kind: 'batch' }, fields: ['kind'] },
      { title: 'missing name', body: { priority: 1 }, fields: ['name'] },
    ];
    for (const row of invalid) {
      test(`refused: ${row.title}`, async () => {
        const details = expectError(await req('POST', '/sources', row.body), 400, 'VALIDATION_FAILED');
        assert.deepEqual(details.map((d) => d.field), row.fields);
      });
    }

    test('a duplicate name is 409, case-insensitively', async () => {
      expectError(await req('POST', '/sources', { name: 'CRM' }), 409, 'ALREADY_EXISTS');
    });

    test('a mapped property cannot be purged; archiving is fine; unmapping frees it', async () => {
      const src = await req('POST', '/sources', { name: 'tagger', mappings: [{ property: 'tags', input_path: 'tags', merge_function: 'append' }] });
      expectStatus(src, 201);
      const refused = await req('DELETE', '/properties/tags?purge=true');
      const details = expectError(refused, 409, 'CONFLICT');
      assert.deepEqual(details, [{ field: 'sources', problem: 'these data sources map the property', allowed: ['tagger'] }]);
      assert.match(refused.body.error.message, /"tagger"/);
      expectStatus(await req('DELETE', '/properties/tags'), 204);
      expectStatus(await req('POST', '/properties/tags/restore'), 200);
      expectStatus(await req('DELETE', `/sources/${src.body.id}`), 204);
      expectStatus(await req('DELETE', '/properties/tags?purge=true'), 202);
    });

    test('unknown and deleted sources are 404', async () => {
      expectError(await req('GET', '/sources/9999'), 404, 'NOT_FOUND');
      expectError(await req('DELETE', '/sources/9999'), 404, 'NOT_FOUND');
      expectError(await req('PATCH', '/sources/9999', { priority: 3 }), 404, 'NOT_FOUND');
    });

    test('another tenant sees 404', async () => {
      const b = await createTenancy(t, 'Beta');
      const res = await t.request({ method: 'GET', url: `${base}/sources`, token: b.token });
      expectError(res, 404, 'NOT_FOUND');
    });
  });
}
