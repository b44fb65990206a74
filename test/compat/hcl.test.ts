// The HCL CDP surface (/hcl): every example of the vendor's page replayed verbatim, the list
// shape, changes seen through the native API, deletes, and every class of bad input in the
// vendor's envelope `{error, message}`. Rules are tables of {title, input, expected}.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { createTenancy, createTestApp, expectStatus, type Response, type Tenancy, type TestApp } from '../helpers/app.ts';
import { dialects } from '../helpers/dialects.ts';

const BASE = '/hcl/api/campaign-data-dictionary';
/** The campaign id of the vendor's examples, created as the workspace id. */
const CAMPAIGN = 6335;

/** Status and the whole body, exactly; the envelope never carries a stack, SQL or framework internals. */
function expectHcl(res: Response, status: number, body: unknown): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.raw}`);
  assert.deepEqual(res.body, body, `body of a ${res.status}: ${res.raw}`);
  assert.match(String(res.headers['content-type']), /^application\/json/, res.raw);
  assert.doesNotMatch(res.raw, /\bat \S+ \(|\bat (file|node):|\.ts:\d+|node_modules|FST_|SQLITE_|sqlstate/i, 'nothing internal');
}

interface Call {
  method: InjectOptions['method'];
  url: string;
  payload?: unknown;
  /** The authKey header; null sends none. */
  key?: string | null;
  headers?: Record<string, string>;
}

function client(t: () => TestApp, defaultKey: () => string) {
  return ({ method, url, payload, key, headers = {} }: Call) => {
    const authKey = key === undefined ? defaultKey() : key;
    return t().request({
      method,
      url,
      payload: payload as InjectOptions['payload'],
      token: null, // no Authorization header: only authKey authenticates here
      headers: { ...(authKey === null ? {} : { authkey: authKey }), ...headers },
    });
  };
}

for (const dialect of dialects) {
  describe(`HCL CDP: the vendor page replayed verbatim [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    const hcl = client(() => t, () => a.token);
    /** A documented sentence, with its `####` as the owning tenant's id. */
    const doc = (text: string) => text.replaceAll('####', String(a.tenantId));
    const json = { 'content-type': 'application/json' };

    // The payload of "Create User property" and "Update User property", as printed, with the
    // campaign id filled in.
    const seedPayload = `{
"campaignId": ${CAMPAIGN},
"dmpDataPointCode": "DMP123",
"dataType": "STRING",
"preference": "none",
"priority": 1,
"mergeFunction": "UPDATE"
}`;

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t, 'HCL Tenant', CAMPAIGN);
      assert.equal(a.workspaceId, CAMPAIGN);
    });
    after(() => t.close());

    test('Get All User properties, none yet → the documented 404', async () => {
      const res = await hcl({ method: 'GET', url: `${BASE}/campaignId/${CAMPAIGN}` });
      expectHcl(res, 404, { error: 'Not Found', message: doc('No user properties found for Tenant ####.') });
    });

    test('Update User property that does not exist → the documented 404', async () => {
      const res = await hcl({ method: 'PUT', url: BASE, payload: seedPayload, headers: json });
      expectHcl(res, 404, { error: 'Not Found', message: doc("User property 'DMP123' not found for Tenant ####.") });
    });

    test('Create User property → the documented success', async () => {
      const res = await hcl({ method: 'POST', url: BASE, payload: seedPayload, headers: json });
      expectHcl(res, 200, { message: doc("User property 'DMP123' has been successfully created for Tenant ####.") });
    });

    test('Create User property again → the documented Bad Request', async () => {
      const res = await hcl({ method: 'POST', url: BASE, payload: seedPayload, headers: json });
      expectHcl(res, 400, { error: 'Bad Request', message: doc("User property 'DMP123' already exists for Tenant ####.") });
    });

    test('Update User property → the documented success', async () => {
      const res = await hcl({ method: 'PUT', url: BASE, payload: seedPayload, headers: json });
      expectHcl(res, 200, { message: doc("User property 'DMP123' for Tenant #### has been updated successfully.") });
    });

    test('Delete User property mapped by a data source → the documented Bad Request; after the source goes, it is removed', async () => {
      const source = await t.request({
        method: 'POST',
        url: `/v1/workspaces/${CAMPAIGN}/sources`,
        token: a.token,
        payload: { name: 'crm', mappings: [{ property: 'DMP123', input_path: 'properties.customer_id', alternate_paths: ['otherIds.customer_id'] }] },
      });
      expectStatus(source, 201);
      const refused = await hcl({ method: 'DELETE', url: `${BASE}/campaignId/${CAMPAIGN}/dataPoint/DMP123` });
      expectHcl(refused, 400, {
        error: 'Bad Request',
        message: doc(
          "User property 'DMP123' for Tenant #### is mapped to existing data sources. Please remove the respective data source mappings before deleting the user property.",
        ),
      });
      const kept = await t.request({ method: 'GET', url: `/v1/workspaces/${CAMPAIGN}/properties/DMP123`, token: a.token });
      expectStatus(kept, 200);
      assert.equal(kept.body.name, 'DMP123');

      const unmapped = await t.request({ method: 'DELETE', url: `/v1/workspaces/${CAMPAIGN}/sources/${source.body.id}`, token: a.token });
      expectStatus(unmapped, 204);
      const res = await hcl({ method: 'DELETE', url: `${BASE}/campaignId/${CAMPAIGN}/dataPoint/DMP123` });
      expectHcl(res, 200, { message: doc("User property 'DMP123' for Tenant #### has been removed successfully.") });
    });

    test('Delete User property that does not exist → the documented 404', async () => {
      const res = await hcl({ method: 'DELETE', url: `${BASE}/campaignId/${CAMPAIGN}/dataPoint/DMP123` });
      expectHcl(res, 404, { error: 'Not Found', message: doc("User property 'DMP123' not found for Tenant ####.") });
    });

    test('Get All User properties → the documented array (ids are ours)', async () => {
      for (const [code, preference, priority] of [['aadhar', 'sec', 3], ['actts', 'none', 1]] as const) {
        const payload = { campaignId: CAMPAIGN, dmpDataPointCode: code, dataType: 'STRING', preference, priority, mergeFunction: 'UPDATE' };
        expectHcl(await hcl({ method: 'POST', url: BASE, payload }), 200, {
          message: doc(`User property '${code}' has been successfully created for Tenant ####.`),
        });
      }
      const res = await hcl({ method: 'GET', url: `${BASE}/campaignId/${CAMPAIGN}` });
      expectStatus(res, 200);
      assert.ok(Array.isArray(res.body), res.raw);
      const ids: number[] = res.body.map((item: { id: number }) => item.id);
      assert.ok(ids.every((id) => Number.isInteger(id)), res.raw);
      assert.ok(ids[0] < ids[1], 'ids in creation order here');
      expectHcl(res, 200, [
        { id: ids[0], campaignId: CAMPAIGN, dmpDataPointCode: 'aadhar', dataType: 'STRING', preference: 'sec', priority: 3, mergeFunction: 'UPDATE', isProfileField: 1, metadata: '{}' },
        { id: ids[1], campaignId: CAMPAIGN, dmpDataPointCode: 'actts', dataType: 'STRING', preference: 'none', priority: 1, mergeFunction: 'UPDATE', isProfileField: 1, metadata: '{}' },
      ]);
      // The order of the keys is the documented one too.
      assert.deepEqual(Object.keys(res.body[0]), ['id', 'campaignId', 'dmpDataPointCode', 'dataType', 'preference', 'priority', 'mergeFunction', 'isProfileField', 'metadata']);
    });
  });

  describe(`HCL CDP: list, update and delete against the native model [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let ws: number;
    const hcl = client(() => t, () => a.token);
    const native = (method: InjectOptions['method'], path: string, payload?: unknown) =>
      t.request({ method, url: `/v1/workspaces/${ws}${path}`, token: a.token, payload: payload as InjectOptions['payload'] });
    const body = (code: string, rest: Record<string, unknown> = {}) => ({ campaignId: ws, dmpDataPointCode: code, ...rest });
    const created = (code: string) => ({ message: `User property '${code}' has been successfully created for Tenant ${a.tenantId}.` });
    const updated = (code: string) => ({ message: `User property '${code}' for Tenant ${a.tenantId} has been updated successfully.` });
    const bad = (message: string) => ({ error: 'Bad Request', message });
    const listed = async (code: string) => {
      const res = await hcl({ method: 'GET', url: `${BASE}/campaignId/${ws}` });
      expectStatus(res, 200);
      return res.body.find((item: { dmpDataPointCode: string }) => item.dmpDataPointCode === code);
    };

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t, 'Lists');
      ws = a.workspaceId;
    });
    after(() => t.close());

    test('a list item, field by field, matches the native property', async () => {
      expectHcl(await hcl({ method: 'POST', url: BASE, payload: body('loyalty_id', { dataType: 'NUMBER', preference: 'pri', priority: 2, mergeFunction: 'MAX' }) }), 200, created('loyalty_id'));
      const prop = await native('GET', '/properties/loyalty_id');
      expectStatus(prop, 200);
      const item = await listed('loyalty_id');
      assert.deepEqual(item, {
        id: prop.body.id,
        campaignId: ws,
        dmpDataPointCode: 'loyalty_id',
        dataType: 'NUMBER',
        preference: 'pri',
        priority: 2,
        mergeFunction: 'MAX',
        isProfileField: 1,
        metadata: '{}',
      });
      assert.deepEqual(
        { data_type: prop.body.data_type, identity: prop.body.identity, merge_function: prop.body.merge_function, system: prop.body.system },
        { data_type: 'number', identity: { role: 'primary', priority: 2 }, merge_function: 'max', system: false },
      );
    });

    test('a create without preference, priority or mergeFunction takes none, 1 and UPDATE', async () => {
      expectHcl(await hcl({ method: 'POST', url: BASE, payload: body('bare', { dataType: 'DATE' }) }), 200, created('bare'));
      const item = await listed('bare');
      assert.deepEqual([item.dataType, item.preference, item.priority, item.mergeFunction], ['DATE', 'none', 1, 'UPDATE']);
      const prop = await native('GET', '/properties/bare');
      assert.deepEqual([prop.body.identity, prop.body.merge_function], [{ role: 'none', priority: null }, 'update']);
    });

    test('native metadata is listed as a JSON string', async () => {
      expectStatus(await native('POST', '/properties', { name: 'with_meta', data_type: 'string', metadata: { source: 'crm', weight: 2 } }), 201);
      assert.equal((await listed('with_meta')).metadata, '{"source":"crm","weight":2}');
    });

    test('system properties are not listed; archived ones neither', async () => {
      expectStatus(await native('POST', '/properties', { name: 'archived_one', data_type: 'string' }), 201);
      expectStatus(await native('DELETE', '/properties/archived_one'), 204);
      const res = await hcl({ method: 'GET', url: `${BASE}/campaignId/${ws}` });
      expectStatus(res, 200);
      const codes = res.body.map((item: { dmpDataPointCode: string }) => item.dmpDataPointCode);
      for (const hidden of ['email', 'phone', 'first_name', 'created_at', 'archived_one']) assert.ok(!codes.includes(hidden), `${hidden} not listed: ${res.raw}`);
    });

    // Native types HCL cannot name are listed under the closest HCL type.
    const nativeToHcl: { title: string; input: Record<string, unknown>; expected: string }[] = [
      { title: 'string', input: { data_type: 'string' }, expected: 'STRING' },
      { title: 'text', input: { data_type: 'text' }, expected: 'STRING' },
      { title: 'number', input: { data_type: 'number' }, expected: 'NUMBER' },
      { title: 'integer', input: { data_type: 'integer' }, expected: 'NUMBER' },
      { title: 'boolean', input: { data_type: 'boolean' }, expected: 'BOOLEAN' },
      { title: 'date', input: { data_type: 'date' }, expected: 'DATE' },
      { title: 'datetime', input: { data_type: 'datetime' }, expected: 'DATETIME' },
      { title: 'link', input: { data_type: 'link' }, expected: 'STRING' },
      { title: 'email', input: { data_type: 'email' }, expected: 'STRING' },
      { title: 'phone', input: { data_type: 'phone' }, expected: 'STRING' },
      { title: 'enum', input: { data_type: 'enum', options: [{ value: 'gold' }] }, expected: 'STRING' },
      { title: 'json', input: { data_type: 'json' }, expected: 'STRING' },
    ];
    for (const { title, input, expected } of nativeToHcl) {
      test(`native ${title} is listed as ${expected}`, async () => {
        const name = `native_${title}`;
        expectStatus(await native('POST', '/properties', { name, ...input }), 201);
        assert.equal((await listed(name)).dataType, expected);
      });
    }

    const hclToNative: { title: string; input: string; expected: string }[] = [
      { title: 'STRING', input: 'STRING', expected: 'string' },
      { title: 'NUMBER', input: 'NUMBER', expected: 'number' },
      { title: 'BOOLEAN', input: 'BOOLEAN', expected: 'boolean' },
      { title: 'DATE', input: 'DATE', expected: 'date' },
      { title: 'DATETIME', input: 'DATETIME', expected: 'datetime' },
    ];
    for (const { title, input, expected } of hclToNative) {
      test(`dataType ${title} is created as native ${expected}`, async () => {
        const code = `hcl_${title.toLowerCase()}`;
        expectHcl(await hcl({ method: 'POST', url: BASE, payload: body(code, { dataType: input }) }), 200, created(code));
        const prop = await native('GET', `/properties/${code}`);
        expectStatus(prop, 200);
        assert.equal(prop.body.data_type, expected);
      });
    }

    test('PUT changes dataType, preference, priority and mergeFunction, visible through the native API', async () => {
      expectHcl(await hcl({ method: 'POST', url: BASE, payload: body('score', { dataType: 'STRING' }) }), 200, created('score'));
      const before = await native('GET', '/properties/score');
      const res = await hcl({ method: 'PUT', url: BASE, payload: body('score', { dataType: 'NUMBER', preference: 'sec', priority: 4, mergeFunction: 'SUM' }) });
      expectHcl(res, 200, updated('score'));
      const prop = await native('GET', '/properties/score');
      expectStatus(prop, 200);
      assert.deepEqual(
        { data_type: prop.body.data_type, identity: prop.body.identity, merge_function: prop.body.merge_function, version: prop.body.version },
        { data_type: 'number', identity: { role: 'secondary', priority: 4 }, merge_function: 'sum', version: before.body.version + 1 },
      );
      const item = await listed('score');
      assert.deepEqual([item.dataType, item.preference, item.priority, item.mergeFunction], ['NUMBER', 'sec', 4, 'SUM']);
    });

    test('PUT leaves out fields: they keep their value; the same values again change nothing', async () => {
      expectHcl(await hcl({ method: 'PUT', url: BASE, payload: body('score', { priority: 7 }) }), 200, updated('score'));
      const prop = await native('GET', '/properties/score');
      assert.deepEqual([prop.body.data_type, prop.body.identity, prop.body.merge_function], ['number', { role: 'secondary', priority: 7 }, 'sum']);
      const again = await hcl({ method: 'PUT', url: BASE, payload: body('score', { dataType: 'NUMBER', preference: 'sec', priority: 7, mergeFunction: 'SUM' }) });
      expectHcl(again, 200, updated('score'));
      assert.equal((await native('GET', '/properties/score')).body.version, prop.body.version, 'no new version');
    });

    test('PUT with the HCL name of a native type keeps the native type (email stays email)', async () => {
      expectStatus(await native('POST', '/properties', { name: 'work_email', data_type: 'email' }), 201);
      const res = await hcl({ method: 'PUT', url: BASE, payload: body('work_email', { dataType: 'STRING', preference: 'pri', priority: 1, mergeFunction: 'UPDATE' }) });
      expectHcl(res, 200, updated('work_email'));
      const prop = await native('GET', '/properties/work_email');
      assert.deepEqual([prop.body.data_type, prop.body.identity], ['email', { role: 'primary', priority: 1 }]);
    });

    test('PUT addresses the code case-insensitively, as the native names are', async () => {
      expectHcl(await hcl({ method: 'PUT', url: BASE, payload: body('SCORE', { priority: 8 }) }), 200, updated('SCORE'));
      assert.deepEqual((await native('GET', '/properties/score')).body.identity, { role: 'secondary', priority: 8 });
    });

    test('APPEND is taken by a multi-valued property defined natively, and listed', async () => {
      expectStatus(await native('POST', '/properties', { name: 'tags', data_type: 'string', multi_valued: true }), 201);
      expectHcl(await hcl({ method: 'PUT', url: BASE, payload: body('tags', { mergeFunction: 'APPEND' }) }), 200, updated('tags'));
      assert.equal((await native('GET', '/properties/tags')).body.merge_function, 'append');
      assert.equal((await listed('tags')).mergeFunction, 'APPEND');
    });

    test('the workspace limit of custom properties → 400', async () => {
      const limited = await createTestApp(dialect, { propertyLimit: 1 });
      try {
        const c = await createTenancy(limited, 'Limited');
        const create = (code: string) =>
          limited.request({ method: 'POST', url: BASE, token: null, headers: { authkey: c.token }, payload: { campaignId: c.workspaceId, dmpDataPointCode: code, dataType: 'STRING' } });
        expectHcl(await create('first'), 200, { message: `User property 'first' has been successfully created for Tenant ${c.tenantId}.` });
        expectHcl(
          await create('second'),
          400,
          bad(`User property 'second' cannot be created: the campaign of Tenant ${c.tenantId} has reached its maximum number of user properties.`),
        );
      } finally {
        await limited.close();
      }
    });

    test('a system property cannot be updated or deleted here', async () => {
      const put = await hcl({ method: 'PUT', url: BASE, payload: body('email', { dataType: 'STRING', preference: 'pri', priority: 1, mergeFunction: 'UPDATE' }) });
      expectHcl(put, 400, bad(`User property 'email' for Tenant ${a.tenantId} is a system property and cannot be updated.`));
      const del = await hcl({ method: 'DELETE', url: `${BASE}/campaignId/${ws}/dataPoint/email` });
      expectHcl(del, 400, bad(`User property 'email' for Tenant ${a.tenantId} is a system property and cannot be deleted.`));
      expectStatus(await native('GET', '/properties/email'), 200);
    });

    test('PUT changing the dataType of a property profiles hold values of → 400: values exist, and the sentence points at the change flow', async () => {
      expectHcl(await hcl({ method: 'POST', url: BASE, payload: body('held_code', { dataType: 'STRING' }) }), 200, created('held_code'));
      expectStatus(await native('PUT', '/profiles/holder-1', { properties: { held_code: 'A-1' } }), 201);
      const put = await hcl({ method: 'PUT', url: BASE, payload: body('held_code', { dataType: 'NUMBER' }) });
      expectHcl(
        put,
        400,
        bad(
          `User property 'held_code' for Tenant ${a.tenantId} has values stored in profiles, so its dataType cannot be changed here. ` +
            `To convert the values, preview the change with POST /v1/workspaces/${ws}/properties/held_code/changes/preview, then apply it with POST /v1/workspaces/${ws}/properties/held_code/changes.`,
        ),
      );
      const prop = await native('GET', '/properties/held_code');
      expectStatus(prop, 200);
      assert.equal(prop.body.data_type, 'string', prop.raw);
    });

    test('PUT making a property profiles hold values of an identity (pri, sec) → 400 pointing at the change flow; none stays', async () => {
      expectHcl(await hcl({ method: 'POST', url: BASE, payload: body('held_ref', { dataType: 'STRING' }) }), 200, created('held_ref'));
      expectStatus(await native('PUT', '/profiles/holder-2', { properties: { held_ref: 'R-1' } }), 201);
      for (const preference of ['pri', 'sec']) {
        const put = await hcl({ method: 'PUT', url: BASE, payload: body('held_ref', { dataType: 'STRING', preference, priority: 2 }) });
        expectHcl(
          put,
          400,
          bad(
            `User property 'held_ref' for Tenant ${a.tenantId} has values stored in profiles, so its preference cannot be set here: each value must be checked for duplicates and claimed as an identity. ` +
              `To do so, preview the change with POST /v1/workspaces/${ws}/properties/held_ref/changes/preview, then apply it with POST /v1/workspaces/${ws}/properties/held_ref/changes, the identity role in the body.`,
          ),
        );
      }
      const prop = await native('GET', '/properties/held_ref');
      expectStatus(prop, 200);
      assert.deepEqual(prop.body.identity, { role: 'none', priority: null }, prop.raw);
    });

    test('a create whose code is taken (system property, import alias) exists; a display name clashes', async () => {
      expectHcl(await hcl({ method: 'POST', url: BASE, payload: body('email', { dataType: 'STRING' }) }), 400, bad(`User property 'email' already exists for Tenant ${a.tenantId}.`));
      expectStatus(await native('POST', '/properties', { name: 'customer_ref', data_type: 'string', import_aliases: ['cust_ref'], display_name: 'crm_ref' }), 201);
      expectHcl(await hcl({ method: 'POST', url: BASE, payload: body('CUST_REF', { dataType: 'STRING' }) }), 400, bad(`User property 'CUST_REF' already exists for Tenant ${a.tenantId}.`));
      expectHcl(
        await hcl({ method: 'POST', url: BASE, payload: body('crm_ref', { dataType: 'STRING' }) }),
        400,
        bad(`User property 'crm_ref' clashes with the display name of another user property for Tenant ${a.tenantId}.`),
      );
    });

    test('delete purges: the native API no longer has it, the name is free again, and it is not listed', async () => {
      expectHcl(await hcl({ method: 'POST', url: BASE, payload: body('to_remove', { dataType: 'STRING' }) }), 200, created('to_remove'));
      const del = await hcl({ method: 'DELETE', url: `${BASE}/campaignId/${ws}/dataPoint/to_remove` });
      expectHcl(del, 200, { message: `User property 'to_remove' for Tenant ${a.tenantId} has been removed successfully.` });
      expectStatus(await native('GET', '/properties/to_remove'), 404);
      assert.equal(await listed('to_remove'), undefined);
      expectHcl(await hcl({ method: 'POST', url: BASE, payload: body('to_remove', { dataType: 'NUMBER' }) }), 200, created('to_remove'));
    });

    test('a DELETE sent with Content-Type: application/json and no body is fine', async () => {
      const res = await hcl({ method: 'DELETE', url: `${BASE}/campaignId/${ws}/dataPoint/to_remove`, headers: { 'content-type': 'application/json' } });
      expectHcl(res, 200, { message: `User property 'to_remove' for Tenant ${a.tenantId} has been removed successfully.` });
    });

    test('an empty campaign lists the documented 404 once its last custom property is gone', async () => {
      const other = await t.request({ method: 'POST', url: `/v1/tenants/${a.tenantId}/workspaces`, token: a.token, payload: { name: 'second' } });
      expectStatus(other, 201);
      const url = `${BASE}/campaignId/${other.body.id}`;
      const payload = { campaignId: other.body.id, dmpDataPointCode: 'only_one', dataType: 'STRING' };
      expectHcl(await hcl({ method: 'POST', url: BASE, payload }), 200, created('only_one'));
      expectStatus(await hcl({ method: 'GET', url }), 200);
      expectHcl(await hcl({ method: 'DELETE', url: `${url}/dataPoint/only_one` }), 200, {
        message: `User property 'only_one' for Tenant ${a.tenantId} has been removed successfully.`,
      });
      expectHcl(await hcl({ method: 'GET', url }), 404, { error: 'Not Found', message: `No user properties found for Tenant ${a.tenantId}.` });
    });

    // Which mergeFunction and preference each dataType takes is the property service's rule.
    const rules: { title: string; input: Record<string, unknown>; expected: { status: number; message?: string } }[] = [
      { title: 'NUMBER with SUM', input: { dataType: 'NUMBER', mergeFunction: 'SUM' }, expected: { status: 200 } },
      { title: 'NUMBER with MIN', input: { dataType: 'NUMBER', mergeFunction: 'MIN' }, expected: { status: 200 } },
      { title: 'DATE with MAX', input: { dataType: 'DATE', mergeFunction: 'MAX' }, expected: { status: 200 } },
      { title: 'DATETIME with MIN', input: { dataType: 'DATETIME', mergeFunction: 'MIN' }, expected: { status: 200 } },
      { title: 'STRING with KEEP', input: { dataType: 'STRING', mergeFunction: 'KEEP' }, expected: { status: 200 } },
      { title: 'STRING as primary identity', input: { dataType: 'STRING', preference: 'pri', priority: 1 }, expected: { status: 200 } },
      { title: 'NUMBER as secondary identity', input: { dataType: 'NUMBER', preference: 'sec', priority: 2 }, expected: { status: 200 } },
      { title: 'BOOLEAN with no identity and a priority', input: { dataType: 'BOOLEAN', preference: 'none', priority: 5 }, expected: { status: 200 } },
      {
        title: 'STRING with SUM',
        input: { dataType: 'STRING', mergeFunction: 'SUM' },
        expected: { status: 400, message: "mergeFunction 'SUM' is not allowed for dataType 'STRING'. Allowed values: UPDATE, KEEP." },
      },
      {
        title: 'BOOLEAN with MAX',
        input: { dataType: 'BOOLEAN', mergeFunction: 'MAX' },
        expected: { status: 400, message: "mergeFunction 'MAX' is not allowed for dataType 'BOOLEAN'. Allowed values: UPDATE, KEEP." },
      },
      {
        title: 'DATE with SUM',
        input: { dataType: 'DATE', mergeFunction: 'SUM' },
        expected: { status: 400, message: "mergeFunction 'SUM' is not allowed for dataType 'DATE'. Allowed values: UPDATE, KEEP, MIN, MAX." },
      },
      {
        title: 'NUMBER with APPEND (single-valued)',
        input: { dataType: 'NUMBER', mergeFunction: 'APPEND' },
        expected: { status: 400, message: "mergeFunction 'APPEND' is not allowed for dataType 'NUMBER'. Allowed values: UPDATE, KEEP, SUM, MIN, MAX." },
      },
      {
        title: 'BOOLEAN as primary identity',
        input: { dataType: 'BOOLEAN', preference: 'pri' },
        expected: { status: 400, message: "preference 'pri' is not allowed for dataType 'BOOLEAN'. Allowed values: none." },
      },
      {
        title: 'BOOLEAN as secondary identity with MAX',
        input: { dataType: 'BOOLEAN', preference: 'sec', mergeFunction: 'MAX' },
        expected: {
          status: 400,
          message: "mergeFunction 'MAX' is not allowed for dataType 'BOOLEAN'. Allowed values: UPDATE, KEEP. preference 'sec' is not allowed for dataType 'BOOLEAN'. Allowed values: none.",
        },
      },
    ];
    rules.forEach(({ title, input, expected }, i) => {
      test(`create: ${title} → ${expected.status}`, async () => {
        const code = `rule_${i}`;
        const res = await hcl({ method: 'POST', url: BASE, payload: body(code, input) });
        expectHcl(res, expected.status, expected.status === 200 ? created(code) : bad(expected.message!));
        expectStatus(await native('GET', `/properties/${code}`), expected.status === 200 ? 200 : 404);
      });
    });

    test('PUT to a dataType the stored mergeFunction does not fit is refused, and nothing changes', async () => {
      // score is NUMBER with SUM; STRING takes no SUM.
      const res = await hcl({ method: 'PUT', url: BASE, payload: body('score', { dataType: 'STRING' }) });
      expectHcl(res, 400, bad("mergeFunction 'SUM' is not allowed for dataType 'STRING'. Allowed values: UPDATE, KEEP."));
      assert.equal((await native('GET', '/properties/score')).body.data_type, 'number');
      const both = await hcl({ method: 'PUT', url: BASE, payload: body('score', { dataType: 'STRING', mergeFunction: 'UPDATE' }) });
      expectHcl(both, 200, updated('score'));
      assert.deepEqual([(await native('GET', '/properties/score')).body.data_type, (await native('GET', '/properties/score')).body.merge_function], ['string', 'update']);
    });
  });

  describe(`HCL CDP: authKey, scopes and tenancy [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let b: Tenancy;
    let readOnly: string;
    let writeOnly: string;
    const hcl = client(() => t, () => a.token);
    const unauthorized = { error: 'Unauthorized', message: 'Missing or invalid authKey.' };

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t, 'Owner', CAMPAIGN);
      b = await createTenancy(t, 'Stranger');
      readOnly = (await a.key(['properties:read'])).token;
      writeOnly = (await a.key(['properties:write'])).token;
      expectStatus(await t.request({ method: 'POST', url: `/v1/workspaces/${CAMPAIGN}/properties`, token: a.token, payload: { name: 'kept', data_type: 'string' } }), 201);
    });
    after(() => t.close());

    const routes: { title: string; call: Omit<Call, 'key'>; scope: string }[] = [
      { title: 'create', call: { method: 'POST', url: BASE, payload: { campaignId: CAMPAIGN, dmpDataPointCode: 'by_key', dataType: 'STRING' } }, scope: 'properties:write' },
      { title: 'update', call: { method: 'PUT', url: BASE, payload: { campaignId: CAMPAIGN, dmpDataPointCode: 'kept', priority: 2 } }, scope: 'properties:write' },
      { title: 'list', call: { method: 'GET', url: `${BASE}/campaignId/${CAMPAIGN}` }, scope: 'properties:read' },
      { title: 'delete', call: { method: 'DELETE', url: `${BASE}/campaignId/${CAMPAIGN}/dataPoint/kept` }, scope: 'properties:write' },
    ];

    for (const { title, call, scope } of routes) {
      test(`${title}: no authKey, a wrong one, a bearer token instead, or the operator token → 401`, async () => {
        expectHcl(await hcl({ ...call, key: null }), 401, unauthorized);
        expectHcl(await hcl({ ...call, key: '' }), 401, unauthorized);
        expectHcl(await hcl({ ...call, key: 'pd_not-a-real-token' }), 401, unauthorized);
        expectHcl(await hcl({ ...call, key: null, headers: { authorization: `Bearer ${a.token}` } }), 401, unauthorized);
        expectHcl(await hcl({ ...call, key: 'test-operator-token-0123456789' }), 401, unauthorized);
      });

      test(`${title}: a key without ${scope} → 403`, async () => {
        const key = scope === 'properties:write' ? readOnly : writeOnly;
        expectHcl(await hcl({ ...call, key }), 403, { error: 'Forbidden', message: `The authKey does not have the '${scope}' permission.` });
      });

      test(`${title}: another tenant's key sees the campaign as not found`, async () => {
        expectHcl(await hcl({ ...call, key: b.token }), 404, { error: 'Not Found', message: `Campaign ${CAMPAIGN} not found.` });
      });
    }

    test('a key restricted to other workspaces sees the campaign as not found; a revoked key is 401', async () => {
      const other = await t.request({ method: 'POST', url: `/v1/tenants/${a.tenantId}/workspaces`, token: a.token, payload: { name: 'other' } });
      expectStatus(other, 201);
      const restricted = await a.key(['properties:read'], [other.body.id]);
      expectHcl(await hcl({ method: 'GET', url: `${BASE}/campaignId/${CAMPAIGN}`, key: restricted.token }), 404, { error: 'Not Found', message: `Campaign ${CAMPAIGN} not found.` });
      expectStatus(await t.request({ method: 'DELETE', url: `/v1/tenants/${a.tenantId}/api-keys/${restricted.id}`, token: a.token }), 204);
      expectHcl(await hcl({ method: 'GET', url: `${BASE}/campaignId/${other.body.id}`, key: restricted.token }), 401, unauthorized);
    });

    test('an unknown campaign is not found', async () => {
      expectHcl(await hcl({ method: 'GET', url: `${BASE}/campaignId/999999` }), 404, { error: 'Not Found', message: 'Campaign 999999 not found.' });
    });

    test('the authKey header name is case-insensitive, as every HTTP header', async () => {
      const res = await t.request({ method: 'GET', url: `${BASE}/campaignId/${CAMPAIGN}`, token: null, headers: { AUTHKEY: a.token } });
      expectStatus(res, 200);
      assert.deepEqual(res.body.map((item: { dmpDataPointCode: string }) => item.dmpDataPointCode), ['kept']);
    });

    test('no rate limit by default: no rate-limit headers', async () => {
      const res = await hcl({ method: 'GET', url: `${BASE}/campaignId/${CAMPAIGN}` });
      expectStatus(res, 200);
      assert.equal(res.headers['ratelimit-limit'], undefined);
      assert.equal(res.headers['retry-after'], undefined);
    });
  });

  describe(`HCL CDP: bad input, always in the vendor's envelope [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let small: TestApp;
    const hcl = client(() => t, () => a.token);
    const valid = { campaignId: CAMPAIGN, dmpDataPointCode: 'valid_code', dataType: 'STRING', preference: 'none', priority: 1, mergeFunction: 'UPDATE' };
    const json = { 'content-type': 'application/json' };
    const bad = (message: string) => ({ status: 400, body: { error: 'Bad Request', message } });
    const CODE_SENTENCE = "Field 'dmpDataPointCode' must start with a letter or an underscore and contain only letters, digits and underscores.";

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t, 'Careless', CAMPAIGN);
      expectStatus(await t.request({ method: 'POST', url: `/v1/workspaces/${CAMPAIGN}/properties`, token: a.token, payload: { name: 'existing', data_type: 'string' } }), 201);
    });
    after(() => t.close());

    const cases: { title: string; input: Call; expected: { status: number; body: unknown; headers?: Record<string, string> } }[] = [
      // The body as a whole
      { title: 'malformed JSON', input: { method: 'POST', url: BASE, payload: '{"campaignId": 6335, "dmpDataPointCode": ', headers: json }, expected: bad('The request body is not valid JSON.') },
      { title: 'an empty JSON body', input: { method: 'POST', url: BASE, payload: '', headers: json }, expected: bad('Required request body is missing.') },
      { title: 'no body at all', input: { method: 'PUT', url: BASE }, expected: bad('Required request body is missing.') },
      { title: 'a JSON array', input: { method: 'POST', url: BASE, payload: '[]', headers: json }, expected: bad('Request body must be a JSON object.') },
      { title: 'JSON null', input: { method: 'PUT', url: BASE, payload: 'null', headers: json }, expected: bad('Request body must be a JSON object.') },
      { title: 'a JSON string', input: { method: 'POST', url: BASE, payload: '"DMP123"', headers: json }, expected: bad('Request body must be a JSON object.') },
      // Content types
      {
        title: 'text/plain',
        input: { method: 'POST', url: BASE, payload: JSON.stringify(valid), headers: { 'content-type': 'text/plain' } },
        expected: { status: 415, body: { error: 'Unsupported Media Type', message: 'Send the body as application/json.' } },
      },
      {
        title: 'a form',
        input: { method: 'PUT', url: BASE, payload: 'campaignId=6335&dmpDataPointCode=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        expected: { status: 415, body: { error: 'Unsupported Media Type', message: 'Send the body as application/json.' } },
      },
      {
        title: 'XML',
        input: { method: 'POST', url: BASE, payload: '<property code="x"/>', headers: { 'content-type': 'application/xml' } },
        expected: { status: 415, body: { error: 'Unsupported Media Type', message: 'Send the body as application/json.' } },
      },
      // Wrong JSON types: nothing is coerced in a body
      { title: 'campaignId as a string', input: { method: 'POST', url: BASE, payload: { ...valid, campaignId: '6335' } }, expected: bad("Field 'campaignId' must be an integer.") },
      { title: 'campaignId as a fraction', input: { method: 'PUT', url: BASE, payload: { ...valid, campaignId: 6335.5 } }, expected: bad("Field 'campaignId' must be an integer.") },
      { title: 'priority as a string', input: { method: 'POST', url: BASE, payload: { ...valid, priority: '1' } }, expected: bad("Field 'priority' must be an integer.") },
      { title: 'priority null', input: { method: 'PUT', url: BASE, payload: { ...valid, priority: null } }, expected: bad("Field 'priority' must be an integer.") },
      { title: 'dmpDataPointCode as a number', input: { method: 'POST', url: BASE, payload: { ...valid, dmpDataPointCode: 123 } }, expected: bad("Field 'dmpDataPointCode' must be a string.") },
      // Missing and unknown fields
      { title: 'an empty object', input: { method: 'POST', url: BASE, payload: {} }, expected: bad("Missing required fields 'campaignId', 'dmpDataPointCode' and 'dataType'.") },
      { title: 'create without dataType', input: { method: 'POST', url: BASE, payload: { campaignId: CAMPAIGN, dmpDataPointCode: 'x' } }, expected: bad("Missing required field 'dataType'.") },
      { title: 'update without dmpDataPointCode', input: { method: 'PUT', url: BASE, payload: { campaignId: CAMPAIGN, dataType: 'STRING' } }, expected: bad("Missing required field 'dmpDataPointCode'.") },
      {
        title: 'unknown fields (a list item sent back)',
        input: { method: 'PUT', url: BASE, payload: { ...valid, id: 10000, isProfileField: 1, metadata: '{}' } },
        expected: bad("Unknown field 'id'. Unknown field 'isProfileField'. Unknown field 'metadata'."),
      },
      // Enumerations
      { title: 'unknown dataType', input: { method: 'POST', url: BASE, payload: { ...valid, dataType: 'TEXT' } }, expected: bad("Invalid dataType 'TEXT'. Allowed values: STRING, NUMBER, BOOLEAN, DATE, DATETIME.") },
      { title: 'dataType in lower case', input: { method: 'PUT', url: BASE, payload: { ...valid, dataType: 'string' } }, expected: bad("Invalid dataType 'string'. Allowed values: STRING, NUMBER, BOOLEAN, DATE, DATETIME.") },
      { title: 'unknown preference', input: { method: 'POST', url: BASE, payload: { ...valid, preference: 'primary' } }, expected: bad("Invalid preference 'primary'. Allowed values: none, pri, sec.") },
      {
        title: 'unknown mergeFunction',
        input: { method: 'POST', url: BASE, payload: { ...valid, mergeFunction: 'update' } },
        expected: bad("Invalid mergeFunction 'update'. Allowed values: UPDATE, KEEP, APPEND, SUM, MIN, MAX."),
      },
      {
        title: 'mergeFunction the dataType does not take',
        input: { method: 'POST', url: BASE, payload: { ...valid, dataType: 'BOOLEAN', mergeFunction: 'SUM' } },
        expected: bad("mergeFunction 'SUM' is not allowed for dataType 'BOOLEAN'. Allowed values: UPDATE, KEEP."),
      },
      // Bounds and patterns
      { title: 'priority 0', input: { method: 'POST', url: BASE, payload: { ...valid, priority: 0 } }, expected: bad("Field 'priority' must be at least 1.") },
      { title: 'priority 1001', input: { method: 'PUT', url: BASE, payload: { ...valid, priority: 1001 } }, expected: bad("Field 'priority' must be at most 1000.") },
      { title: 'campaignId 0', input: { method: 'POST', url: BASE, payload: { ...valid, campaignId: 0 } }, expected: bad("Field 'campaignId' must be at least 1.") },
      { title: 'an over-long code', input: { method: 'POST', url: BASE, payload: { ...valid, dmpDataPointCode: `c${'x'.repeat(120)}` } }, expected: bad("Field 'dmpDataPointCode' must be at most 120 characters long.") },
      { title: 'an empty code', input: { method: 'POST', url: BASE, payload: { ...valid, dmpDataPointCode: '' } }, expected: bad("Field 'dmpDataPointCode' must not be empty. " + CODE_SENTENCE) },
      { title: 'a code with a dash', input: { method: 'POST', url: BASE, payload: { ...valid, dmpDataPointCode: 'DMP-123' } }, expected: bad(CODE_SENTENCE) },
      { title: 'a code starting with a digit', input: { method: 'PUT', url: BASE, payload: { ...valid, dmpDataPointCode: '123DMP' } }, expected: bad(CODE_SENTENCE) },
      { title: 'a code with a space', input: { method: 'POST', url: BASE, payload: { ...valid, dmpDataPointCode: 'DMP 123' } }, expected: bad(CODE_SENTENCE) },
      {
        title: 'several problems at once',
        input: { method: 'POST', url: BASE, payload: { campaignId: '6335', dataType: 'TEXT', extra: true } },
        expected: bad("Missing required field 'dmpDataPointCode'. Unknown field 'extra'. Field 'campaignId' must be an integer. Invalid dataType 'TEXT'. Allowed values: STRING, NUMBER, BOOLEAN, DATE, DATETIME."),
      },
      // Path parameters (coerced from text, then checked)
      { title: 'campaignId in the path not a number', input: { method: 'GET', url: `${BASE}/campaignId/abc` }, expected: bad("Path parameter 'campaignId' must be an integer.") },
      { title: 'campaignId in the path 0', input: { method: 'DELETE', url: `${BASE}/campaignId/0/dataPoint/existing` }, expected: bad("Path parameter 'campaignId' must be at least 1.") },
      // A number no campaign can have is simply not found.
      { title: 'campaignId in the path too large', input: { method: 'GET', url: `${BASE}/campaignId/99999999999` }, expected: { status: 404, body: { error: 'Not Found', message: 'Campaign 99999999999 not found.' } } },
      {
        title: 'a path code that is no code (an id or uid is not accepted here)',
        input: { method: 'DELETE', url: `${BASE}/campaignId/${CAMPAIGN}/dataPoint/11` },
        expected: bad("Path parameter 'dmpDataPointCode' must start with a letter or an underscore and contain only letters, digits and underscores."),
      },
      // Routes and methods
      { title: 'an unknown route', input: { method: 'GET', url: '/hcl/api/unknown' }, expected: { status: 404, body: { error: 'Not Found', message: 'No endpoint GET /hcl/api/unknown.' } } },
      { title: 'the bare prefix', input: { method: 'GET', url: '/hcl' }, expected: { status: 404, body: { error: 'Not Found', message: 'No endpoint GET /hcl.' } } },
      {
        title: 'a list path with an extra segment',
        input: { method: 'GET', url: `${BASE}/campaignId/${CAMPAIGN}/dataPoint` },
        expected: { status: 404, body: { error: 'Not Found', message: `No endpoint GET ${BASE}/campaignId/${CAMPAIGN}/dataPoint.` } },
      },
      {
        title: 'PATCH on the dictionary',
        input: { method: 'PATCH', url: BASE, payload: valid },
        expected: { status: 405, body: { error: 'Method Not Allowed', message: "Request method 'PATCH' is not supported. Supported methods: POST, PUT." }, headers: { allow: 'POST, PUT' } },
      },
      {
        title: 'GET on the dictionary',
        input: { method: 'GET', url: BASE },
        expected: { status: 405, body: { error: 'Method Not Allowed', message: "Request method 'GET' is not supported. Supported methods: POST, PUT." }, headers: { allow: 'POST, PUT' } },
      },
      {
        title: 'DELETE on the list path',
        input: { method: 'DELETE', url: `${BASE}/campaignId/${CAMPAIGN}` },
        expected: { status: 405, body: { error: 'Method Not Allowed', message: "Request method 'DELETE' is not supported. Supported methods: GET, HEAD." }, headers: { allow: 'GET, HEAD' } },
      },
      {
        title: 'PUT on a data point',
        input: { method: 'PUT', url: `${BASE}/campaignId/${CAMPAIGN}/dataPoint/existing`, payload: valid },
        expected: { status: 405, body: { error: 'Method Not Allowed', message: "Request method 'PUT' is not supported. Supported methods: DELETE." }, headers: { allow: 'DELETE' } },
      },
      // Authentication before anything else
      { title: 'no authKey (with a bad body too)', input: { method: 'POST', url: BASE, payload: '{', headers: json, key: null }, expected: { status: 401, body: { error: 'Unauthorized', message: 'Missing or invalid authKey.' } } },
      { title: 'a bad authKey', input: { method: 'GET', url: `${BASE}/campaignId/${CAMPAIGN}`, key: 'nope' }, expected: { status: 401, body: { error: 'Unauthorized', message: 'Missing or invalid authKey.' } } },
    ];

    for (const { title, input, expected } of cases) {
      test(`${title} → ${expected.status}`, async () => {
        const res = await hcl(input);
        expectHcl(res, expected.status, expected.body);
        for (const [name, value] of Object.entries(expected.headers ?? {})) assert.equal(res.headers[name], value, `${name}: ${res.raw}`);
      });
    }

    test('nothing was created by any of the bad requests', async () => {
      const res = await hcl({ method: 'GET', url: `${BASE}/campaignId/${CAMPAIGN}` });
      expectStatus(res, 200);
      assert.deepEqual(res.body.map((item: { dmpDataPointCode: string }) => item.dmpDataPointCode), ['existing']);
    });

    test('a body over the size limit → 413', async () => {
      small = await createTestApp(dialect, { bodyLimit: 2048 });
      try {
        const b = await createTenancy(small, 'Small');
        const payload = JSON.stringify({ ...valid, campaignId: b.workspaceId, padding: 'x'.repeat(4096) });
        const res = await small.request({ method: 'POST', url: BASE, token: null, headers: { authkey: b.token, 'content-type': 'application/json' }, payload });
        const message = `The request body is ${payload.length} bytes; this server takes at most 2048 bytes (PROPDICT_BODY_LIMIT). Split the batch into smaller requests.`;
        expectHcl(res, 413, { error: 'Payload Too Large', message });
      } finally {
        await small.close();
      }
    });

    test('an internal failure → 500 with no detail', async () => {
      const original = t.services.properties.search;
      t.services.properties.search = async () => {
        throw new Error('connection to /var/lib/db.ts:12 lost at select * from properties');
      };
      try {
        const res = await hcl({ method: 'GET', url: `${BASE}/campaignId/${CAMPAIGN}` });
        expectHcl(res, 500, { error: 'Internal Server Error', message: 'An unexpected error occurred. Please try again later.' });
      } finally {
        t.services.properties.search = original;
      }
    });
  });

  describe(`HCL CDP: rate limit, when configured [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let b: Tenancy;
    // Ten seconds into a minute, and standing still: the window resets in 50 s.
    const clock = { now: () => new Date('2026-11-23T12:00:10.000Z') };
    const list = (tenancy: Tenancy) =>
      t.request({ method: 'GET', url: `${BASE}/campaignId/${tenancy.workspaceId}`, token: null, headers: { authkey: tenancy.token } });

    before(async () => {
      t = await createTestApp(dialect, { clock, config: { hcl: { perMinute: 2 } } });
      a = await createTenancy(t, 'Busy', CAMPAIGN);
      b = await createTenancy(t, 'Quiet');
    });
    after(() => t.close());

    test('per tenant per minute: RateLimit-* on answers, 429 with Retry-After past the limit', async () => {
      const none = { error: 'Not Found', message: `No user properties found for Tenant ${a.tenantId}.` };
      const rows: { expected: { status: number; body: unknown; headers: Record<string, string> } }[] = [
        { expected: { status: 404, body: none, headers: { 'ratelimit-limit': '2', 'ratelimit-remaining': '1', 'ratelimit-reset': '50' } } },
        { expected: { status: 404, body: none, headers: { 'ratelimit-limit': '2', 'ratelimit-remaining': '0', 'ratelimit-reset': '50' } } },
        {
          expected: {
            status: 429,
            body: { error: 'Too Many Requests', message: 'Too many requests for this tenant. Please retry in 50 seconds.' },
            headers: { 'retry-after': '50', 'ratelimit-limit': '2', 'ratelimit-remaining': '0', 'ratelimit-reset': '50' },
          },
        },
      ];
      for (const { expected } of rows) {
        const res = await list(a);
        expectHcl(res, expected.status, expected.body);
        for (const [name, value] of Object.entries(expected.headers)) assert.equal(res.headers[name], value, `${name}: ${JSON.stringify(res.headers)}`);
      }
      // Another tenant has its own budget; the native API is not counted here.
      const other = await list(b);
      expectHcl(other, 404, { error: 'Not Found', message: `No user properties found for Tenant ${b.tenantId}.` });
      assert.equal(other.headers['ratelimit-remaining'], '1');
      expectStatus(await t.request({ method: 'GET', url: `/v1/workspaces/${CAMPAIGN}/properties`, token: a.token }), 200);
    });

    test('requests refused before authentication are not counted against anyone', async () => {
      const res = await t.request({ method: 'GET', url: `${BASE}/campaignId/${b.workspaceId}`, token: null, headers: { authkey: 'nope' } });
      expectHcl(res, 401, { error: 'Unauthorized', message: 'Missing or invalid authKey.' });
      assert.equal(res.headers['ratelimit-limit'], undefined);
      assert.equal((await list(b)).headers['ratelimit-remaining'], '0');
    });
  });
}
