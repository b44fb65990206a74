// LINE WORKS API 2.0 contact custom properties under /lineworks: the vendor's documented example
// replayed verbatim, the dialect's rules, every class of bad input in its `{code, description}`
// envelope, and its per-domain, per-operation rate limit on a clock the test moves.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTenancy, createTestApp, expectStatus, OPERATOR_TOKEN, type Response, type Tenancy, type TestApp } from '../helpers/app.ts';
import { dialects } from '../helpers/dialects.ts';

const BASE = '/lineworks/v1.0/contacts/custom-properties';
const DOMAIN = 10000001;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const JSON_HEADERS = { 'content-type': 'application/json' };

// The seed page's request example, byte for byte (only the base URL and the token change).
const SEED_REQUEST = `{
  "domainId": 10000001,
  "propertyName": "ext_id",
  "displayName": "External ID",
  "i18nDisplayNames": [
    {
      "language": "ko_KR",
      "name": "External ID"
    },
    {
      "language": "en_US",
      "name": "external id"
    }
  ],
  "propertyType": "STRING",
  "displayOrder": 1
}`;

// The seed page's response example, but for customPropertyId, which is checked by format.
const SEED_RESPONSE = {
  domainId: 10000001,
  customPropertyId: 'custompi-5ge3-f6d7-ht33-35gr6e465u01',
  propertyName: 'ext_id',
  displayName: 'External ID',
  i18nDisplayNames: [
    { language: 'ko_KR', name: 'External ID' },
    { language: 'en_US', name: 'external id' },
  ],
  propertyType: 'STRING',
  displayOrder: 1,
  multiValued: false,
};

/** The LINE WORKS envelope, exactly, with nothing in the raw body that belongs in a log. */
function expectLineWorksError(res: Response, status: number, code: string, description: string) {
  expectStatus(res, status);
  assert.deepEqual(res.body, { code, description }, res.raw);
  assert.doesNotMatch(res.raw, /\bat \S+ \(|\bat (file|node):|\.ts:\d+/, 'no stack trace');
  assert.doesNotMatch(res.raw, /\b(select|insert into|update \w+ set|delete from)\b|SQLITE_|sqlstate|FST_|node_modules/i, 'nothing internal');
}

/** A clock the test moves by hand, starting on a minute boundary. */
function manualClock(start = Date.UTC(2026, 10, 23, 12, 0, 0)) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => void (now += ms) };
}

const property = (name: string, extra: Record<string, unknown> = {}) => ({ domainId: DOMAIN, propertyName: name, displayName: name, propertyType: 'STRING', ...extra });

