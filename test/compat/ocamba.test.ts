// The Ocamba Hood surface: the seed page's example replayed verbatim, lists, reads, updates and
// deletes, every class of bad input in Ocamba's envelope, and the per-tenant rate limits.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTenancy, createTestApp, expectStatus, OPERATOR_TOKEN, type Response, type Tenancy, type TestApp } from '../helpers/app.ts';
import { dialects } from '../helpers/dialects.ts';

const BASE = '/ocamba/v1/hood/profile-properties';
const COMPANY_ID = 7196310;

// From the seed page (docs.ocamba.com, "Create profile Property"): the curl body, byte for byte.
const SEED_REQUEST_BODY = `{
  "label": "my_region",
  "data_type": "text",
  "example": "northern_europe",
  "description": "Custom region information associated with the profile. Can be used to group or filter profiles based on regional segmentation defined by your organization.",
  "export_alias": "region_name",
  "pi_data": 1,
  "importable": 1,
  "exportable": 1
}`;
const SEED_RESPONSE = {
  id: '1000105',
  company_id: '7196310',
  target: 'my_region',
  label: 'my_region',
  data_type: 'text',
  example: 'northern_europe',
  description:
    'Custom region information associated with the profile. Can be used to group or filter profiles based on regional segmentation defined by your organization.',
  import_aliases: ['region_name'],
  export_alias: 'region_name',
  pi_data: 1,
  system: 1,
  importable: 1,
  exportable: 1,
  create_time: '2025-01-29 12:47:00',
  update_time: '2025-01-30 14:27:26',
};
const ITEM_KEYS = Object.keys(SEED_RESPONSE);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const OCAMBA_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const RATE_HEADERS = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'];

/** A clock the tests move by hand: rate-limit windows and timestamps follow it, never sleeps. */
function manualClock(start: string) {
  let now = Date.parse(start);
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
  };
}

