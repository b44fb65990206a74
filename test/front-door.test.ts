// What the front door does with input no route expected, on every surface and in each surface's
// envelope: deep JSON, ids no object can have, unknown query parameters, empty bodies, paths
// outside the surfaces, input that is not HTTP, and error messages a person can act on.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createFixture, type Fixture } from './helpers/common-route-tests.ts';
import { createTenancy, createTestApp, expectError, expectStatus, OPERATOR_TOKEN, type Response, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';
import { nativeCase } from './helpers/route-calls.ts';
import { envelopeOf, hcl, lineworks, native, ocamba, type SurfaceEnvelope } from './helpers/surfaces.ts';

const OCAMBA = '/ocamba/v1/hood/profile-properties';
const HCL = '/hcl/api/campaign-data-dictionary';
const LW = '/lineworks/v1.0/contacts/custom-properties';
const HUGE = '99999999999999999999999';

/** A path with every parameter filled in; the values need not exist where parsing fails first. */
const fill = (url: string, f: Fixture) =>
  url
    .replace(/:ws\b|:campaignId\b/g, String(f.a.workspaceId))
    .replace(':tenant_id', String(f.a.tenantId))
    .replace(/:[A-Za-z_]+/g, f.property);

for (const dialect of dialects) {
  describe(`the front door [${dialect.name}]`, () => {
    let t: TestApp;
    let f: Fixture;

    before(async () => {
      t = await createTestApp(dialect, { config: { ocamba: { perSecond: 0, perMinute: 0 } } });
      f = await createFixture(t);
    });
    after(() => t.close());

    const send = (surface: SurfaceEnvelope, options: { method: string; url: string; payload?: string | object; headers?: Record<string, string> }) =>
      t.request({
        method: options.method as 'GET',
        url: options.url,
        payload: options.payload as string,
        token: null,
        headers: { ...surface.credential(f.a.token), ...options.headers },
      });

    test('a body nested thousands deep → 400 in the surface\'s envelope on every route that reads a body', async () => {
      const bodies = { arrays: `${'['.repeat(5000)}${']'.repeat(5000)}`, objects: `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}` };
      const writes = t.routes.filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method));
      assert.ok(writes.length >= 20, `every surface's writes: ${writes.length}`);
      for (const route of writes) {
        const surface = envelopeOf(route.url);
        const headers = { 'content-type': 'application/json', ...(route.auth === 'operator' ? native.credential(OPERATOR_TOKEN) : {}) };
        for (const [kind, payload] of Object.entries(bodies)) {
          const res = await send(surface, { method: route.method, url: fill(route.url, f), payload, headers });
          assert.equal(res.status, 400, `${route.method} ${route.url} with nested ${kind}: ${res.raw.slice(0, 300)}`);
          surface.expectError(res, 400);
        }
      }
    });

    test('nesting up to the limit is taken; one level more names where', async () => {
      const nest = (depth: number): unknown => (depth === 0 ? 'leaf' : { a: nest(depth - 1) });
      const url = `/v1/workspaces/${f.a.workspaceId}/properties`;
      // The body is level 1; the 63 objects of its metadata fill levels 2 to 64.
      const fits = await send(native, { method: 'POST', url, payload: { name: 'deep_ok', data_type: 'string', metadata: nest(63) } });
      expectStatus(fits, 201);
      const deeper = await send(native, { method: 'POST', url, payload: { name: 'deep_no', data_type: 'string', metadata: nest(64) } });
      const details = expectError(deeper, 400, 'VALIDATION_FAILED');
      assert.equal(details.length, 1, deeper.raw);
      assert.match(details[0].field, /^metadata(\.a)+$/, deeper.raw);
      assert.equal(details[0].problem, 'nests objects and arrays more than 64 levels deep', deeper.raw);
    });

    test('an id no object can have → 404 in the surface\'s envelope, on every surface', async () => {
      const ws = f.a.workspaceId;
      const rows: { title: string; surface: SurfaceEnvelope; method: string; url: string }[] = [
        { title: 'native workspace', surface: native, method: 'GET', url: `/v1/workspaces/${HUGE}/properties` },
        { title: 'native workspace just past 32 bits', surface: native, method: 'GET', url: '/v1/workspaces/2147483648/limits' },
        { title: 'native property', surface: native, method: 'GET', url: `/v1/workspaces/${ws}/properties/${HUGE}` },
        { title: 'native property, PATCH', surface: native, method: 'PATCH', url: `/v1/workspaces/${ws}/properties/2147483648` },
        { title: 'native tenant', surface: native, method: 'GET', url: `/v1/tenants/${HUGE}` },
        { title: 'native source', surface: native, method: 'GET', url: `/v1/workspaces/${ws}/sources/${HUGE}` },
        { title: 'native source, DELETE', surface: native, method: 'DELETE', url: `/v1/workspaces/${ws}/sources/${HUGE}` },
        { title: 'native source records', surface: native, method: 'POST', url: `/v1/workspaces/${ws}/sources/${HUGE}/records` },
        { title: 'native source write keys', surface: native, method: 'GET', url: `/v1/workspaces/${ws}/sources/${HUGE}/write-keys` },
        { title: 'native source write key, POST', surface: native, method: 'POST', url: `/v1/workspaces/${ws}/sources/${HUGE}/write-keys` },
        { title: 'native source write key, DELETE', surface: native, method: 'DELETE', url: `/v1/workspaces/${ws}/sources/${HUGE}/write-keys/wk_none` },
        { title: 'native source write key just past 32 bits, DELETE', surface: native, method: 'DELETE', url: `/v1/workspaces/${ws}/sources/2147483648/write-keys/wk_none` },
        { title: 'native property history', surface: native, method: 'GET', url: `/v1/workspaces/${ws}/properties/${HUGE}/history` },
        { title: 'native property restore', surface: native, method: 'POST', url: `/v1/workspaces/${ws}/properties/${HUGE}/restore` },
        { title: 'native tenant workspaces', surface: native, method: 'GET', url: `/v1/tenants/${HUGE}/workspaces` },
        { title: 'native tenant api keys', surface: native, method: 'GET', url: `/v1/tenants/${HUGE}/api-keys` },
        { title: 'native api key, DELETE', surface: native, method: 'DELETE', url: `/v1/tenants/${f.a.tenantId}/api-keys/${HUGE}` },
        { title: 'native job', surface: native, method: 'GET', url: `/v1/workspaces/${ws}/jobs/${HUGE}` },
        { title: 'native profiles of a workspace', surface: native, method: 'GET', url: `/v1/workspaces/${HUGE}/profiles` },
        { title: 'Ocamba property', surface: ocamba, method: 'GET', url: `${OCAMBA}/${HUGE}` },
        { title: 'HCL campaign', surface: hcl, method: 'GET', url: `${HCL}/campaignId/${HUGE}` },
        { title: 'HCL campaign, DELETE', surface: hcl, method: 'DELETE', url: `${HCL}/campaignId/${HUGE}/dataPoint/x` },
        { title: 'LINE WORKS property', surface: lineworks, method: 'GET', url: `${LW}/${HUGE}?domainId=${ws}` },
        { title: 'LINE WORKS domain', surface: lineworks, method: 'GET', url: `${LW}?domainId=${HUGE}` },
        { title: 'LINE WORKS domain of one property', surface: lineworks, method: 'GET', url: `${LW}/${f.propertyUid}?domainId=${HUGE}` },
        { title: 'LINE WORKS domain, PATCH', surface: lineworks, method: 'PATCH', url: `${LW}/${f.propertyUid}?domainId=2147483648` },
      ];
      for (const row of rows) {
        const patch = row.surface === lineworks ? { displayName: 'x' } : { description: 'x' };
        const payload = row.method === 'PATCH' ? patch : row.url.endsWith('/records') ? { records: [{}] } : undefined;
        const res = await send(row.surface, { method: row.method, url: row.url, payload, headers: row.url.includes('/tenants/') ? native.credential(OPERATOR_TOKEN) : undefined });
        assert.equal(res.status, 404, `${row.title}: ${res.raw}`);
        row.surface.expectError(res, 404);
      }
      // The same ids written as JSON numbers in a body.
      const json = { 'content-type': 'application/json' };
      const bodies: { title: string; surface: SurfaceEnvelope; method: string; url: string; payload: string }[] = [
        { title: 'HCL campaign in a body', surface: hcl, method: 'POST', url: HCL, payload: `{"campaignId":${HUGE},"dmpDataPointCode":"huge","dataType":"STRING"}` },
        { title: 'LINE WORKS domain in a body', surface: lineworks, method: 'POST', url: LW, payload: `{"domainId":${HUGE},"propertyName":"huge","displayName":"Huge","propertyType":"STRING"}` },
      ];
      for (const row of bodies) {
        const res = await send(row.surface, { method: row.method, url: row.url, payload: row.payload, headers: json });
        assert.equal(res.status, 404, `${row.title}: ${res.raw}`);
        row.surface.expectError(res, 404);
      }
    });

    test('an unknown query parameter → 400 naming it, on every native route', async () => {
      const patchUrl = `/v1/workspaces/${f.a.workspaceId}/properties/${f.property}`;
      for (const call of nativeCase.calls) {
        const [method] = call.route.split(' ');
        const url = call.url(f);
        const res = await t.request({ method: method as 'GET', url: `${url}${url.includes('?') ? '&' : '?'}bogus_param=1`, payload: call.payload?.(f) as object });
        const details = expectError(res, 400, 'VALIDATION_FAILED');
        const named = details.find((d) => d.field === 'bogus_param');
        assert.ok(named, `${call.route}: ${res.raw}`);
        assert.match(named.problem, /^is not a known parameter/, `${call.route}: ${res.raw}`);
      }
      // A dry run this route does not have is refused, not applied.
      const dry = await t.request({ method: 'PATCH', url: `${patchUrl}?dry_run=true`, payload: { description: 'changed' } });
      assert.deepEqual(expectError(dry, 400, 'VALIDATION_FAILED'), [{ field: 'dry_run', problem: 'is not a known parameter' }]);
      const unchanged = await t.request({ method: 'GET', url: patchUrl });
      expectStatus(unchanged, 200);
      assert.equal(unchanged.body.description, null, unchanged.raw);
    });

    test('a route that takes no body accepts an empty one, whatever its Content-Type', async () => {
      const ws = `/v1/workspaces/${f.a.workspaceId}`;
      const create = async (name: string) => {
        const res = await t.request({ method: 'POST', url: `${ws}/properties`, payload: { name, data_type: 'string' } });
        expectStatus(res, 201);
        return res.body as { id: number; uid: string };
      };
      const types = ['application/json', 'text/plain', 'application/xml'];
      const archived = await create('empty_archive');
      const source = await t.request({ method: 'POST', url: `${ws}/sources`, payload: { name: 'empty_source' } });
      expectStatus(source, 201);
      expectStatus(await t.request({ method: 'PUT', url: `${ws}/profiles/empty-body`, payload: { properties: {} } }), 201);
      const key = await f.a.key(['properties:read']);
      const viaOcamba = await create('empty_ocamba');
      await create('empty_hcl');
      const viaLineworks = await create('empty_lineworks');
      const rows: { title: string; surface: SurfaceEnvelope; method: string; url: string; status: number }[] = [
        { title: 'archive', surface: native, method: 'DELETE', url: `${ws}/properties/${archived.id}`, status: 204 },
        { title: 'restore', surface: native, method: 'POST', url: `${ws}/properties/${archived.id}/restore`, status: 200 },
        { title: 'purge', surface: native, method: 'DELETE', url: `${ws}/properties/${archived.id}?purge=true`, status: 202 },
        { title: 'revoke a key', surface: native, method: 'DELETE', url: `/v1/tenants/${f.a.tenantId}/api-keys/${key.id}`, status: 204 },
        { title: 'delete a source', surface: native, method: 'DELETE', url: `${ws}/sources/${source.body.id}`, status: 204 },
        { title: 'delete a profile', surface: native, method: 'DELETE', url: `${ws}/profiles/empty-body`, status: 204 },
        { title: 'Ocamba delete', surface: ocamba, method: 'DELETE', url: `${OCAMBA}/${viaOcamba.id}`, status: 204 },
        { title: 'HCL delete', surface: hcl, method: 'DELETE', url: `${HCL}/campaignId/${f.a.workspaceId}/dataPoint/empty_hcl`, status: 200 },
        { title: 'LINE WORKS delete', surface: lineworks, method: 'DELETE', url: `${LW}/${viaLineworks.uid}?domainId=${f.a.workspaceId}`, status: 204 },
      ];
      for (const [i, row] of rows.entries()) {
        const res = await send(row.surface, { method: row.method, url: row.url, payload: '', headers: { 'content-type': types[i % types.length] } });
        assert.equal(res.status, row.status, `${row.title} with ${types[i % types.length]}: ${res.raw}`);
      }
      // A body is still read where one is taken, and a body that is not JSON is still refused.
      expectError(await send(native, { method: 'POST', url: `${ws}/properties`, payload: '', headers: { 'content-type': 'application/json' } }), 400, 'VALIDATION_FAILED');
      const text = await send(native, { method: 'POST', url: `${ws}/properties/${f.property}/restore`, payload: 'restore it', headers: { 'content-type': 'text/plain' } });
      expectError(text, 415, 'UNSUPPORTED_MEDIA_TYPE');
      for (const surface of [ocamba, hcl, lineworks]) {
        const url = { Ocamba: `${OCAMBA}/${f.propertyId}`, HCL: `${HCL}/campaignId/${f.a.workspaceId}/dataPoint/${f.property}`, 'LINE WORKS': `${LW}/${f.propertyUid}` }[surface.name]!;
        const res = await send(surface, { method: 'DELETE', url, payload: '<delete/>', headers: { 'content-type': 'application/xml' } });
        surface.expectError(res, 415);
      }
    });

    // One table of the ways a request goes wrong, sent to every surface: each answers in its own envelope.
    test('every 4xx on every surface uses that surface\'s envelope', async () => {
      const ws = f.a.workspaceId;
      // LINE WORKS and HCL ignore unknown query parameters, as their vendors' APIs do (docs/compat).
      const homes: { surface: SurfaceEnvelope; list: string; write: string; one: string; writeMethod: string; strictQuery?: boolean }[] = [
        { surface: native, list: `/v1/workspaces/${ws}/properties`, write: `/v1/workspaces/${ws}/properties`, one: `/v1/workspaces/${ws}/properties/${f.property}`, writeMethod: 'POST', strictQuery: true },
        { surface: ocamba, list: OCAMBA, write: OCAMBA, one: `${OCAMBA}/${f.propertyId}`, writeMethod: 'POST', strictQuery: true },
        { surface: hcl, list: `${HCL}/campaignId/${ws}`, write: HCL, one: `${HCL}/campaignId/${ws}`, writeMethod: 'POST' },
        { surface: lineworks, list: `${LW}?domainId=${ws}`, write: LW, one: `${LW}/${f.propertyUid}?domainId=${ws}`, writeMethod: 'POST' },
      ];
      const json = { 'content-type': 'application/json' };
      for (const h of homes) {
        const cases: { title: string; status: number; method: string; url: string; payload?: string; headers?: Record<string, string>; token?: string | null }[] = [
          { title: 'malformed JSON', status: 400, method: h.writeMethod, url: h.write, payload: '{"a":', headers: json },
          { title: 'a body that is an array', status: 400, method: h.writeMethod, url: h.write, payload: '[1]', headers: json },
          { title: 'an empty body where one is needed', status: 400, method: h.writeMethod, url: h.write, payload: '', headers: json },
          ...(h.strictQuery ? [{ title: 'an unknown query parameter', status: 400, method: 'GET', url: `${h.list}${h.list.includes('?') ? '&' : '?'}bogus_param=1` }] : []),
          { title: 'a NUL character in a query', status: 400, method: 'GET', url: `${h.list}${h.list.includes('?') ? '&' : '?'}bogus=%00` },
          { title: 'no credential', status: 401, method: 'GET', url: h.list, token: null },
          { title: 'a wrong credential', status: 401, method: 'GET', url: h.list, token: 'pd_wrong' },
          { title: 'an unknown path under the surface', status: 404, method: 'GET', url: `${h.surface.prefix}/no/such/route` },
          { title: 'a method the path does not take', status: 405, method: 'PUT', url: h.one, payload: '{}', headers: json },
          { title: 'a body that is not JSON', status: 415, method: h.writeMethod, url: h.write, payload: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        ];
        for (const c of cases) {
          const token = c.token === undefined ? f.a.token : c.token;
          const res = await t.request({ method: c.method as 'GET', url: c.url, payload: c.payload, token: null, headers: { ...(token === null ? {} : h.surface.credential(token)), ...c.headers } });
          assert.equal(res.status, c.status, `${h.surface.name}, ${c.title}: ${res.raw.slice(0, 300)}`);
          h.surface.expectError(res, c.status);
          assert.ok(res.headers['x-request-id'], `${h.surface.name}, ${c.title}: X-Request-Id`);
        }
      }
    });

    test('GET / answers an index of the docs and the four surfaces', async () => {
      const res = await t.request({ method: 'GET', url: '/', token: null });
      expectStatus(res, 200);
      assert.deepEqual(res.body, {
        name: 'propdict',
        docs: '/docs',
        openapi: '/openapi.json',
        console: '/console',
        surfaces: [
          { name: 'native', url: '/v1', openapi: '/openapi.json' },
          { name: 'Ocamba Hood profile properties', url: OCAMBA, openapi: '/ocamba/openapi.json' },
          { name: 'HCL CDP user properties', url: HCL, openapi: '/hcl/openapi.json' },
          { name: 'LINE WORKS contact custom properties', url: LW, openapi: '/lineworks/openapi.json' },
        ],
      });
      for (const entry of [res.body.docs, res.body.openapi, res.body.console, ...res.body.surfaces.map((s: { openapi: string }) => s.openapi)]) {
        const linked = await t.request({ method: 'GET', url: entry, token: null });
        assert.ok([200, 302].includes(linked.status), `${entry}: ${linked.status}`);
      }
    });

    test('paths outside the surfaces answer the native envelope with X-Request-Id', async () => {
      for (const url of ['/nope', '/v2/workspaces', '/docs/nope', '/favicon.ico', '/ocambo/v1']) {
        const res = await t.request({ method: 'GET', url, token: null });
        expectError(res, 404, 'NOT_FOUND');
      }
      const wrongMethod = await t.request({ method: 'POST', url: '/', token: null });
      expectError(wrongMethod, 405, 'METHOD_NOT_ALLOWED');
      assert.match(String(wrongMethod.headers.allow), /GET/, wrongMethod.raw);
    });

    test('input that is not HTTP → 400 in the native envelope with X-Request-Id', async () => {
      const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = new URL(address);
      for (const garbage of ['\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003\r\n\r\n', 'HELLO THERE\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n']) {
        const raw = await new Promise<string>((resolve, reject) => {
          const socket = connect(Number(port), '127.0.0.1', () => socket.end(garbage));
          let data = '';
          socket.on('data', (chunk) => (data += chunk.toString()));
          socket.on('end', () => resolve(data));
          socket.on('error', reject);
        });
        const [head, body] = raw.split('\r\n\r\n');
        assert.match(head, /^HTTP\/1\.1 400 /, raw);
        const id = /x-request-id: (\S+)/i.exec(head)?.[1];
        assert.ok(id, raw);
        assert.deepEqual(JSON.parse(body), { error: { code: 'VALIDATION_FAILED', message: 'The request is not valid HTTP.', request_id: id, details: [] } }, raw);
      }
    });
  });

  describe(`errors a person can act on [${dialect.name}]`, () => {
    let t: TestApp;
    let token: string;
    let url: string;

    before(async () => {
      t = await createTestApp(dialect, { bodyLimit: 2048 });
      const a = await createTenancy(t, 'Words');
      token = a.token;
      url = `/v1/workspaces/${a.workspaceId}/properties`;
    });
    after(() => t.close());

    const post = (payload: object) => t.request({ method: 'POST', url, token, payload });

    const rows: { title: string; input: object; expected: { field: string; problem: string }[] }[] = [
      { title: 'type for data_type', input: { name: 'a', type: 'string' }, expected: [{ field: 'data_type', problem: 'is required' }, { field: 'type', problem: 'is not a known field; did you mean data_type?' }] },
      { title: 'label for display_name', input: { name: 'a', data_type: 'string', label: 'A' }, expected: [{ field: 'label', problem: 'is not a known field; did you mean display_name?' }] },
      { title: 'a typo', input: { name: 'a', data_type: 'string', descriptoin: 'x' }, expected: [{ field: 'descriptoin', problem: 'is not a known field; did you mean description?' }] },
      { title: 'a name against its rule', input: { name: '1st-name', data_type: 'string' }, expected: [{ field: 'name', problem: 'must be letters, digits and _, starting with a letter or _' }] },
      { title: 'an empty name', input: { name: '', data_type: 'string' }, expected: [{ field: 'name', problem: 'must not be empty or must be letters, digits and _, starting with a letter or _' }] },
      { title: 'a name too long', input: { name: `a${'b'.repeat(120)}`, data_type: 'string' }, expected: [{ field: 'name', problem: 'must be at most 120 characters long' }] },
      {
        title: 'an enum option as a bare string',
        input: { name: 'tier', data_type: 'enum', options: ['gold'] },
        expected: [{ field: 'options[0]', problem: 'must be an object {value, label?, display_order?, hidden?}' }],
      },
      { title: 'a display order below 1', input: { name: 'a', data_type: 'string', display_order: 0 }, expected: [{ field: 'display_order', problem: 'must be at least 1' }] },
      {
        title: 'two letters swapped, deep in the body',
        input: { name: 'tier', data_type: 'enum', options: [{ value: 'gold', lable: 'Gold' }] },
        expected: [{ field: 'options[0].lable', problem: 'is not a known field; did you mean label?' }],
      },
      {
        title: 'a display name under a key that is no language tag',
        input: { name: 'a', data_type: 'string', i18n_display_names: { en_US: 'A', 'en US!': 'A' } },
        expected: [{ field: 'i18n_display_names.en US!', problem: 'must be a language tag such as en or en_US' }],
      },
      { title: 'a name written without its underscore', input: { name: 'a', datatype: 'string' }, expected: [{ field: 'data_type', problem: 'is required' }, { field: 'datatype', problem: 'is not a known field; did you mean data_type?' }] },
    ];
    for (const row of rows) {
      test(`${row.title} → 400 in words`, async () => {
        const res = await post(row.input);
        const details = expectError(res, 400, 'VALIDATION_FAILED');
        assert.deepEqual(details.map(({ field, problem }) => ({ field, problem })).sort((x, y) => x.field.localeCompare(y.field)), row.expected, res.raw);
      });
    }

    test('display names under language tags are kept', async () => {
      const i18n = { en: 'Tier', en_US: 'Tier', 'sr-Latn': 'Nivo' };
      const res = await post({ name: 'i18n_ok', data_type: 'string', i18n_display_names: i18n });
      expectStatus(res, 201);
      assert.deepEqual(res.body.i18n_display_names, i18n, res.raw);
    });

    test('GET /properties/ (a trailing slash) is the list', async () => {
      const res = await t.request({ method: 'GET', url: `${url}/`, token });
      expectStatus(res, 200);
      assert.ok(Array.isArray(res.body.data) && res.body.data.length > 0, res.raw);
    });

    // The vendor envelopes carry one message: the suggestion is in it, in the vendor's field names.
    test('an unknown body field suggests the nearest known one on every vendor surface, in its envelope', async () => {
      const b = await createTenancy(t, 'Words suggest');
      const rows: { surface: SurfaceEnvelope; url: string; payload: object; said: RegExp }[] = [
        { surface: ocamba, url: OCAMBA, payload: { label: 'one', data_type: 'text', type: 'text' }, said: /type is not a known field; did you mean data_type\?$/ },
        { surface: ocamba, url: OCAMBA, payload: { label: 'one', data_type: 'text', descripton: 'x' }, said: /descripton is not a known field; did you mean description\?$/ },
        { surface: hcl, url: HCL, payload: { campaignId: b.workspaceId, dmpDataPointCode: 'one', dataType: 'STRING', type: 'STRING' }, said: /^Unknown field 'type'\. Did you mean 'dataType'\?$/ },
        { surface: hcl, url: HCL, payload: { campaignId: b.workspaceId, dmpDataPointCode: 'one', dataType: 'STRING', mergefunction: 'UPDATE' }, said: /^Unknown field 'mergefunction'\. Did you mean 'mergeFunction'\?$/ },
        {
          surface: lineworks,
          url: LW,
          payload: { domainId: b.workspaceId, propertyName: 'one', displayName: 'One', propertyType: 'STRING', type: 'STRING' },
          said: /^type is not a known field; did you mean propertyType\?$/,
        },
        {
          surface: lineworks,
          url: LW,
          payload: { domainId: b.workspaceId, propertyName: 'one', propertyType: 'STRING', label: 'One' },
          said: /label is not a known field; did you mean displayName\?$/,
        },
      ];
      for (const row of rows) {
        const res: Response = await t.request({ method: 'POST', url: row.url, token: null, headers: row.surface.credential(b.token), payload: row.payload });
        row.surface.expectError(res, 400);
        const message = res.body.message ?? res.body.description;
        assert.match(message, row.said, res.raw);
      }
    });

    test('a vendor list with a trailing slash is the list', async () => {
      const b = await createTenancy(t, 'Words slash');
      // HCL answers 404 for a campaign without data points of its own.
      expectStatus(await t.request({ method: 'POST', url: HCL, token: null, headers: hcl.credential(b.token), payload: { campaignId: b.workspaceId, dmpDataPointCode: 'one', dataType: 'STRING' } }), 200);
      for (const [surface, path] of [
        [ocamba, `${OCAMBA}/`],
        [hcl, `${HCL}/campaignId/${b.workspaceId}/`],
        [lineworks, `${LW}/?domainId=${b.workspaceId}`],
      ] as const) {
        const res = await t.request({ method: 'GET', url: path, token: null, headers: surface.credential(b.token) });
        expectStatus(res, 200);
        const list = Array.isArray(res.body) ? res.body : (res.body.items ?? res.body.customProperties);
        assert.ok(Array.isArray(list), `${surface.name}: ${res.raw.slice(0, 300)}`);
      }
    });

    test('413 names the size received, the limit in bytes and its variable, and says to split the batch', async () => {
      const payload = JSON.stringify({ inputs: Array.from({ length: 40 }, (_, i) => ({ name: `p${i}`, data_type: 'string', description: 'x'.repeat(50) })) });
      const res = await t.request({ method: 'POST', url: `${url}/batch`, token, payload, headers: { 'content-type': 'application/json' } });
      expectError(res, 413, 'PAYLOAD_TOO_LARGE');
      assert.equal(
        res.body.error.message,
        `The request body is ${payload.length} bytes; this server takes at most 2048 bytes (PROPDICT_BODY_LIMIT). Split the batch into smaller requests.`,
        res.raw,
      );
    });

    test('every surface keeps its envelope for a body over the limit', async () => {
      const b = await createTenancy(t, 'Words vendor');
      const big = 'x'.repeat(3000);
      const rows: { surface: SurfaceEnvelope; url: string; payload: object }[] = [
        { surface: ocamba, url: OCAMBA, payload: { label: 'big', description: big } },
        { surface: hcl, url: HCL, payload: { campaignId: b.workspaceId, dmpDataPointCode: 'big', dataType: 'STRING', pad: big } },
        { surface: lineworks, url: LW, payload: { domainId: b.workspaceId, propertyName: 'big', displayName: big, propertyType: 'STRING' } },
      ];
      for (const row of rows) {
        const res: Response = await t.request({ method: 'POST', url: row.url, token: null, headers: row.surface.credential(b.token), payload: row.payload });
        row.surface.expectError(res, 413);
        assert.match(res.raw, /at most 2048 bytes \(PROPDICT_BODY_LIMIT\)\. Split the batch/, res.raw);
      }
    });
  });
}