for (const dialect of dialects) {
  describe(`LINE WORKS contact custom properties [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t, 'Works', DOMAIN);
    });
    after(() => t.close());

    const lw = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, payload?: unknown, token = a.token) =>
      t.request({ method, url: `${BASE}${path}`, token, ...(payload === undefined ? {} : { payload: payload as object }) });

    test("the seed page's create example → 201 with the documented object", async () => {
      const res = await t.request({ method: 'POST', url: BASE, token: a.token, headers: JSON_HEADERS, payload: SEED_REQUEST });
      expectStatus(res, 201);
      assert.deepEqual(Object.keys(res.body), Object.keys(SEED_RESPONSE), 'the documented fields, in the documented order');
      assert.match(res.body.customPropertyId, UUID);
      const { customPropertyId: _id, ...rest } = SEED_RESPONSE;
      for (const [field, value] of Object.entries(rest)) assert.deepEqual(res.body[field], value, `${field}: ${res.raw}`);
    });

    test('get by customPropertyId and by propertyName', async () => {
      const list = await lw('GET', `?domainId=${DOMAIN}`);
      expectStatus(list, 200);
      const [created] = list.body.customProperties;
      assert.equal(created.propertyName, 'ext_id', list.raw);
      for (const ref of [created.customPropertyId, 'ext_id', 'EXT_ID']) {
        const res = await lw('GET', `/${ref}?domainId=${DOMAIN}`);
        expectStatus(res, 200);
        assert.deepEqual(res.body, created, ref);
      }
    });

    test('PATCH changes displayName, i18nDisplayNames and displayOrder, visible through the native API', async () => {
      const id = (await lw('GET', `/ext_id?domainId=${DOMAIN}`)).body.customPropertyId;
      const patched = await lw('PATCH', `/${id}`, { domainId: DOMAIN, displayName: 'ext_id', i18nDisplayNames: [{ language: 'ja_JP', name: '外部ID' }], displayOrder: null });
      expectStatus(patched, 200);
      assert.deepEqual(patched.body, {
        domainId: DOMAIN,
        customPropertyId: id,
        propertyName: 'ext_id',
        displayName: 'ext_id',
        i18nDisplayNames: [{ language: 'ja_JP', name: '外部ID' }],
        propertyType: 'STRING',
        displayOrder: null,
        multiValued: false,
      });
      const native = await t.request({ method: 'GET', url: `/v1/workspaces/${DOMAIN}/properties/ext_id`, token: a.token });
      expectStatus(native, 200);
      assert.deepEqual(
        { display_name: native.body.display_name, i18n: native.body.i18n_display_names, order: native.body.display_order, type: native.body.data_type },
        { display_name: 'ext_id', i18n: { ja_JP: '外部ID' }, order: null, type: 'string' },
      );
      // By name, domainId in the query; an empty change answers the object as it is.
      const byName = await t.request({ method: 'PATCH', url: `${BASE}/ext_id?domainId=${DOMAIN}`, token: a.token, payload: { displayOrder: 3 } });
      expectStatus(byName, 200);
      assert.equal(byName.body.displayOrder, 3, byName.raw);
      const empty = await t.request({ method: 'PATCH', url: `${BASE}/ext_id?domainId=${DOMAIN}`, token: a.token, payload: {} });
      expectStatus(empty, 200);
      assert.deepEqual(empty.body, byName.body);
    });

    // LINE WORKS: "This API operation cannot update the propertyName, propertyType, and multiValued values."
    const immutable = [
      { title: 'propertyName', body: { propertyName: 'other' }, description: 'propertyName cannot be updated.' },
      { title: 'propertyType', body: { propertyType: 'LINK' }, description: 'propertyType cannot be updated.' },
      { title: 'multiValued', body: { multiValued: true }, description: 'multiValued cannot be updated.' },
      { title: 'all three, even unchanged', body: { propertyName: 'ext_id', propertyType: 'STRING', multiValued: false, displayName: 'x' }, description: 'propertyName, propertyType, multiValued cannot be updated.' },
    ];
    for (const row of immutable) {
      test(`PATCH ${row.title} → 400 INVALID_PARAMETER, nothing changed`, async () => {
        const res = await lw('PATCH', `/ext_id?domainId=${DOMAIN}`, row.body);
        expectLineWorksError(res, 400, 'INVALID_PARAMETER', row.description);
        const now = await lw('GET', `/ext_id?domainId=${DOMAIN}`);
        expectStatus(now, 200);
        assert.deepEqual([now.body.propertyName, now.body.propertyType, now.body.multiValued, now.body.displayName], ['ext_id', 'STRING', false, 'ext_id']);
      });
    }

    test('the list holds custom properties only, by displayOrder with null last, then name', async () => {
      const b = await createTenancy(t, 'Sorted', 20000001);
      const order = [
        { name: 'n_beta', displayOrder: null },
        { name: 'two', displayOrder: 2 },
        { name: 'n_alpha' },
        { name: 'one_b', displayOrder: 1 },
        { name: 'One_a', displayOrder: 1 },
      ];
      for (const { name, ...rest } of order) {
        expectStatus(await lw('POST', '', { ...property(name, rest), domainId: 20000001 }, b.token), 201);
      }
      // Made natively: a type LINE WORKS cannot name is listed as STRING; an archived one is not listed.
      const ws = `/v1/workspaces/20000001/properties`;
      expectStatus(await t.request({ method: 'POST', url: ws, token: b.token, payload: { name: 'contact_mail', data_type: 'email', display_order: 2, multi_valued: true } }), 201);
      expectStatus(await t.request({ method: 'POST', url: ws, token: b.token, payload: { name: 'homepage', data_type: 'link', i18n_display_names: { en_US: 'Home', fr_FR: 'Accueil' } } }), 201);
      expectStatus(await t.request({ method: 'POST', url: ws, token: b.token, payload: { name: 'gone', data_type: 'string' } }), 201);
      expectStatus(await t.request({ method: 'DELETE', url: `${ws}/gone`, token: b.token }), 204);

      const res = await lw('GET', '?domainId=20000001', undefined, b.token);
      expectStatus(res, 200);
      assert.deepEqual(Object.keys(res.body), ['customProperties']);
      const rows = res.body.customProperties.map((p: { propertyName: string; displayOrder: number | null; propertyType: string; multiValued: boolean; i18nDisplayNames: unknown[] }) => [
        p.propertyName,
        p.displayOrder,
        p.propertyType,
        p.multiValued,
        p.i18nDisplayNames,
      ]);
      assert.deepEqual(rows, [
        ['One_a', 1, 'STRING', false, []],
        ['one_b', 1, 'STRING', false, []],
        ['contact_mail', 2, 'STRING', true, []],
        ['two', 2, 'STRING', false, []],
        ['homepage', null, 'LINK', false, [{ language: 'en_US', name: 'Home' }]],
        ['n_alpha', null, 'STRING', false, []],
        ['n_beta', null, 'STRING', false, []],
      ]);
      // Replacing the list keeps names in languages LINE WORKS cannot name.
      const patched = await lw('PATCH', '/homepage?domainId=20000001', { i18nDisplayNames: [{ language: 'ko_KR', name: '홈' }] }, b.token);
      expectStatus(patched, 200);
      assert.deepEqual(patched.body.i18nDisplayNames, [{ language: 'ko_KR', name: '홈' }]);
      const native = await t.request({ method: 'GET', url: `${ws}/homepage`, token: b.token });
      expectStatus(native, 200);
      assert.deepEqual(native.body.i18n_display_names, { ko_KR: '홈', fr_FR: 'Accueil' });
      // System properties exist but are not LINE WORKS custom properties.
      expectLineWorksError(await lw('GET', '/email?domainId=20000001', undefined, b.token), 404, 'NOT_FOUND', 'Custom property "email" not found.');
      expectLineWorksError(await lw('GET', '/gone?domainId=20000001', undefined, b.token), 404, 'NOT_FOUND', 'Custom property "gone" not found.');
    });

    test('at most 5 custom properties per domain: the 6th → 400 LIMIT_EXCEEDED', async () => {
      const c = await createTenancy(t, 'Capped', 30000001);
      for (const name of ['p1', 'p2', 'p3', 'p4', 'p5']) expectStatus(await lw('POST', '', { ...property(name), domainId: 30000001 }, c.token), 201);
      const sixth = await lw('POST', '', { ...property('p6'), domainId: 30000001 }, c.token);
      expectLineWorksError(sixth, 400, 'LIMIT_EXCEEDED', 'This domain has 5 contact custom properties and may have at most 5.');
      const native = await t.request({ method: 'GET', url: '/v1/workspaces/30000001/properties/p6', token: c.token });
      expectStatus(native, 404);
      // Deleting one frees a place.
      expectStatus(await lw('DELETE', '/p1?domainId=30000001', undefined, c.token), 204);
      expectStatus(await lw('POST', '', { ...property('p6'), domainId: 30000001 }, c.token), 201);
    });

    test('domainId may be left out when the key reaches exactly one domain', async () => {
      const d = await createTenancy(t, 'Single', 40000001);
      const one = await d.key(['properties:read', 'properties:write'], [40000001]);
      expectStatus(await lw('POST', '', { ...property('solo'), domainId: 40000001 }, one.token), 201);
      const list = await lw('GET', '', undefined, one.token);
      expectStatus(list, 200);
      assert.deepEqual(list.body.customProperties.map((p: { propertyName: string; domainId: number }) => [p.propertyName, p.domainId]), [['solo', 40000001]]);
      const got = await lw('GET', '/solo', undefined, one.token);
      expectStatus(got, 200);
      assert.equal(got.body.domainId, 40000001, got.raw);
      const patched = await lw('PATCH', '/solo', { displayName: 'Solo' }, one.token);
      expectStatus(patched, 200);
      assert.equal(patched.body.displayName, 'Solo', patched.raw);

      // The tenant's unrestricted key reaches a second domain once there is one.
      expectStatus(await t.request({ method: 'POST', url: `/v1/tenants/${d.tenantId}/workspaces`, token: d.token, payload: { name: 'second', id: 40000002 } }), 201);
      const missing = 'domainId is required: this token reaches more than one domain.';
      expectLineWorksError(await lw('GET', '', undefined, d.token), 400, 'MISSING_PARAMETER', missing);
      expectLineWorksError(await lw('GET', '/solo', undefined, d.token), 400, 'MISSING_PARAMETER', missing);
      expectLineWorksError(await lw('PATCH', '/solo', { displayName: 'x' }, d.token), 400, 'MISSING_PARAMETER', missing);
      expectLineWorksError(await lw('DELETE', '/solo', undefined, d.token), 400, 'MISSING_PARAMETER', missing);
      // The restricted key still reaches one, so it still needs none; DELETE works without it too.
      expectStatus(await lw('DELETE', '/solo', undefined, one.token), 204);
    });

    test('scopes: reads need properties:read, writes properties:write → else 403 FORBIDDEN', async () => {
      const reader = await a.key(['properties:read']);
      const writer = await a.key(['properties:write']);
      const forbidden = [
        { title: 'read-only key creates', res: () => lw('POST', '', property('nope'), reader.token), scope: 'properties:write' },
        { title: 'read-only key patches', res: () => lw('PATCH', `/ext_id?domainId=${DOMAIN}`, { displayName: 'x' }, reader.token), scope: 'properties:write' },
        { title: 'read-only key deletes', res: () => lw('DELETE', `/ext_id?domainId=${DOMAIN}`, undefined, reader.token), scope: 'properties:write' },
        { title: 'write-only key lists', res: () => lw('GET', `?domainId=${DOMAIN}`, undefined, writer.token), scope: 'properties:read' },
        { title: 'write-only key gets', res: () => lw('GET', `/ext_id?domainId=${DOMAIN}`, undefined, writer.token), scope: 'properties:read' },
      ];
      for (const row of forbidden) {
        const res = await row.res();
        expectLineWorksError(res, 403, 'FORBIDDEN', `This API needs the ${row.scope} scope.`);
        assert.equal(res.headers['www-authenticate'], `Bearer realm="lineworks", error="insufficient_scope", scope="${row.scope}"`, row.title);
      }
      const read = await lw('GET', `/ext_id?domainId=${DOMAIN}`, undefined, reader.token);
      expectStatus(read, 200);
      assert.equal(read.body.propertyName, 'ext_id', read.raw);
    });

    test("another tenant's domain → 404 NOT_FOUND", async () => {
      const other = await createTenancy(t, 'Other', 50000001);
      const description = `Domain ${DOMAIN} not found.`;
      expectLineWorksError(await lw('GET', `?domainId=${DOMAIN}`, undefined, other.token), 404, 'NOT_FOUND', description);
      expectLineWorksError(await lw('GET', `/ext_id?domainId=${DOMAIN}`, undefined, other.token), 404, 'NOT_FOUND', description);
      expectLineWorksError(await lw('POST', '', property('stolen'), other.token), 404, 'NOT_FOUND', description);
      expectLineWorksError(await lw('PATCH', `/ext_id`, { domainId: DOMAIN, displayName: 'x' }, other.token), 404, 'NOT_FOUND', description);
      expectLineWorksError(await lw('DELETE', `/ext_id?domainId=${DOMAIN}`, undefined, other.token), 404, 'NOT_FOUND', description);
      expectLineWorksError(await lw('GET', '?domainId=99999999', undefined, other.token), 404, 'NOT_FOUND', 'Domain 99999999 not found.');
    });

    test('a property a data source maps cannot be deleted → 409 CONFLICT', async () => {
      expectStatus(await lw('POST', '', property('mapped')), 201);
      const source = await t.request({
        method: 'POST',
        url: `/v1/workspaces/${DOMAIN}/sources`,
        token: a.token,
        payload: { name: 'crm', mappings: [{ property: 'mapped', input_path: 'properties.mapped' }] },
      });
      expectStatus(source, 201);
      expectLineWorksError(
        await lw('DELETE', `/mapped?domainId=${DOMAIN}`),
        409,
        'CONFLICT',
        'Property "mapped" is mapped by the data sources "crm"; remove those mappings first.',
      );
    });

    test('a failure of ours → 500 INTERNAL_SERVER_ERROR with no detail', async () => {
      const search = t.services.properties.search;
      t.services.properties.search = async () => {
        throw new Error('select * from properties: connection lost at /srv/app.ts:12');
      };
      try {
        expectLineWorksError(await lw('GET', `?domainId=${DOMAIN}`), 500, 'INTERNAL_SERVER_ERROR', 'Internal server error.');
      } finally {
        t.services.properties.search = search;
      }
      expectStatus(await lw('GET', `?domainId=${DOMAIN}`), 200);
    });

    test('DELETE → 204, then 404; the values go in the background and the name is free again', async () => {
      const id = (await lw('GET', `/ext_id?domainId=${DOMAIN}`)).body.customPropertyId;
      const res = await lw('DELETE', `/${id}?domainId=${DOMAIN}`);
      expectStatus(res, 204);
      assert.equal(res.raw, '');
      expectLineWorksError(await lw('GET', `/${id}?domainId=${DOMAIN}`), 404, 'NOT_FOUND', `Custom property "${id}" not found.`);
      expectLineWorksError(await lw('DELETE', `/${id}?domainId=${DOMAIN}`), 404, 'NOT_FOUND', `Custom property "${id}" not found.`);
      expectLineWorksError(await lw('DELETE', `/ext_id?domainId=${DOMAIN}`), 404, 'NOT_FOUND', 'Custom property "ext_id" not found.');
      const native = await t.request({ method: 'GET', url: `/v1/workspaces/${DOMAIN}/properties/ext_id`, token: a.token });
      expectStatus(native, 404);
      const again = await t.request({ method: 'POST', url: BASE, token: a.token, headers: JSON_HEADERS, payload: SEED_REQUEST });
      expectStatus(again, 201);
      assert.notEqual(again.body.customPropertyId, id);
    });
  });

  describe(`LINE WORKS: a configured cap [${dialect.name}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(dialect, { config: { lineworks: { perMinute: 240, maxCustomProperties: 2 } } });
    });
    after(() => t.close());

    test('PROPDICT_LINEWORKS_MAX_PROPERTIES=2: the 3rd → 400 LIMIT_EXCEEDED; the native API is not capped by it', async () => {
      const a = await createTenancy(t, 'Two', DOMAIN);
      for (const name of ['first', 'second']) {
        expectStatus(await t.request({ method: 'POST', url: BASE, token: a.token, payload: property(name) }), 201);
      }
      const third = await t.request({ method: 'POST', url: BASE, token: a.token, payload: property('third') });
      expectLineWorksError(third, 400, 'LIMIT_EXCEEDED', 'This domain has 2 contact custom properties and may have at most 2.');
      const native = await t.request({ method: 'POST', url: `/v1/workspaces/${DOMAIN}/properties`, token: a.token, payload: { name: 'third', data_type: 'string' } });
      expectStatus(native, 201);
      const list = await t.request({ method: 'GET', url: `${BASE}?domainId=${DOMAIN}`, token: a.token });
      expectStatus(list, 200);
      assert.deepEqual(list.body.customProperties.map((p: { propertyName: string }) => p.propertyName), ['first', 'second', 'third']);
    });
  });

  describe(`LINE WORKS bad input [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let other: Tenancy;
    let id: string;

    before(async () => {
      t = await createTestApp(dialect, { bodyLimit: 2048 });
      a = await createTenancy(t, 'Bad', DOMAIN);
      other = await createTenancy(t, 'Elsewhere', 60000001);
      const created = await t.request({ method: 'POST', url: BASE, token: a.token, payload: property('existing', { displayName: 'Existing' }) });
      expectStatus(created, 201);
      id = created.body.customPropertyId;
    });
    after(() => t.close());

    interface Row {
      title: string;
      method?: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';
      path?: string;
      /** A whole URL, for routes outside the collection. */
      url?: string;
      /** A string is sent as it is; anything else as JSON. */
      payload?: unknown;
      headers?: Record<string, string>;
      token?: string | null | (() => string);
      status: number;
      code: string;
      description: string;
      header?: [string, string];
    }

    const long = (n: number) => 'x'.repeat(n);
    const rows: Row[] = [
      // Bodies
      { title: 'malformed JSON', payload: '{"domainId": 10000001, "propertyName": ', headers: JSON_HEADERS, status: 400, code: 'INVALID_PARAMETER', description: 'body is not valid JSON.' },
      { title: 'an empty body sent as JSON', payload: '', headers: JSON_HEADERS, status: 400, code: 'INVALID_PARAMETER', description: 'body is empty.' },
      { title: 'a JSON array for a body', payload: '[]', headers: JSON_HEADERS, status: 400, code: 'INVALID_PARAMETER', description: 'body must be an object {domainId, propertyName, displayName, i18nDisplayNames?, propertyType, displayOrder?, multiValued?}.' },
      { title: 'JSON null for a body', payload: 'null', headers: JSON_HEADERS, status: 400, code: 'INVALID_PARAMETER', description: 'body must be an object {domainId, propertyName, displayName, i18nDisplayNames?, propertyType, displayOrder?, multiValued?}.' },
      {
        title: 'wrong types, every one reported',
        payload: { domainId: '10000001', propertyName: 7, displayName: 'ok', propertyType: 'STRING', displayOrder: 1.5, multiValued: 'yes', i18nDisplayNames: {} },
        status: 400,
        code: 'INVALID_PARAMETER',
        description: 'domainId must be an integer; propertyName must be a string; i18nDisplayNames must be an array; displayOrder must be an integer or must be null; multiValued must be true or false.',
      },
      {
        title: 'missing required fields only → MISSING_PARAMETER',
        payload: { domainId: DOMAIN },
        status: 400,
        code: 'MISSING_PARAMETER',
        description: 'propertyName is required; displayName is required; propertyType is required.',
      },
      { title: 'create without domainId → MISSING_PARAMETER', payload: { propertyName: 'a', displayName: 'a', propertyType: 'STRING' }, status: 400, code: 'MISSING_PARAMETER', description: 'domainId is required.' },
      {
        title: 'missing and invalid together → INVALID_PARAMETER naming both',
        payload: { domainId: DOMAIN, propertyName: 'ok', propertyType: 'TEXT' },
        status: 400,
        code: 'INVALID_PARAMETER',
        description: 'displayName is required; propertyType must be one of the allowed values (STRING, LINK).',
      },
      { title: 'an unknown propertyType', payload: property('a_type', { propertyType: 'INTEGER' }), status: 400, code: 'INVALID_PARAMETER', description: 'propertyType must be one of the allowed values (STRING, LINK).' },
      {
        title: 'an unknown language',
        payload: property('a_lang', { i18nDisplayNames: [{ language: 'fr_FR', name: 'Nom' }] }),
        status: 400,
        code: 'INVALID_PARAMETER',
        description: 'i18nDisplayNames[0].language must be one of the allowed values (ko_KR, ja_JP, zh_CN, zh_TW, en_US).',
      },
      {
        title: 'a language named twice',
        payload: property('a_twice', { i18nDisplayNames: [{ language: 'en_US', name: 'A' }, { language: 'en_US', name: 'B' }] }),
        status: 400,
        code: 'INVALID_PARAMETER',
        description: 'i18nDisplayNames[1].language repeats the language en_US.',
      },
      { title: 'propertyName over 120', payload: property(`a${long(120)}`), status: 400, code: 'INVALID_PARAMETER', description: 'propertyName must be at most 120 characters long; displayName must be at most 20 characters long.' },
      { title: 'displayName over 20', payload: property('a_long', { displayName: long(21) }), status: 400, code: 'INVALID_PARAMETER', description: 'displayName must be at most 20 characters long.' },
      {
        title: 'an i18n name over 20',
        payload: property('a_i18n', { i18nDisplayNames: [{ language: 'en_US', name: long(21) }] }),
        status: 400,
        code: 'INVALID_PARAMETER',
        description: 'i18nDisplayNames[0].name must be at most 20 characters long.',
      },
      { title: 'propertyName not matching the pattern', payload: property('1st-name'), status: 400, code: 'INVALID_PARAMETER', description: 'propertyName must be letters, digits and _, starting with a letter or _.' },
      { title: 'displayOrder 0', payload: property('a_zero', { displayOrder: 0 }), status: 400, code: 'INVALID_PARAMETER', description: 'displayOrder must be at least 1.' },
      { title: 'an unknown field', payload: property('a_extra', { mandatory: true }), status: 400, code: 'INVALID_PARAMETER', description: 'mandatory is not a known field.' },
      { title: 'a read-only field', payload: property('a_ro', { customPropertyId: 'custompi-1' }), status: 400, code: 'INVALID_PARAMETER', description: 'customPropertyId is not a known field.' },
      {
        title: 'a body over the size limit: its size, the limit and its variable',
        payload: property('a_big', { displayName: long(3000) }),
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
        description: `The request body is ${JSON.stringify(property('a_big', { displayName: long(3000) })).length} bytes; this server takes at most 2048 bytes (PROPDICT_BODY_LIMIT). Split the batch into smaller requests.`,
      },
      // Clashes
      { title: 'a taken propertyName', payload: property('EXISTING', { displayName: 'Fresh' }), status: 409, code: 'ALREADY_EXIST', description: 'The propertyName is already used by another property of this domain.' },
      { title: 'a taken displayName (any case)', payload: property('fresh', { displayName: 'existing' }), status: 409, code: 'ALREADY_EXIST', description: 'The displayName is already used by another property of this domain.' },
      { title: 'a system property name', payload: property('email', { displayName: 'Mail' }), status: 409, code: 'ALREADY_EXIST', description: 'The propertyName is already used by another property of this domain.' },
      // Query strings and PATCH bodies
      { title: 'a domainId that is not a number', method: 'GET', path: '?domainId=abc', status: 400, code: 'INVALID_PARAMETER', description: 'domainId must be an integer.' },
      { title: 'domainId 0', method: 'GET', path: '/existing?domainId=0', status: 400, code: 'INVALID_PARAMETER', description: 'domainId must be at least 1.' },
      {
        title: 'PATCH: domainId in body and query differ',
        method: 'PATCH',
        path: `/existing?domainId=${DOMAIN}`,
        payload: { domainId: 60000001, displayName: 'x' },
        status: 400,
        code: 'INVALID_PARAMETER',
        description: `domainId 60000001 in the body and ${DOMAIN} in the query differ.`,
      },
      { title: 'PATCH: displayName null', method: 'PATCH', path: `/existing?domainId=${DOMAIN}`, payload: { displayName: null }, status: 400, code: 'INVALID_PARAMETER', description: 'displayName must be a string.' },
      { title: 'PATCH: a taken displayName', method: 'PATCH', path: `/${'existing'}?domainId=${DOMAIN}`, payload: { displayName: 'Email' }, status: 409, code: 'ALREADY_EXIST', description: 'The displayName is already used by another property of this domain.' },
      // Unknown ids
      { title: 'GET an unknown customPropertyId', method: 'GET', path: `/custompi-5ge3-f6d7-ht33-35gr6e465u01?domainId=${DOMAIN}`, status: 404, code: 'NOT_FOUND', description: 'Custom property "custompi-5ge3-f6d7-ht33-35gr6e465u01" not found.' },
      { title: 'GET an unknown propertyName', method: 'GET', path: `/nothing?domainId=${DOMAIN}`, status: 404, code: 'NOT_FOUND', description: 'Custom property "nothing" not found.' },
      { title: 'GET by the native numeric id', method: 'GET', path: `/11?domainId=${DOMAIN}`, status: 404, code: 'NOT_FOUND', description: 'Custom property "11" not found.' },
      { title: 'PATCH an unknown property', method: 'PATCH', path: `/nothing?domainId=${DOMAIN}`, payload: { displayName: 'x' }, status: 404, code: 'NOT_FOUND', description: 'Custom property "nothing" not found.' },
      { title: 'DELETE an unknown property', method: 'DELETE', path: `/nothing?domainId=${DOMAIN}`, status: 404, code: 'NOT_FOUND', description: 'Custom property "nothing" not found.' },
      { title: 'a domain of another tenant', method: 'GET', path: '?domainId=60000001', status: 404, code: 'NOT_FOUND', description: 'Domain 60000001 not found.' },
      // Routes and methods
      { title: 'an unknown route under /lineworks', method: 'GET', url: '/lineworks/v1.0/contacts', status: 404, code: 'NOT_FOUND', description: 'No API GET /lineworks/v1.0/contacts.' },
      { title: 'an unknown API version', method: 'GET', url: '/lineworks/v2.0/contacts/custom-properties', status: 404, code: 'NOT_FOUND', description: 'No API GET /lineworks/v2.0/contacts/custom-properties.' },
      { title: 'PUT on a property', method: 'PUT', path: '/existing', payload: {}, status: 405, code: 'METHOD_NOT_ALLOWED', description: 'PUT is not allowed here; use GET, HEAD, PATCH, DELETE.', header: ['allow', 'GET, HEAD, PATCH, DELETE'] },
      { title: 'DELETE on the collection', method: 'DELETE', path: '', status: 405, code: 'METHOD_NOT_ALLOWED', description: 'DELETE is not allowed here; use GET, HEAD, POST.', header: ['allow', 'GET, HEAD, POST'] },
      // Content types
      { title: 'text/plain', payload: 'propertyName=x', headers: { 'content-type': 'text/plain' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', description: 'Content-Type must be application/json.' },
      { title: 'a form', payload: 'propertyName=x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', description: 'Content-Type must be application/json.' },
      { title: 'XML', payload: '<x/>', headers: { 'content-type': 'application/xml' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', description: 'Content-Type must be application/json.' },
      // Credentials
      {
        title: 'no credentials',
        method: 'GET',
        token: null,
        status: 401,
        code: 'UNAUTHORIZED',
        description: 'A bearer token is required.',
        header: ['www-authenticate', 'Bearer realm="lineworks"'],
      },
      {
        title: 'a wrong token',
        method: 'GET',
        token: 'pd_not-a-real-token',
        status: 401,
        code: 'UNAUTHORIZED',
        description: 'The token is not valid or was revoked.',
        header: ['www-authenticate', 'Bearer realm="lineworks", error="invalid_token"'],
      },
      {
        title: 'another scheme than Bearer',
        method: 'GET',
        token: null,
        headers: { authorization: 'Basic dXNlcjpwYXNz' },
        status: 401,
        code: 'UNAUTHORIZED',
        description: 'A bearer token is required.',
        header: ['www-authenticate', 'Bearer realm="lineworks"'],
      },
      {
        title: 'the operator token',
        method: 'GET',
        token: OPERATOR_TOKEN,
        status: 401,
        code: 'UNAUTHORIZED',
        description: 'The operator token serves the native API only; use a tenant API key.',
        header: ['www-authenticate', 'Bearer realm="lineworks", error="invalid_token"'],
      },
      { title: "another tenant's token on this domain", method: 'DELETE', path: `/existing?domainId=${DOMAIN}`, token: () => other.token, status: 404, code: 'NOT_FOUND', description: `Domain ${DOMAIN} not found.` },
    ];

    for (const row of rows) {
      test(`${row.title} → ${row.status} ${row.code}`, async () => {
        const method = row.method ?? 'POST';
        const token = typeof row.token === 'function' ? row.token() : row.token === undefined ? a.token : row.token;
        const payload = typeof row.payload === 'string' ? row.payload : row.payload === undefined ? undefined : JSON.stringify(row.payload);
        const headers = { ...(payload !== undefined && typeof row.payload !== 'string' ? JSON_HEADERS : {}), ...row.headers };
        const res = await t.request({ method, url: row.url ?? `${BASE}${row.path ?? ''}`, token, headers, ...(payload === undefined ? {} : { payload }) });
        expectLineWorksError(res, row.status, row.code, row.description);
        if (row.header) assert.equal(res.headers[row.header[0]], row.header[1], res.raw);
      });
    }

    test('nothing was created or changed by any of them', async () => {
      const list = await t.request({ method: 'GET', url: `${BASE}?domainId=${DOMAIN}`, token: a.token });
      expectStatus(list, 200);
      assert.deepEqual(list.body, {
        customProperties: [{ domainId: DOMAIN, customPropertyId: id, propertyName: 'existing', displayName: 'Existing', i18nDisplayNames: [], propertyType: 'STRING', displayOrder: null, multiValued: false }],
      });
    });
  });

  describe(`LINE WORKS rate limits [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    const clock = manualClock();

    before(async () => {
      t = await createTestApp(dialect, { clock, config: { lineworks: { perMinute: 3, maxCustomProperties: 100 } } });
      a = await createTenancy(t, 'Busy', DOMAIN);
    });
    after(() => t.close());

    const create = (name: string, domainId = DOMAIN, token = a.token) => t.request({ method: 'POST', url: BASE, token, payload: { ...property(name), domainId } });
    const headersOf = (res: Response) => [res.headers['ratelimit-limit'], res.headers['ratelimit-remaining'], res.headers['ratelimit-reset']];

    test('per domain and per operation, per minute: the 4th create → 429; list has its own budget; a minute later it passes', async () => {
      for (const [i, name] of ['r1', 'r2', 'r3'].entries()) {
        const res = await create(name);
        expectStatus(res, 201);
        assert.equal(res.body.propertyName, name, res.raw);
        assert.deepEqual(headersOf(res), ['3', String(2 - i), '60']);
      }
      clock.advance(15_000);
      const fourth = await create('r4');
      expectLineWorksError(fourth, 429, 'TOO_MANY_REQUESTS', 'API rate limit exceeded');
      assert.equal(fourth.headers['retry-after'], '45');
      assert.deepEqual(headersOf(fourth), ['3', '0', '45']);

      const list = await t.request({ method: 'GET', url: `${BASE}?domainId=${DOMAIN}`, token: a.token });
      expectStatus(list, 200);
      assert.deepEqual(list.body.customProperties.map((p: { propertyName: string }) => p.propertyName), ['r1', 'r2', 'r3']);
      assert.deepEqual(headersOf(list), ['3', '2', '45']);

      // Another domain has a budget of its own.
      const b = await createTenancy(t, 'Quiet', 70000001);
      const elsewhere = await create('r1', 70000001, b.token);
      expectStatus(elsewhere, 201);
      assert.deepEqual(headersOf(elsewhere), ['3', '2', '45']);

      clock.advance(45_000);
      const later = await create('r4');
      expectStatus(later, 201);
      assert.equal(later.body.propertyName, 'r4', later.raw);
      assert.deepEqual(headersOf(later), ['3', '2', '60']);
    });

    test('the native API does not spend the LINE WORKS budget', async () => {
      for (let i = 0; i < 5; i++) {
        const res = await t.request({ method: 'GET', url: `/v1/workspaces/${DOMAIN}/properties`, token: a.token });
        expectStatus(res, 200);
        assert.equal(res.headers['ratelimit-limit'], undefined);
      }
      const res = await create('r5');
      expectStatus(res, 201);
      assert.deepEqual(headersOf(res), ['3', '1', '60']);
    });
  });

  describe(`LINE WORKS rate limit off [${dialect.name}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(dialect, { config: { lineworks: { perMinute: 0, maxCustomProperties: 5 } } });
    });
    after(() => t.close());

    test('PROPDICT_LINEWORKS_PER_MINUTE=0: no budget and no rate-limit headers', async () => {
      const a = await createTenancy(t, 'Free', DOMAIN);
      for (let i = 0; i < 5; i++) {
        const res = await t.request({ method: 'GET', url: `${BASE}?domainId=${DOMAIN}`, token: a.token });
        expectStatus(res, 200);
        assert.deepEqual(res.body, { customProperties: [] });
        assert.equal(res.headers['ratelimit-limit'], undefined);
      }
    });
  });
}