/** Ocamba's envelope, exactly: {code, title, message, trace_id}, nothing internal. Returns the message. */
function expectOcambaError(res: Response, status: number, title: string): string {
  expectStatus(res, status);
  assert.deepEqual(Object.keys(res.body ?? {}), ['code', 'title', 'message', 'trace_id'], res.raw);
  assert.equal(res.body.code, status, res.raw);
  assert.equal(res.body.title, title, res.raw);
  assert.equal(typeof res.body.message, 'string', res.raw);
  assert.ok(res.body.message.length > 0, res.raw);
  assert.equal(res.body.trace_id, res.headers['x-request-id'], 'trace_id equals X-Request-Id');
  assert.match(res.body.trace_id, UUID);
  assert.doesNotMatch(res.raw, /\bat \S+ \(|\bat (file|node):|\.ts:\d+/, 'no stack trace');
  assert.doesNotMatch(res.raw, /\b(select|insert into|delete from)\b|SQLITE_|sqlstate|FST_|node_modules/i, 'nothing internal');
  return res.body.message;
}

const labels = (res: Response) => res.body.items.map((i: { label: string }) => i.label);

for (const dialect of dialects) {
  describe(`Ocamba Hood profile properties [${dialect.name}]`, () => {
    const clock = manualClock('2025-01-29T12:47:00.000Z');
    let t: TestApp;
    let a: Tenancy;
    let created: Record<string, string> = {};
    // Limits high enough never to trip here: the rate-limit suite below tests them.
    const config = { ocamba: { perSecond: 100_000, perMinute: 1_000_000 } };

    const ocamba = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT', path = '', payload?: unknown, token: string | null = a.token) =>
      t.request({ method, url: `${BASE}${path}`, token, ...(payload === undefined ? {} : { payload: payload as object }) });

    before(async () => {
      t = await createTestApp(dialect, { clock, config });
      a = await createTenancy(t, 'Acme', COMPANY_ID);
    });
    after(() => t.close());

    describe('create', () => {
      test('the seed page’s example request gets the documented 201 response', async () => {
        const res = await t.request({
          method: 'POST',
          url: BASE,
          token: null,
          headers: { Authorization: `Bearer ${a.token}`, 'Content-Type': 'application/json' },
          payload: SEED_REQUEST_BODY,
        });
        expectStatus(res, 201);
        assert.deepEqual(Object.keys(res.body), ITEM_KEYS, 'the documented fields, in the documented order');
        // Assigned values, by format.
        assert.match(res.body.id, /^\d+$/);
        assert.equal(res.body.company_id, SEED_RESPONSE.company_id, 'the workspace id, as a string');
        assert.match(res.body.create_time, OCAMBA_TIME);
        assert.equal(res.body.create_time, SEED_RESPONSE.create_time, 'the clock’s time, UTC');
        assert.equal(res.body.update_time, res.body.create_time, 'not updated yet');
        // The one deliberate difference: the example shows system 1; a property created here is custom.
        assert.equal(res.body.system, 0);
        // Everything else as documented.
        for (const key of ['target', 'label', 'data_type', 'example', 'description', 'import_aliases', 'export_alias', 'pi_data', 'importable', 'exportable'] as const) {
          assert.deepEqual(res.body[key], SEED_RESPONSE[key], key);
        }
        assert.equal(res.headers.location, `${BASE}/${res.body.id}`);
        created.my_region = res.body.id;
      });

      test('defaults: data_type text, flags 1 except pi_data, empty strings for unset text', async () => {
        clock.advance(60_000);
        const res = await ocamba('POST', '', { label: 'notes', description: 'Free notes about the region' });
        expectStatus(res, 201);
        assert.deepEqual(
          { ...res.body, id: undefined },
          {
            id: undefined,
            company_id: String(COMPANY_ID),
            target: 'notes',
            label: 'notes',
            data_type: 'text',
            example: '',
            description: 'Free notes about the region',
            import_aliases: [],
            export_alias: '',
            pi_data: 0,
            system: 0,
            importable: 1,
            exportable: 1,
            create_time: '2025-01-29 12:48:00',
            update_time: '2025-01-29 12:48:00',
          },
        );
        created.notes = res.body.id;
      });

      test('number and date create the native number and date types', async () => {
        const rows = [
          { label: 'score', data_type: 'number', importable: 0, native: 'number' },
          { label: 'birthday', data_type: 'date', exportable: 0, native: 'date' },
        ];
        for (const { native, ...body } of rows) {
          clock.advance(60_000);
          const res = await ocamba('POST', '', body);
          expectStatus(res, 201);
          assert.equal(res.body.data_type, body.data_type);
          created[body.label] = res.body.id;
          const nativeRes = await t.request({ method: 'GET', url: `/v1/workspaces/${a.workspaceId}/properties/${body.label}`, token: a.token });
          expectStatus(nativeRes, 200);
          assert.equal(nativeRes.body.data_type, native);
        }
      });

      test('a duplicate label is 400, not 409', async () => {
        for (const label of ['my_region', 'MY_REGION', 'email']) {
          const message = expectOcambaError(await ocamba('POST', '', { label }), 400, 'Bad request.');
          assert.match(message, /already taken/, label);
        }
      });
    });

    describe('types Ocamba cannot name', () => {
      test('are shown under the closest Ocamba type', async () => {
        const rows = [
          { name: 'visits', data_type: 'integer', shown: 'number' },
          { name: 'last_seen', data_type: 'datetime', shown: 'date' },
          { name: 'subscribed', data_type: 'boolean', shown: 'text' },
          { name: 'homepage', data_type: 'link', shown: 'text' },
        ];
        for (const { shown, ...body } of rows) {
          clock.advance(60_000);
          const res = await t.request({ method: 'POST', url: `/v1/workspaces/${a.workspaceId}/properties`, token: a.token, payload: body });
          expectStatus(res, 201);
          created[body.name] = String(res.body.id);
          const got = await ocamba('GET', `/${res.body.id}`);
          expectStatus(got, 200);
          assert.equal(got.body.items[0].data_type, shown, body.data_type);
        }
      });
    });

    describe('list', () => {
      // Ten system properties (display order 1–10), then the custom ones by name.
      const SYSTEM = ['email', 'phone', 'first_name', 'last_name', 'full_name', 'country', 'city', 'language', 'timezone', 'created_at'];
      const CUSTOM = ['birthday', 'homepage', 'last_seen', 'my_region', 'notes', 'score', 'subscribed', 'visits'];

      test('lists system properties too, 50 to a page by default', async () => {
        const res = await ocamba('GET');
        expectStatus(res, 200);
        assert.deepEqual(Object.keys(res.body), ['total', 'items']);
        assert.equal(res.body.total, 18);
        assert.deepEqual(labels(res), [...SYSTEM, ...CUSTOM]);
        for (const item of res.body.items) assert.deepEqual(Object.keys(item), ITEM_KEYS, item.label);
        const email = res.body.items[0];
        assert.deepEqual([email.system, email.pi_data, email.data_type], [1, 0, 'text']);
      });

      const rows: { title: string; query: string; total: number; labels: string[] }[] = [
        { title: 'page=N,M: page 1 of 3', query: 'page=1,3', total: 18, labels: ['email', 'phone', 'first_name'] },
        { title: 'page=N,M: page 2 of 3', query: 'page=2,3', total: 18, labels: ['last_name', 'full_name', 'country'] },
        { title: 'page=N alone keeps 50 a page', query: 'page=2', total: 18, labels: [] },
        { title: 'past the end', query: 'page=7,3', total: 18, labels: [] },
        { title: 'sort descending', query: 'sort=-create_time&page=1,3', total: 18, labels: ['homepage', 'subscribed', 'last_seen'] },
        { title: 'sort ascending, then the default order', query: 'sort=create_time&page=1,3', total: 18, labels: ['email', 'phone', 'first_name'] },
        {
          title: 'sort by data_type groups the types as shown: date, number, text',
          query: 'sort=data_type,-create_time&page=1,6',
          total: 18,
          labels: ['last_seen', 'birthday', 'created_at', 'visits', 'score', 'homepage'],
        },
        { title: 'sort by two flags', query: 'sort=-pi_data,importable&page=1,2', total: 18, labels: ['my_region', 'created_at'] },
        { title: 'q searches target, label and description', query: 'q=REGION', total: 2, labels: ['my_region', 'notes'] },
        { title: 'an empty q_fields searches the default fields', query: 'q=region&q_fields=', total: 2, labels: ['my_region', 'notes'] },
        { title: 'q_fields narrows q to the label', query: 'q=region&q_fields=label', total: 1, labels: ['my_region'] },
        { title: 'q_fields narrows q to the description', query: 'q=zone&q_fields=description', total: 1, labels: ['timezone'] },
        { title: 'q matches % and _ literally', query: 'q=%25', total: 0, labels: [] },
        { title: 'filter data_type=number takes integer too', query: 'data_type=number', total: 2, labels: ['score', 'visits'] },
        { title: 'filter data_type=date takes datetime too', query: 'data_type=date', total: 3, labels: ['created_at', 'birthday', 'last_seen'] },
        { title: 'filters combine', query: 'pi_data=1&system=0', total: 1, labels: ['my_region'] },
        { title: 'filter importable=0', query: 'importable=0', total: 2, labels: ['created_at', 'score'] },
        { title: 'filter exportable=0', query: 'exportable=0', total: 1, labels: ['birthday'] },
        { title: 'filter system=1', query: 'system=1&page=1,1', total: 10, labels: ['email'] },
        { title: 'filter target, case-insensitively', query: 'target=SCORE', total: 1, labels: ['score'] },
        { title: 'filter label and target naming two properties', query: 'label=score&target=notes', total: 0, labels: [] },
        { title: 'filter example', query: 'example=northern_europe', total: 1, labels: ['my_region'] },
        { title: 'filter create_time to the second', query: 'create_time=2025-01-29%2012:49:00', total: 1, labels: ['score'] },
        { title: 'filter update_time', query: 'update_time=2025-01-29+12:47:00&system=0', total: 1, labels: ['my_region'] },
        { title: 'view is accepted', query: 'view=default&label=notes', total: 1, labels: ['notes'] },
      ];
      for (const row of rows) {
        test(row.title, async () => {
          const res = await ocamba('GET', `?${row.query}`);
          expectStatus(res, 200);
          assert.equal(res.body.total, row.total, res.raw);
          assert.deepEqual(labels(res), row.labels, res.raw);
        });
      }

      test('filter by id', async () => {
        const res = await ocamba('GET', `?id=${created.score}`);
        expectStatus(res, 200);
        assert.deepEqual([res.body.total, labels(res)], [1, ['score']]);
        const none = await ocamba('GET', '?id=99999999999');
        expectStatus(none, 200);
        assert.deepEqual(none.body, { total: 0, items: [] });
      });

      test('fields limits the fields of each item, in the item’s order', async () => {
        const res = await ocamba('GET', '?fields=label,id,pi_data&label=my_region');
        expectStatus(res, 200);
        assert.deepEqual(res.body, { total: 1, items: [{ id: created.my_region, label: 'my_region', pi_data: 1 }] });
      });
    });

    describe('get one', () => {
      test('answers {total: 1, items: [item]}', async () => {
        const res = await ocamba('GET', `/${created.my_region}`);
        expectStatus(res, 200);
        assert.deepEqual(res.body, { total: 1, items: [{ ...SEED_RESPONSE, id: created.my_region, system: 0, update_time: SEED_RESPONSE.create_time }] });
      });

      test('a system property too', async () => {
        const res = await ocamba('GET', '/1');
        expectStatus(res, 200);
        assert.deepEqual(
          { label: res.body.items[0].label, system: res.body.items[0].system, import_aliases: res.body.items[0].import_aliases },
          { label: 'email', system: 1, import_aliases: ['email_address', 'e_mail'] },
        );
      });
    });

    describe('update', () => {
      test('PATCH answers 204 with no body; the change shows here and in the native API', async () => {
        clock.advance(60_000);
        const res = await ocamba('PATCH', `/${created.my_region}`, { description: 'Sales region', pi_data: 0, exportable: 0, export_alias: 'region' });
        expectStatus(res, 204);
        assert.equal(res.raw, '');
        for (const h of RATE_HEADERS) assert.ok(res.headers[h] !== undefined, h);

        const got = await ocamba('GET', `/${created.my_region}`);
        expectStatus(got, 200);
        const item = got.body.items[0];
        assert.deepEqual(
          { description: item.description, pi_data: item.pi_data, exportable: item.exportable, importable: item.importable, export_alias: item.export_alias, import_aliases: item.import_aliases },
          { description: 'Sales region', pi_data: 0, exportable: 0, importable: 1, export_alias: 'region', import_aliases: ['region_name', 'region'] },
        );
        assert.equal(item.update_time, '2025-01-29 12:55:00');
        assert.equal(item.create_time, '2025-01-29 12:47:00');

        const native = await t.request({ method: 'GET', url: `/v1/workspaces/${a.workspaceId}/properties/my_region`, token: a.token });
        expectStatus(native, 200);
        assert.deepEqual(
          { description: native.body.description, pii: native.body.pii, exportable: native.body.exportable, export_alias: native.body.export_alias },
          { description: 'Sales region', pii: false, exportable: false, export_alias: 'region' },
        );
      });

      test('an empty string clears example, description and export_alias', async () => {
        expectStatus(await ocamba('PATCH', `/${created.notes}`, { example: 'x', export_alias: 'notes_col' }), 204);
        expectStatus(await ocamba('PATCH', `/${created.notes}`, { example: '', description: '' }), 204);
        const got = await ocamba('GET', `/${created.notes}`);
        expectStatus(got, 200);
        assert.deepEqual([got.body.items[0].example, got.body.items[0].description, got.body.items[0].export_alias], ['', '', 'notes_col']);
        const native = await t.request({ method: 'GET', url: `/v1/workspaces/${a.workspaceId}/properties/notes`, token: a.token });
        assert.deepEqual([native.body.example, native.body.description], [null, null]);
      });

      test('system properties are not updatable', async () => {
        const message = expectOcambaError(await ocamba('PATCH', '/1', { description: 'mine' }), 400, 'Bad request.');
        assert.match(message, /System property "email" cannot be changed/);
      });
    });

    describe('delete', () => {
      test('DELETE answers 204, then the id is 404 and the label is free again', async () => {
        const res = await ocamba('DELETE', `/${created.birthday}`);
        expectStatus(res, 204);
        assert.equal(res.raw, '');
        expectOcambaError(await ocamba('GET', `/${created.birthday}`), 404, 'Not found.');
        expectOcambaError(await ocamba('DELETE', `/${created.birthday}`), 404, 'Not found.');
        const again = await ocamba('POST', '', { label: 'birthday', data_type: 'date' });
        expectStatus(again, 201);
        assert.notEqual(again.body.id, created.birthday);
      });

      test('system properties cannot be deleted', async () => {
        const message = expectOcambaError(await ocamba('DELETE', '/1'), 400, 'Bad request.');
        assert.match(message, /System property "email" cannot be deleted/);
      });

      test('a property a data source maps cannot be deleted until the mapping goes', async () => {
        const source = await t.request({
          method: 'POST',
          url: `/v1/workspaces/${a.workspaceId}/sources`,
          token: a.token,
          payload: { name: 'crm', mappings: [{ property: 'score', input_path: 'score' }] },
        });
        expectStatus(source, 201);
        const message = expectOcambaError(await ocamba('DELETE', `/${created.score}`), 400, 'Bad request.');
        assert.match(message, /mapped by the data sources "crm"/);
        expectStatus(await t.request({ method: 'DELETE', url: `/v1/workspaces/${a.workspaceId}/sources/${source.body.id}`, token: a.token }), 204);
        expectStatus(await ocamba('DELETE', `/${created.score}`), 204);
      });
    });

    describe('keys and companies', () => {
      test('reads need properties:read, writes properties:write', async () => {
        const reader = await a.key(['properties:read']);
        const writer = await a.key(['properties:write']);
        expectStatus(await ocamba('GET', '', undefined, reader.token), 200);
        assert.match(expectOcambaError(await ocamba('POST', '', { label: 'nope' }, reader.token), 403, 'Forbidden.'), /properties:write/);
        assert.match(expectOcambaError(await ocamba('PATCH', `/${created.notes}`, { example: 'x' }, reader.token), 403, 'Forbidden.'), /properties:write/);
        assert.match(expectOcambaError(await ocamba('DELETE', `/${created.notes}`, undefined, reader.token), 403, 'Forbidden.'), /properties:write/);
        assert.match(expectOcambaError(await ocamba('GET', '', undefined, writer.token), 403, 'Forbidden.'), /properties:read/);
        assert.match(expectOcambaError(await ocamba('GET', `/${created.notes}`, undefined, writer.token), 403, 'Forbidden.'), /properties:read/);
      });

      test('the company is the first of the key’s workspaces, else the tenant’s oldest', async () => {
        const second = await t.request({ method: 'POST', url: `/v1/tenants/${a.tenantId}/workspaces`, token: a.token, payload: { name: 'second' } });
        expectStatus(second, 201);
        const restricted = await a.key(['properties:read', 'properties:write'], [second.body.id]);
        const res = await ocamba('POST', '', { label: 'only_in_second' }, restricted.token);
        expectStatus(res, 201);
        assert.equal(res.body.company_id, String(second.body.id));
        // The unrestricted key works on the oldest workspace, where that label does not exist, and back.
        const list = await ocamba('GET', '?label=only_in_second');
        expectStatus(list, 200);
        assert.deepEqual(list.body, { total: 0, items: [] });
        const other = await ocamba('GET', '?label=my_region', undefined, restricted.token);
        expectStatus(other, 200);
        assert.deepEqual(other.body, { total: 0, items: [] });
      });

      test('another tenant’s property is 404', async () => {
        const b = await createTenancy(t, 'Beta');
        expectOcambaError(await ocamba('GET', `/${created.my_region}`, undefined, b.token), 404, 'Not found.');
        expectOcambaError(await ocamba('PATCH', `/${created.my_region}`, { example: 'x' }, b.token), 404, 'Not found.');
        expectOcambaError(await ocamba('DELETE', `/${created.my_region}`, undefined, b.token), 404, 'Not found.');
      });

      test('a key that reaches no workspace gets a clear 403', async () => {
        const tenant = await t.request({ method: 'POST', url: '/v1/tenants', payload: { name: 'Empty' } });
        expectStatus(tenant, 201);
        const key = await t.request({ method: 'POST', url: `/v1/tenants/${tenant.body.id}/api-keys`, payload: { name: 'k', scopes: ['properties:read'] } });
        expectStatus(key, 201);
        assert.match(expectOcambaError(await ocamba('GET', '', undefined, key.body.token), 403, 'Forbidden.'), /no workspace/);
      });

      test('an unexpected failure is a 500 with no internal detail', async () => {
        const search = t.services.properties.search;
        t.services.properties.search = async () => {
          throw new Error('select secret_column from properties');
        };
        try {
          const res = await ocamba('GET');
          assert.match(expectOcambaError(res, 500, 'Internal server error.'), /trace_id/);
          assert.ok(!res.raw.includes('secret_column'), res.raw);
        } finally {
          t.services.properties.search = search;
        }
      });
    });

    describe('bad input answers in Ocamba’s envelope, never a 500', () => {
      type Row = {
        title: string;
        method?: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';
        path?: string;
        url?: string;
        body?: unknown;
        /** A raw body, sent with this content type. */
        raw?: [contentType: string, body: string];
        token?: 'none' | 'bad' | 'operator' | 'basic';
        status: 400 | 401 | 404 | 405 | 413 | 415;
        message: RegExp;
      };
      const TITLE = { 400: 'Bad request.', 401: 'Unauthorized.', 404: 'Not found.', 405: 'Method not allowed.', 413: 'Payload too large.', 415: 'Unsupported media type.' };
      const json = 'application/json';

      const rows: Row[] = [
        // Bodies
        { title: 'malformed JSON', method: 'POST', raw: [json, '{"label": "half", '], status: 400, message: /not valid JSON/ },
        { title: 'an empty JSON body', method: 'POST', raw: [json, ''], status: 400, message: /empty/ },
        { title: 'a JSON array', method: 'POST', raw: [json, '[]'], status: 400, message: /body must be an object \{label, data_type\?, example\?/ },
        { title: 'JSON null', method: 'POST', raw: [json, 'null'], status: 400, message: /body must be an object \{label, data_type\?, example\?/ },
        { title: 'missing label', method: 'POST', body: { data_type: 'text' }, status: 400, message: /label is required/ },
        { title: 'pi_data as a string', method: 'POST', body: { label: 'x1', pi_data: '1' }, status: 400, message: /pi_data must be one of the allowed values \(0, 1\)/ },
        { title: 'pi_data 2', method: 'POST', body: { label: 'x2', pi_data: 2 }, status: 400, message: /pi_data must be one of/ },
        { title: 'importable true', method: 'POST', body: { label: 'x3', importable: true }, status: 400, message: /importable must be one of/ },
        { title: 'label a number', method: 'POST', body: { label: 5 }, status: 400, message: /label must be a string/ },
        { title: 'unknown data_type', method: 'POST', body: { label: 'x4', data_type: 'boolean' }, status: 400, message: /data_type must be one of the allowed values \(text, number, date\)/ },
        { title: 'label too long', method: 'POST', body: { label: 'x'.repeat(121) }, status: 400, message: /label must be at most 120 characters long/ },
        { title: 'label with a dash', method: 'POST', body: { label: 'my-region' }, status: 400, message: /label must start with a letter or _ and hold only letters, digits and _/ },
        { title: 'empty label', method: 'POST', body: { label: '' }, status: 400, message: /label must not be empty/ },
        { title: 'description too long', method: 'POST', body: { label: 'x5', description: 'd'.repeat(2001) }, status: 400, message: /description must be at most 2000 characters long/ },
        { title: 'example too long', method: 'POST', body: { label: 'x6', example: 'e'.repeat(501) }, status: 400, message: /example must be at most 500 characters long/ },
        { title: 'an unknown field', method: 'POST', body: { label: 'x7', colour: 'red' }, status: 400, message: /colour is not a known field/ },
        { title: 'target, no longer accepted', method: 'POST', body: { label: 'x8', target: 'x8' }, status: 400, message: /target is no longer accepted in requests; send label instead/ },
        { title: 'a read-only field', method: 'POST', body: { label: 'x9', system: 0 }, status: 400, message: /system is read-only/ },
        { title: 'every problem at once', method: 'POST', body: { pi_data: 'yes', colour: 1 }, status: 400, message: /^(?=.*label is required)(?=.*pi_data must be one of)(?=.*colour is not a known field)/ },
        { title: 'PATCH label', method: 'PATCH', path: '/11', body: { label: 'renamed' }, status: 400, message: /label cannot be changed after creation/ },
        { title: 'PATCH data_type', method: 'PATCH', path: '/11', body: { data_type: 'number' }, status: 400, message: /data_type cannot be changed after creation/ },
        { title: 'empty PATCH', method: 'PATCH', path: '/11', body: {}, status: 400, message: /at least one of example, description, export_alias, pi_data, importable, exportable/ },
        { title: 'PATCH without a body', method: 'PATCH', path: '/11', status: 400, message: /body must be an object \{example\?, description\?/ },
        { title: 'PATCH pi_data "0"', method: 'PATCH', path: '/11', body: { pi_data: '0' }, status: 400, message: /pi_data must be one of/ },
        { title: 'a body too large', method: 'POST', body: { label: 'big', description: 'd'.repeat(1_100_000) }, status: 413, message: /larger than this server accepts/ },
        // Content types
        { title: 'text/plain', method: 'POST', raw: ['text/plain', '{"label": "plain"}'], status: 415, message: /application\/json/ },
        { title: 'XML', method: 'POST', raw: ['application/xml', '<label>x</label>'], status: 415, message: /application\/json/ },
        { title: 'a form', method: 'POST', raw: ['application/x-www-form-urlencoded', 'label=x'], status: 415, message: /application\/json/ },
        // Ids
        { title: 'an unknown id', path: '/99999', status: 404, message: /not found/ },
        { title: 'an id beyond any property', path: '/99999999999', status: 404, message: /not found/ },
        { title: 'a name where an id belongs', path: '/email', status: 404, message: /not found/ },
        { title: 'PATCH an unknown id', method: 'PATCH', path: '/99999', body: { example: 'x' }, status: 404, message: /not found/ },
        { title: 'DELETE an unknown id', method: 'DELETE', path: '/99999', status: 404, message: /not found/ },
        // List parameters
        { title: 'page=0', path: '?page=0', status: 400, message: /page must be N or N,M/ },
        { title: 'page of 0 items', path: '?page=1,0', status: 400, message: /page must be N or N,M/ },
        { title: 'page of 1001 items', path: '?page=1,1001', status: 400, message: /at most|1 to 1000 items/ },
        { title: 'page not a number', path: '?page=first', status: 400, message: /page must be N or N,M/ },
        { title: 'sort by a field that is not sortable', path: '?sort=label', status: 400, message: /sort cannot sort by "label" \(data_type, pi_data, importable, exportable, create_time, update_time\)/ },
        { title: 'sort by an unknown field', path: '?sort=-name', status: 400, message: /cannot sort by "name"/ },
        { title: 'q_fields outside the searchable fields', path: '?q=x&q_fields=example', status: 400, message: /q_fields cannot search "example"/ },
        { title: 'fields naming no field', path: '?fields=id,colour', status: 400, message: /fields has no field "colour"/ },
        { title: 'filter with an unknown data_type', path: '?data_type=boolean', status: 400, message: /data_type must be one of text, number, date/ },
        { title: 'filter pi_data=2', path: '?pi_data=2', status: 400, message: /pi_data must be 0 or 1/ },
        { title: 'filter id=abc', path: '?id=abc', status: 400, message: /id must be a string of digits/ },
        { title: 'filter by a date alone', path: '?create_time=2025-01-29', status: 400, message: /create_time must be a time YYYY-MM-DD HH:MM:SS/ },
        { title: 'filter by a day that does not exist', path: '?update_time=2025-02-30%2000:00:00', status: 400, message: /update_time must be a time/ },
        { title: 'several bad parameters at once', path: '?page=0&sort=label,-nope&pi_data=x', status: 400, message: /page.*sort cannot sort by "label".*sort cannot sort by "nope".*pi_data/ },
        { title: 'a parameter that is not a filter', path: '?description=x', status: 400, message: /description is not a parameter of this endpoint/ },
        { title: 'a repeated parameter', path: '?pi_data=1&pi_data=0', status: 400, message: /pi_data must be a string/ },
        { title: 'an unknown view', path: '?view=compact', status: 400, message: /view must be one of the allowed values/ },
        // Routes and methods
        { title: 'an unknown route under /ocamba', url: '/ocamba/v1/hood/segments', status: 404, message: /No route GET \/ocamba\/v1\/hood\/segments/ },
        { title: 'an unknown version', url: '/ocamba/v2/hood/profile-properties', status: 404, message: /No route/ },
        { title: 'PUT, which Ocamba does not have', method: 'PUT', path: '/11', body: { example: 'x' }, status: 405, message: /use GET, HEAD, PATCH, DELETE/ },
        { title: 'POST on an id', method: 'POST', path: '/11', body: { label: 'x' }, status: 405, message: /POST is not allowed here/ },
        { title: 'DELETE on the collection', method: 'DELETE', status: 405, message: /use GET, HEAD, POST/ },
        // Credentials
        { title: 'no credentials', token: 'none', status: 401, message: /bearer token is required/ },
        { title: 'a bad token', token: 'bad', status: 401, message: /not valid/ },
        { title: 'a Basic authorization', token: 'basic', status: 401, message: /bearer token is required/ },
        { title: 'the operator token', token: 'operator', status: 401, message: /tenant API key/ },
        { title: 'no credentials and a bad body', method: 'POST', raw: [json, '{'], token: 'none', status: 401, message: /bearer token/ },
      ];

      for (const r of rows) {
        test(`${r.title} → ${r.status}`, async () => {
          const headers: Record<string, string> = {};
          if (r.token === undefined) headers.authorization = `Bearer ${a.token}`;
          if (r.token === 'bad') headers.authorization = 'Bearer pd_not_a_key';
          if (r.token === 'operator') headers.authorization = `Bearer ${OPERATOR_TOKEN}`;
          if (r.token === 'basic') headers.authorization = `Basic ${Buffer.from('user:pass').toString('base64')}`;
          if (r.raw) headers['content-type'] = r.raw[0];
          const res = await t.request({
            method: r.method ?? 'GET',
            url: r.url ?? `${BASE}${r.path ?? ''}`,
            token: null,
            headers,
            ...(r.raw ? { payload: r.raw[1] } : r.body === undefined ? {} : { payload: r.body as object }),
          });
          const message = expectOcambaError(res, r.status, TITLE[r.status]);
          assert.match(message, r.message);
          // Rate-limit headers go with every answer once the tenant is known (a route matched, the key passed).
          const tenantKnown = r.token === undefined && r.url === undefined && r.status !== 405;
          for (const h of RATE_HEADERS) assert.equal(res.headers[h] !== undefined, tenantKnown, `${h}: ${JSON.stringify(res.headers)}`);
          if (r.status === 405) assert.ok(typeof res.headers.allow === 'string');
        });
      }

      test('nothing was created by any refused request', async () => {
        const res = await ocamba('GET', '?q=x&q_fields=label&fields=label');
        expectStatus(res, 200);
        assert.deepEqual(labels(res).filter((l: string) => /^(x\d|half|plain|big|nope)$/.test(l)), []);
      });
    });
  });

  describe(`Ocamba rate limits [${dialect.name}]`, () => {
    const headersOf = (res: Response) => RATE_HEADERS.map((h) => res.headers[h]);

    test('10 a second by default: the 11th is 429 with Retry-After, and the next second passes', async () => {
      const clock = manualClock('2025-01-29T12:47:00.000Z');
      const t = await createTestApp(dialect, { clock });
      try {
        const a = await createTenancy(t, 'Burst');
        const get = () => t.request({ method: 'GET', url: `${BASE}?page=1,1`, token: a.token });
        for (let i = 1; i <= 10; i++) {
          const res = await get();
          expectStatus(res, 200);
          assert.deepEqual(headersOf(res), ['10', String(10 - i), '1'], `request ${i}`);
        }
        const refused = await get();
        assert.match(expectOcambaError(refused, 429, 'Too many requests.'), /10 per second.*retry in 1 s/);
        assert.equal(refused.headers['retry-after'], '1');
        assert.deepEqual(headersOf(refused), [undefined, undefined, undefined], 'no X-RateLimit headers on a 429');

        clock.advance(1000);
        const next = await get();
        expectStatus(next, 200);
        assert.equal(next.body.total, 10);
        assert.deepEqual(headersOf(next), ['10', '9', '1']);
      } finally {
        await t.close();
      }
    });

    test('the minute window is enforced too; headers describe the window with less left', async () => {
      const clock = manualClock('2025-01-29T12:47:00.000Z');
      const t = await createTestApp(dialect, { clock, config: { ocamba: { perSecond: 3, perMinute: 5 } } });
      try {
        const a = await createTenancy(t, 'Steady');
        const b = await createTenancy(t, 'Other');
        const get = (token = a.token) => t.request({ method: 'GET', url: `${BASE}?page=1,1`, token });
        const steps: { advanceMs: number; status: number; headers?: (string | undefined)[]; retryAfter?: string }[] = [
          { advanceMs: 0, status: 200, headers: ['3', '2', '1'] }, // second window: 2 left; minute: 4
          { advanceMs: 0, status: 200, headers: ['3', '1', '1'] },
          { advanceMs: 0, status: 200, headers: ['3', '0', '1'] },
          { advanceMs: 0, status: 429, retryAfter: '1' }, // the second is spent
          { advanceMs: 1000, status: 200, headers: ['5', '1', '59'] }, // second: 2 left; minute: 1 → the minute
          { advanceMs: 0, status: 200, headers: ['5', '0', '59'] },
          { advanceMs: 1000, status: 429, retryAfter: '58' }, // the minute is spent, the second is not
          { advanceMs: 57_000, status: 429, retryAfter: '1' },
          { advanceMs: 1000, status: 200, headers: ['3', '2', '1'] }, // a new minute
        ];
        for (const [i, step] of steps.entries()) {
          clock.advance(step.advanceMs);
          const res = await get();
          if (step.status === 429) {
            expectOcambaError(res, 429, 'Too many requests.');
            assert.equal(res.headers['retry-after'], step.retryAfter, `step ${i}`);
            assert.deepEqual(headersOf(res), [undefined, undefined, undefined], `step ${i}`);
          } else {
            expectStatus(res, 200);
            assert.deepEqual(headersOf(res), step.headers, `step ${i}`);
          }
          if (i === 6) {
            // Another tenant has its own budget, and native requests do not spend Ocamba's.
            expectStatus(await get(b.token), 200);
            expectStatus(await t.request({ method: 'GET', url: `/v1/workspaces/${a.workspaceId}/properties`, token: a.token }), 200);
          }
        }
      } finally {
        await t.close();
      }
    });

    test('refused credentials do not spend the budget; errors after the limiter carry the headers', async () => {
      const clock = manualClock('2025-01-29T12:47:00.000Z');
      const t = await createTestApp(dialect, { clock, config: { ocamba: { perSecond: 2, perMinute: 0 } } });
      try {
        const a = await createTenancy(t, 'Edge');
        expectOcambaError(await t.request({ method: 'GET', url: BASE, token: 'pd_wrong' }), 401, 'Unauthorized.');
        const bad = await t.request({ method: 'GET', url: `${BASE}?page=0`, token: a.token });
        expectOcambaError(bad, 400, 'Bad request.');
        assert.deepEqual(headersOf(bad), ['2', '1', '1'], 'only the second window, configured alone');
        const last = await t.request({ method: 'GET', url: `${BASE}/99999`, token: a.token });
        expectOcambaError(last, 404, 'Not found.');
        assert.deepEqual(headersOf(last), ['2', '0', '1']);
        expectOcambaError(await t.request({ method: 'GET', url: BASE, token: a.token }), 429, 'Too many requests.');
      } finally {
        await t.close();
      }
    });
  });
}
