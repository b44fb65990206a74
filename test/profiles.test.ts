// The profile API: create, replace, merge, read, erase; provenance; PII masking; search with
// typed filters, sorting and cursors; and bad input, always answered in the native envelope.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTenancy, createTestApp, expectError, expectStatus, type Response, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

const ID = /^[A-Za-z0-9._:@-]{1,128}$/;
const NUMBER_OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'exists'];
const EQUALITY_OPS = ['eq', 'ne', 'in', 'exists'];
const ALL_OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'contains', 'prefix', 'exists'];

/** A native error with nothing internal in it. */
function expectCleanError(res: Response, status: number, code: string) {
  const details = expectError(res, status, code);
  assert.deepEqual(Object.keys(res.body), ['error'], res.raw);
  assert.doesNotMatch(res.raw, /\bat \S+ \(|\bat (file|node):|\.ts:\d+/, 'no stack trace');
  assert.doesNotMatch(res.raw, /\b(select|insert into|update \w+ set|delete from)\b|SQLITE_|sqlstate/i, 'no SQL');
  return details;
}

const fields = (details: { field: string }[]) => details.map((d) => d.field).sort();

for (const dialect of dialects) {
  describe(`profiles API [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let base: string;
    const req = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, token?: string) =>
      t.request({ method, url: `${base}${url}`, token: token ?? a.token, ...(payload === undefined ? {} : { payload: payload as object }) });

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t, 'Profiles');
      base = `/v1/workspaces/${a.workspaceId}`;
      for (const p of [
        { name: 'customer_id', data_type: 'string', identity: { role: 'primary' } },
        { name: 'tier', data_type: 'enum', options: [{ value: 'gold' }, { value: 'silver' }] },
        { name: 'points', data_type: 'integer', merge_function: 'sum' },
        { name: 'nickname', data_type: 'string' },
        { name: 'first_seen', data_type: 'date', merge_function: 'min' },
        { name: 'salary', data_type: 'integer', pii: true },
        { name: 'aliases', data_type: 'string', multi_valued: true, pii: true },
        { name: 'home_email', data_type: 'email', pii: true },
        { name: 'passport_no', data_type: 'string', pii: true, identity: { role: 'secondary' } },
      ]) {
        expectStatus(await req('POST', '/properties', p), 201);
      }
    });
    after(() => t.close());

    describe('writes and reads', () => {
      test('POST without an id → 201 with a generated id; GET reads it back', async () => {
        const res = await req('POST', '/profiles', { properties: { email: 'Gen@Example.com', tier: 'gold', points: 3 } });
        expectStatus(res, 201);
        assert.match(res.body.id, ID);
        assert.deepEqual(res.body.properties, { email: 'gen@example.com', tier: 'gold', points: 3 });
        assert.deepEqual(res.body.identities, { email: 'gen@example.com' });
        assert.deepEqual(Object.keys(res.body).sort(), ['created_at', 'id', 'identities', 'properties', 'updated_at']);
        assert.equal(res.body.created_at, res.body.updated_at);
        assert.ok(!Number.isNaN(Date.parse(res.body.created_at)));
        const read = await req('GET', `/profiles/${res.body.id}`);
        expectStatus(read, 200);
        assert.deepEqual(read.body, res.body);
        const other = await req('POST', '/profiles', { properties: {} });
        expectStatus(other, 201);
        assert.notEqual(other.body.id, res.body.id, 'each generated id is new');
        assert.deepEqual(other.body.properties, {});
        assert.deepEqual(other.body.identities, {});
      });

      test('POST with an id → 201; the same id again → 409 ALREADY_EXISTS, the profile unchanged', async () => {
        const res = await req('POST', '/profiles', { id: 'cust:42@shop.example-1', properties: { nickname: 'first' } });
        expectStatus(res, 201);
        assert.equal(res.body.id, 'cust:42@shop.example-1');
        assert.equal(res.headers.location, `${base}/profiles/cust:42@shop.example-1`);
        const again = await req('POST', '/profiles', { id: 'cust:42@shop.example-1', properties: { nickname: 'second' } });
        expectCleanError(again, 409, 'ALREADY_EXISTS');
        const read = await req('GET', '/profiles/cust:42@shop.example-1');
        expectStatus(read, 200);
        assert.deepEqual(read.body.properties, { nickname: 'first' });
      });

      test('POST with a bad value → 400, nothing created', async () => {
        const res = await req('POST', '/profiles', { id: 'post-bad', properties: { tier: 'bronze', nickname: 'ok' } });
        const details = expectCleanError(res, 400, 'VALIDATION_FAILED');
        assert.deepEqual(details, [{ field: 'properties.tier', problem: details[0].problem, allowed: ['gold', 'silver'] }]);
        expectCleanError(await req('GET', '/profiles/post-bad'), 404, 'NOT_FOUND');
      });

      test('PUT creates (201), then replaces (200): values not given are cleared', async () => {
        const created = await req('PUT', '/profiles/put-1', { properties: { nickname: 'Ana', tier: 'gold', points: 5, customer_id: 'PUT-1' } });
        expectStatus(created, 201);
        assert.equal(created.body.id, 'put-1');
        assert.deepEqual(created.body.properties, { nickname: 'Ana', tier: 'gold', points: 5, customer_id: 'PUT-1' });
        assert.deepEqual(created.body.identities, { customer_id: 'PUT-1' });

        const replaced = await req('PUT', '/profiles/put-1', { properties: { tier: 'silver', points: 1 } });
        expectStatus(replaced, 200);
        assert.deepEqual(replaced.body.properties, { tier: 'silver', points: 1 }, 'PUT replaces: no sum, no leftovers');
        assert.deepEqual(replaced.body.identities, {});
        assert.equal(replaced.body.created_at, created.body.created_at);
        assert.ok(replaced.body.updated_at >= created.body.updated_at);
        const read = await req('GET', '/profiles/put-1');
        expectStatus(read, 200);
        assert.deepEqual(read.body, replaced.body);

        // The identity it let go of is free for another profile.
        const other = await req('PUT', '/profiles/put-2', { properties: { customer_id: 'PUT-1' } });
        expectStatus(other, 201);
        assert.deepEqual(other.body.identities, { customer_id: 'PUT-1' });
      });

      test('PUT with an empty properties object clears everything', async () => {
        expectStatus(await req('PUT', '/profiles/put-empty', { properties: { nickname: 'x', points: 2 } }), 201);
        const res = await req('PUT', '/profiles/put-empty', { properties: {} });
        expectStatus(res, 200);
        assert.deepEqual(res.body.properties, {});
      });

      test('PATCH merges each value by its merge function and leaves the rest', async () => {
        expectStatus(await req('PUT', '/profiles/patch-1', { properties: { nickname: 'Bo', tier: 'gold', points: 5, first_seen: '2024-05-01' } }), 201);
        const res = await req('PATCH', '/profiles/patch-1', { properties: { tier: 'silver', points: 2, first_seen: '2024-06-01' } });
        expectStatus(res, 200);
        assert.equal(res.body.id, 'patch-1');
        assert.deepEqual(res.body.properties, { nickname: 'Bo', tier: 'silver', points: 7, first_seen: '2024-05-01' });
        const cleared = await req('PATCH', '/profiles/patch-1', { properties: { nickname: null } });
        expectStatus(cleared, 200);
        assert.deepEqual(cleared.body.properties, { tier: 'silver', points: 7, first_seen: '2024-05-01' });
        const read = await req('GET', '/profiles/patch-1');
        expectStatus(read, 200);
        assert.deepEqual(read.body, cleared.body);
      });

      test('PATCH, GET and DELETE of an absent profile → 404; PATCH creates nothing', async () => {
        expectCleanError(await req('PATCH', '/profiles/ghost', { properties: { nickname: 'x' } }), 404, 'NOT_FOUND');
        expectCleanError(await req('GET', '/profiles/ghost'), 404, 'NOT_FOUND');
        expectCleanError(await req('DELETE', '/profiles/ghost'), 404, 'NOT_FOUND');
      });

      test('?include=provenance adds, per value, the source and time that wrote it', async () => {
        const put = await req('PUT', '/profiles/prov-1', { properties: { nickname: 'Cy', points: 1 } });
        expectStatus(put, 201);
        const plain = await req('GET', '/profiles/prov-1');
        expectStatus(plain, 200);
        assert.ok(!('provenance' in plain.body), 'no provenance unless asked for');
        const res = await req('GET', '/profiles/prov-1?include=provenance');
        expectStatus(res, 200);
        assert.deepEqual(res.body.provenance, {
          nickname: { source: null, updated_at: put.body.updated_at },
          points: { source: null, updated_at: put.body.updated_at },
        });
        expectStatus(await req('POST', '/sources', { name: 'crm', priority: 1 }), 201);
        const batch = await req('POST', '/profiles/batch', { inputs: [{ id: 'prov-1', properties: { nickname: 'Cyril' }, source: 'crm', timestamp: '2099-01-01T02:00:00+02:00' }] });
        expectStatus(batch, 200);
        assert.deepEqual(batch.body, { results: [{ index: 0, status: 'updated', id: 'prov-1' }] });
        const after = await req('GET', '/profiles/prov-1?include=provenance');
        expectStatus(after, 200);
        assert.deepEqual(after.body.properties, { nickname: 'Cyril', points: 1 });
        assert.deepEqual(after.body.provenance, {
          nickname: { source: 'crm', updated_at: '2099-01-01T00:00:00.000Z' },
          points: { source: null, updated_at: put.body.updated_at },
        });
      });

      test('DELETE → 204 erases the profile and its identity keys', async () => {
        expectStatus(await req('PUT', '/profiles/erase-me', { properties: { email: 'erase.me@example.com', customer_id: 'ERASE-1', nickname: 'x' } }), 201);
        const clash = await req('PUT', '/profiles/erase-next', { properties: { email: 'erase.me@example.com' } });
        expectCleanError(clash, 409, 'CONFLICT');
        const res = await req('DELETE', '/profiles/erase-me');
        expectStatus(res, 204);
        assert.equal(res.raw, '');
        expectCleanError(await req('GET', '/profiles/erase-me'), 404, 'NOT_FOUND');
        expectCleanError(await req('DELETE', '/profiles/erase-me'), 404, 'NOT_FOUND');
        const search = await req('GET', '/profiles?filter[customer_id][eq]=ERASE-1');
        expectStatus(search, 200);
        assert.deepEqual(search.body, { data: [], next_cursor: null });
        // Its identity values can now be used by another profile.
        const next = await req('PUT', '/profiles/erase-next', { properties: { email: 'erase.me@example.com', customer_id: 'ERASE-1' } });
        expectStatus(next, 201);
        assert.deepEqual(next.body.identities, { email: 'erase.me@example.com', customer_id: 'ERASE-1' });
        // ...and a batch record carrying them finds the new profile, not the erased one.
        const matched = await req('POST', '/profiles/batch', { inputs: [{ properties: { customer_id: 'ERASE-1', points: 1 } }] });
        expectStatus(matched, 200);
        assert.deepEqual(matched.body, { results: [{ index: 0, status: 'updated', id: 'erase-next' }] });
        // The erased id may be created afresh, empty.
        const reborn = await req('PUT', '/profiles/erase-me', { properties: {} });
        expectStatus(reborn, 201);
        assert.deepEqual(reborn.body.properties, {});
      });

      test('archived properties are hidden from reads, left alone by a PUT and back on restore; writing them is refused', async () => {
        expectStatus(await req('POST', '/properties', { name: 'retiring', data_type: 'string' }), 201);
        expectStatus(await req('PUT', '/profiles/arch-1', { properties: { retiring: 'kept', nickname: 'n' } }), 201);
        expectStatus(await req('DELETE', '/properties/retiring'), 204);
        const hidden = await req('GET', '/profiles/arch-1');
        expectStatus(hidden, 200);
        assert.deepEqual(hidden.body.properties, { nickname: 'n' });
        const write = await req('PATCH', '/profiles/arch-1', { properties: { retiring: 'new' } });
        assert.deepEqual(fields(expectCleanError(write, 400, 'VALIDATION_FAILED')), ['properties.retiring']);
        // A PUT replaces what reads show; the archived value, hidden, is left as it is.
        const replaced = await req('PUT', '/profiles/arch-1', { properties: { nickname: 'm' } });
        expectStatus(replaced, 200);
        assert.deepEqual(replaced.body.properties, { nickname: 'm' });
        expectStatus(await req('POST', '/properties/retiring/restore'), 200);
        const back = await req('GET', '/profiles/arch-1');
        expectStatus(back, 200);
        assert.deepEqual(back.body.properties, { retiring: 'kept', nickname: 'm' });
      });

      test('a profile of one workspace is not found from another tenant', async () => {
        expectStatus(await req('PUT', '/profiles/private-1', { properties: { nickname: 'mine' } }), 201);
        const b = await createTenancy(t, 'Other');
        const res = await t.request({ method: 'GET', url: `${base}/profiles/private-1`, token: b.token });
        expectCleanError(res, 404, 'NOT_FOUND');
        const own = await t.request({ method: 'GET', url: `/v1/workspaces/${b.workspaceId}/profiles/private-1`, token: b.token });
        expectCleanError(own, 404, 'NOT_FOUND');
      });
    });

    describe('PII', () => {
      // Custom PII properties of several types; whether a system property is PII is not assumed.
      const values = {
        home_email: 'Pii.Person@Example.com',
        passport_no: 'P-7654321',
        salary: 5000,
        aliases: ['A', 'Annie'],
        nickname: 'visible',
        customer_id: 'PII-1',
        points: 9,
      };
      const stored = { ...values, home_email: 'pii.person@example.com' };
      const masked = { ...values, home_email: '***', passport_no: '***', salary: '***', aliases: '***' };
      const SECRETS = /pii\.person|7654321|Annie|5000/i;

      test('a key without pii:read sees PII values as "***", whatever their type; a key with it sees them', async () => {
        expectStatus(await req('PUT', '/profiles/pii-1', { properties: values }), 201);
        const reader = await a.key(['profiles:read']);
        const res = await req('GET', '/profiles/pii-1?include=provenance', undefined, reader.token);
        expectStatus(res, 200);
        assert.deepEqual(res.body.properties, masked);
        assert.deepEqual(res.body.identities, { passport_no: '***', customer_id: 'PII-1' });
        assert.doesNotMatch(res.raw, SECRETS);

        const full = await req('GET', '/profiles/pii-1');
        expectStatus(full, 200);
        assert.deepEqual(full.body.properties, stored);
        assert.deepEqual(full.body.identities, { passport_no: 'P-7654321', customer_id: 'PII-1' });
      });

      test('search results are masked the same way', async () => {
        const reader = await a.key(['profiles:read']);
        const res = await req('GET', '/profiles?filter[customer_id][eq]=PII-1', undefined, reader.token);
        expectStatus(res, 200);
        assert.equal(res.body.data.length, 1);
        assert.deepEqual(res.body.data[0].properties, masked);
        assert.doesNotMatch(res.raw, SECRETS);
        const exists = await req('GET', '/profiles?filter[salary][exists]=true', undefined, reader.token);
        expectStatus(exists, 200);
        assert.deepEqual(exists.body.data.map((p: { id: string }) => p.id), ['pii-1'], 'exists works on PII');
        // Without pii:read, PII values cannot be probed by filters.
        expectCleanError(await req('GET', '/profiles?filter[salary][eq]=5000', undefined, reader.token), 403, 'FORBIDDEN');
        expectCleanError(await req('GET', '/profiles?filter[home_email][in]=pii.person@example.com', undefined, reader.token), 403, 'FORBIDDEN');
      });

      test('with pii:read, PII values are matched by equality (normalised), never by range or order', async () => {
        const found = async (query: string) => {
          const res = await req('GET', `/profiles?${query}`);
          expectStatus(res, 200);
          return res.body.data.map((p: { id: string }) => p.id).sort();
        };
        assert.deepEqual(await found('filter[salary][eq]=5000'), ['pii-1']);
        assert.deepEqual(await found(`filter[home_email][eq]=${encodeURIComponent(' PII.Person@Example.COM')}`), ['pii-1']);
        assert.deepEqual(await found('filter[passport_no][in]=P-0,P-7654321'), ['pii-1']);
        assert.deepEqual(await found('filter[salary][eq]=5001'), []);
        assert.ok(!(await found('filter[salary][ne]=5000')).includes('pii-1'));
        for (const op of ['gt', 'lt', 'contains', 'prefix']) {
          const res = await req('GET', `/profiles?filter[passport_no][${op}]=P`);
          assert.deepEqual(expectCleanError(res, 400, 'VALIDATION_FAILED').map((d) => [d.field, d.allowed]), [[`filter[passport_no][${op}]`, EQUALITY_OPS]], op);
        }
        const sort = await req('GET', '/profiles?sort=salary');
        assert.deepEqual(fields(expectCleanError(sort, 400, 'VALIDATION_FAILED')), ['sort']);
      });

      test('a PII identity still resolves batch records', async () => {
        const res = await req('POST', '/profiles/batch', { inputs: [{ properties: { passport_no: 'P-7654321', points: 1 } }] });
        expectStatus(res, 200);
        assert.deepEqual(res.body, { results: [{ index: 0, status: 'updated', id: 'pii-1' }] });
        const read = await req('GET', '/profiles/pii-1');
        expectStatus(read, 200);
        assert.deepEqual(read.body.properties, { ...stored, points: 10 });
      });

      test('a write answered to a key without pii:read is masked too', async () => {
        const writer = await a.key(['profiles:read', 'profiles:write']);
        const res = await req('PUT', '/profiles/pii-2', { properties: { home_email: 'pii.two@example.com', nickname: 'n' } }, writer.token);
        expectStatus(res, 201);
        assert.deepEqual(res.body.properties, { home_email: '***', nickname: 'n' });
        const full = await req('GET', '/profiles/pii-2');
        expectStatus(full, 200);
        assert.equal(full.body.properties.home_email, 'pii.two@example.com', 'the value itself is stored');
      });

      test('scopes: reading needs profiles:read, writing profiles:write', async () => {
        const reader = await a.key(['profiles:read']);
        expectCleanError(await req('PUT', '/profiles/pii-3', { properties: {} }, reader.token), 403, 'FORBIDDEN');
        expectCleanError(await req('DELETE', '/profiles/pii-1', undefined, reader.token), 403, 'FORBIDDEN');
        expectCleanError(await req('POST', '/profiles/batch', { inputs: [{ properties: {} }] }, reader.token), 403, 'FORBIDDEN');
        const propertiesOnly = await a.key(['properties:read']);
        expectCleanError(await req('GET', '/profiles/pii-1', undefined, propertiesOnly.token), 403, 'FORBIDDEN');
        expectCleanError(await req('GET', '/profiles', undefined, propertiesOnly.token), 403, 'FORBIDDEN');
        expectCleanError(await t.request({ method: 'GET', url: `${base}/profiles/pii-1`, token: null }), 401, 'UNAUTHENTICATED');
        expectCleanError(await req('GET', '/profiles/pii-3'), 404, 'NOT_FOUND');
      });
    });

    describe('bad input', () => {
      const send = (method: 'POST' | 'PUT' | 'PATCH', url: string, payload: string, contentType = 'application/json') =>
        t.request({ method, url: `${base}${url}`, token: a.token, headers: { 'content-type': contentType }, payload });

      test('malformed JSON → 400 on the body, on every write route', async () => {
        for (const [method, url] of [
          ['POST', '/profiles'],
          ['PUT', '/profiles/bad-json'],
          ['PATCH', '/profiles/put-1'],
          ['POST', '/profiles/batch'],
        ] as const) {
          const res = await send(method, url, '{"properties": {"nickname": ');
          assert.deepEqual(expectCleanError(res, 400, 'VALIDATION_FAILED'), [{ field: 'body', problem: 'is not valid JSON' }], `${method} ${url}`);
        }
        expectCleanError(await req('GET', '/profiles/bad-json'), 404, 'NOT_FOUND');
      });

      test('a body that is not a JSON object → 400', async () => {
        for (const body of ['[]', '"x"', '42', 'null']) {
          assert.deepEqual(fields(expectCleanError(await send('PUT', '/profiles/not-object', body), 400, 'VALIDATION_FAILED')), ['body'], body);
        }
      });

      test('a wrong content type → 415 UNSUPPORTED_MEDIA_TYPE', async () => {
        for (const [type, body] of [
          ['text/plain', '{"properties": {}}'],
          ['application/x-www-form-urlencoded', 'properties=x'],
          ['application/xml', '<profile/>'],
        ]) {
          expectCleanError(await send('PUT', '/profiles/wrong-type', body, type), 415, 'UNSUPPORTED_MEDIA_TYPE');
          expectCleanError(await send('POST', '/profiles/batch', body, type), 415, 'UNSUPPORTED_MEDIA_TYPE');
        }
        expectCleanError(await req('GET', '/profiles/wrong-type'), 404, 'NOT_FOUND');
      });

      test('unknown body fields → 400 naming each', async () => {
        const put = await req('PUT', '/profiles/unknown-fields', { properties: {}, id: 'x', colour: 'red' });
        assert.deepEqual(fields(expectCleanError(put, 400, 'VALIDATION_FAILED')), ['colour', 'id']);
        const post = await req('POST', '/profiles', { properties: {}, identities: {} });
        assert.deepEqual(fields(expectCleanError(post, 400, 'VALIDATION_FAILED')), ['identities']);
        const patch = await req('PATCH', '/profiles/put-1', { properties: {}, created_at: '2026-01-01T00:00:00Z' });
        assert.deepEqual(fields(expectCleanError(patch, 400, 'VALIDATION_FAILED')), ['created_at']);
        expectCleanError(await req('GET', '/profiles/unknown-fields'), 404, 'NOT_FOUND');
      });

      test('wrong types and missing fields → 400', async () => {
        const cases: [unknown, string[]][] = [
          [{}, ['properties']],
          [{ properties: null }, ['properties']],
          [{ properties: [] }, ['properties']],
          [{ properties: 'nickname=x' }, ['properties']],
          [{ properties: {}, id: 42 }, ['id']],
          [{ properties: {}, id: '' }, ['id']],
          [{ properties: {}, id: 'has space' }, ['id']],
          [{ properties: {}, id: 'x'.repeat(129) }, ['id']],
        ];
        for (const [body, expected] of cases) {
          const res = await req('POST', '/profiles', body);
          assert.deepEqual(fields(expectCleanError(res, 400, 'VALIDATION_FAILED')), expected, JSON.stringify(body).slice(0, 80));
        }
        const put = await req('PUT', '/profiles/typed', { properties: { points: '5', nickname: 7, tier: true } });
        assert.deepEqual(fields(expectCleanError(put, 400, 'VALIDATION_FAILED')), ['properties.nickname', 'properties.points', 'properties.tier']);
        expectCleanError(await req('GET', '/profiles/typed'), 404, 'NOT_FOUND');
      });

      const idRoutes = ['GET', 'PUT', 'PATCH', 'DELETE'] as const;
      const onId = (method: (typeof idRoutes)[number], id: string) =>
        t.request({ method, url: `${base}/profiles/${id}`, token: a.token, ...(method === 'PUT' || method === 'PATCH' ? { payload: { properties: {} } } : {}) });

      test('a profile id with bad characters → 400 on id, on every route', async () => {
        for (const id of ['has%20space', 'slash%2Fin', 'quote%22', 'hash%23', '%C3%BCmlaut', 'star*', 'comma,']) {
          for (const method of idRoutes) {
            assert.deepEqual(fields(expectCleanError(await onId(method, id), 400, 'VALIDATION_FAILED')), ['id'], `${method} ${id}`);
          }
        }
        const odd = await req('PUT', '/profiles/A-z_0.9:x@y', { properties: {} });
        expectStatus(odd, 201);
        assert.equal(odd.body.id, 'A-z_0.9:x@y');
      });

      test('a profile id over 128 characters → 400 on id, on every route', async () => {
        for (const method of idRoutes) {
          assert.deepEqual(fields(expectCleanError(await onId(method, 'x'.repeat(129)), 400, 'VALIDATION_FAILED')), ['id'], method);
        }
        const post = await req('POST', '/profiles', { id: 'x'.repeat(129), properties: {} });
        assert.deepEqual(fields(expectCleanError(post, 400, 'VALIDATION_FAILED')), ['id']);
      });

      test('a profile id of 128 characters works on every route', async () => {
        const longest = `L${'x'.repeat(127)}`;
        const created = await req('PUT', `/profiles/${longest}`, { properties: { nickname: 'long' } });
        expectStatus(created, 201);
        assert.equal(created.body.id, longest);
        const read = await req('GET', `/profiles/${longest}`);
        expectStatus(read, 200);
        assert.equal(read.body.id, longest);
        const patched = await req('PATCH', `/profiles/${longest}`, { properties: { points: 1 } });
        expectStatus(patched, 200);
        assert.deepEqual(patched.body.properties, { nickname: 'long', points: 1 });
        expectStatus(await req('DELETE', `/profiles/${longest}`), 204);
        const viaBatch = await req('POST', '/profiles/batch', { inputs: [{ id: longest, properties: { nickname: 'again' } }] });
        expectStatus(viaBatch, 200);
        assert.deepEqual(viaBatch.body, { results: [{ index: 0, status: 'created', id: longest }] });
        const again = await req('GET', `/profiles/${longest}`);
        expectStatus(again, 200);
        assert.deepEqual(again.body.properties, { nickname: 'again' });
      });

      test('GET with an unknown include → 400', async () => {
        assert.deepEqual(fields(expectCleanError(await req('GET', '/profiles/put-1?include=history'), 400, 'VALIDATION_FAILED')), ['include']);
      });

      const oddBodies: { title: string; body: string }[] = [
        { title: 'a __proto__ property name', body: '{"properties": {"__proto__": {"x": 1}}}' },
        { title: 'a constructor.prototype property name', body: '{"properties": {"constructor": {"prototype": {"x": 1}}}}' },
        { title: 'a property name of 200 characters', body: `{"properties": {"${'n'.repeat(200)}": 1}}` },
        { title: 'an empty property name', body: '{"properties": {"": 1}}' },
        { title: 'an object for a string', body: '{"properties": {"nickname": {"nested": true}}}' },
        { title: 'an integer too large to be exact', body: '{"properties": {"points": 12345678901234567890}}' },
        { title: 'an integer that overflows to infinity', body: '{"properties": {"points": 1e999}}' },
        { title: 'a string of 70,000 characters', body: `{"properties": {"nickname": "${'y'.repeat(70_000)}"}}` },
        { title: 'a string holding a NUL character', body: '{"properties": {"nickname": "a\\u0000b"}}' },
      ];
      for (const [i, { title, body }] of oddBodies.entries()) {
        test(`never 500: ${title}`, async () => {
          // Either stored and read back as sent, or refused in the envelope; the same on every route.
          expectStatus(await req('PUT', `/profiles/odd-patched-${i}`, { properties: {} }), 201);
          for (const [method, url] of [
            ['PUT', `/profiles/odd-put-${i}`],
            ['PATCH', `/profiles/odd-patched-${i}`],
          ] as const) {
            const res = await send(method, url, body);
            assert.ok(res.status < 500, `${method} → ${res.status}: ${res.raw.slice(0, 300)}`);
            if (res.status >= 400) expectCleanError(res, 400, 'VALIDATION_FAILED');
            else assert.deepEqual(res.body.properties.nickname, JSON.parse(body).properties.nickname, res.raw.slice(0, 300));
          }
          const batch = await send('POST', '/profiles/batch', `{"inputs": [{"id": "odd-batch-${i}", ${body.slice(1, -1)}}]}`);
          assert.ok(batch.status < 500, `batch → ${batch.status}: ${batch.raw.slice(0, 300)}`);
          if (batch.status >= 400) expectCleanError(batch, 400, 'VALIDATION_FAILED');
          else assert.ok(['created', 'updated', 'rejected'].includes(batch.body.results[0].status), batch.raw.slice(0, 300));
        });
      }
    });
  });

  describe(`profile search [${dialect.name}]`, () => {
    let t: TestApp;
    let s: Tenancy;
    let base: string;
    const get = (query: string | [string, string][], token?: string) =>
      t.request({ method: 'GET', url: `${base}/profiles?${typeof query === 'string' ? query : new URLSearchParams(query)}`, token: token ?? s.token });

    /** The ids a search answers (one page, which must be the last). */
    async function ids(query: [string, string][]): Promise<string[]> {
      const res = await get(query);
      expectStatus(res, 200);
      assert.equal(res.body.next_cursor, null, 'one page');
      return res.body.data.map((p: { id: string }) => p.id).sort();
    }

    /** Every page of a search, walked by cursor. */
    async function walk(query: [string, string][], limit: number): Promise<{ id: string; properties: Record<string, unknown> }[]> {
      const seen: { id: string; properties: Record<string, unknown> }[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 50; page++) {
        const res = await get([...query, ['limit', String(limit)], ...(cursor ? [['cursor', cursor] as [string, string]] : [])]);
        expectStatus(res, 200);
        assert.ok(res.body.data.length <= limit);
        seen.push(...res.body.data);
        cursor = res.body.next_cursor;
        if (cursor === null) return seen;
        assert.equal(res.body.data.length, limit, 'a page before the last is full');
      }
      assert.fail('the cursor never ended');
    }

    const PROFILES: Record<string, Record<string, unknown>> = {
      s1: {
        visits: 9,
        score: 1.5,
        birthday: '2023-12-31',
        seen_at: '2026-11-23T11:00:00Z',
        city: 'Novi Sad',
        work_email: 'ana@example.com',
        tier: 'gold',
        active: true,
        tags: ['a', 'b'],
        note: '50% off',
        secret: 'x',
      },
      s2: {
        visits: 10,
        score: -2,
        birthday: '2024-01-01',
        seen_at: '2026-11-23T12:00:00Z',
        city: 'Novi Beograd',
        work_email: 'bo@example.com',
        tier: 'silver',
        active: false,
        tags: ['b'],
        note: '500 off',
      },
      s3: { visits: 100, score: 10, birthday: '2024-02-29', seen_at: '2026-11-23T13:30:00+01:00', city: 'Beograd', tier: 'gold', tags: ['c'], note: 'none_here' },
      s4: { visits: 50, score: 2, note: 'Škola' },
      s5: { city: 'Niš' },
      s6: {},
      s7: { visits: 10, city: 'Subotica', score: 3 },
    };

    before(async () => {
      t = await createTestApp(dialect);
      s = await createTenancy(t, 'Search');
      base = `/v1/workspaces/${s.workspaceId}`;
      for (const p of [
        { name: 'visits', data_type: 'integer' },
        { name: 'score', data_type: 'number' },
        { name: 'birthday', data_type: 'date' },
        { name: 'seen_at', data_type: 'datetime' },
        { name: 'work_email', data_type: 'email' },
        { name: 'tier', data_type: 'enum', options: [{ value: 'gold' }, { value: 'silver' }, { value: 'bronze' }] },
        { name: 'active', data_type: 'boolean' },
        { name: 'tags', data_type: 'string', multi_valued: true },
        { name: 'note', data_type: 'text' },
        { name: 'meta', data_type: 'json' },
        { name: 'secret', data_type: 'string', pii: true },
      ]) {
        expectStatus(await t.request({ method: 'POST', url: `${base}/properties`, token: s.token, payload: p }), 201);
      }
      for (const [id, properties] of Object.entries(PROFILES)) {
        expectStatus(await t.request({ method: 'PUT', url: `${base}/profiles/${id}`, token: s.token, payload: { properties } }), 201);
      }
    });
    after(() => t.close());

    const ALL = Object.keys(PROFILES).sort();

    const filters: { title: string; query: [string, string][]; expected: string[] }[] = [
      { title: 'no filter lists every profile', query: [], expected: ALL },
      // integer: compares numerically
      { title: 'integer lt 10 (9 < 10)', query: [['filter[visits][lt]', '10']], expected: ['s1'] },
      { title: 'integer gt 9', query: [['filter[visits][gt]', '9']], expected: ['s2', 's3', 's4', 's7'] },
      { title: 'integer gte and lte together', query: [['filter[visits][gte]', '10'], ['filter[visits][lte]', '50']], expected: ['s2', 's4', 's7'] },
      { title: 'integer eq', query: [['filter[visits][eq]', '10']], expected: ['s2', 's7'] },
      { title: 'integer eq written with a fraction', query: [['filter[visits][eq]', '10.0']], expected: ['s2', 's7'] },
      { title: 'integer in', query: [['filter[visits][in]', '9,100']], expected: ['s1', 's3'] },
      { title: 'integer ne among holders', query: [['filter[visits][ne]', '10'], ['filter[visits][exists]', 'true']], expected: ['s1', 's3', 's4'] },
      { title: 'ne counts a profile without a value as not equal', query: [['filter[visits][ne]', '10']], expected: ['s1', 's3', 's4', 's5', 's6'] },
      { title: 'exists true', query: [['filter[visits][exists]', 'true']], expected: ['s1', 's2', 's3', 's4', 's7'] },
      { title: 'exists false', query: [['filter[visits][exists]', 'false']], expected: ['s5', 's6'] },
      // number
      { title: 'number lt 9 (not text: 10 is not < 9)', query: [['filter[score][lt]', '9']], expected: ['s1', 's2', 's4', 's7'] },
      { title: 'number between negatives', query: [['filter[score][gt]', '-2.5'], ['filter[score][lt]', '2']], expected: ['s1', 's2'] },
      // date: compares as a date
      { title: 'date lt across a year', query: [['filter[birthday][lt]', '2024-01-01']], expected: ['s1'] },
      { title: 'date gte', query: [['filter[birthday][gte]', '2024-01-01']], expected: ['s2', 's3'] },
      { title: 'date eq a leap day', query: [['filter[birthday][eq]', '2024-02-29']], expected: ['s3'] },
      // datetime: the filter value is normalised to UTC like the stored ones
      { title: 'datetime gte with an offset', query: [['filter[seen_at][gte]', '2026-11-23T13:00:00+01:00']], expected: ['s2', 's3'] },
      { title: 'datetime lt in UTC', query: [['filter[seen_at][lt]', '2026-11-23T12:30:00Z']], expected: ['s1', 's2'] },
      { title: 'datetime eq of a value stored with an offset', query: [['filter[seen_at][eq]', '2026-11-23T12:30:00Z']], expected: ['s3'] },
      { title: 'datetime eq written with another offset', query: [['filter[seen_at][eq]', '2026-11-23T14:30:00+02:00']], expected: ['s3'] },
      // strings
      { title: 'string eq', query: [['filter[city][eq]', 'Beograd']], expected: ['s3'] },
      { title: 'string in', query: [['filter[city][in]', 'Beograd,Subotica']], expected: ['s3', 's7'] },
      { title: 'string prefix', query: [['filter[city][prefix]', 'Novi']], expected: ['s1', 's2'] },
      { title: 'string contains', query: [['filter[city][contains]', 'grad']], expected: ['s2', 's3'] },
      { title: 'text contains a % literally', query: [['filter[note][contains]', '50%']], expected: ['s1'] },
      { title: 'text contains an _ literally', query: [['filter[note][contains]', 'e_h']], expected: ['s3'] },
      { title: 'contains is case-insensitive', query: [['filter[note][contains]', 'OFF']], expected: ['s1', 's2'] },
      { title: 'contains is case-insensitive beyond ASCII', query: [['filter[note][contains]', 'ško']], expected: ['s4'] },
      // email: the filter value is normalised like the values
      { title: 'email eq, normalised', query: [['filter[work_email][eq]', '  Ana@Example.COM ']], expected: ['s1'] },
      { title: 'email in, normalised', query: [['filter[work_email][in]', 'BO@example.com,ana@EXAMPLE.com']], expected: ['s1', 's2'] },
      // enum and boolean
      { title: 'enum eq', query: [['filter[tier][eq]', 'gold']], expected: ['s1', 's3'] },
      { title: 'enum in', query: [['filter[tier][in]', 'silver,bronze']], expected: ['s2'] },
      { title: 'boolean eq true', query: [['filter[active][eq]', 'true']], expected: ['s1'] },
      { title: 'boolean eq false', query: [['filter[active][eq]', 'false']], expected: ['s2'] },
      // multi-valued: any item
      { title: 'multi-valued eq matches any item', query: [['filter[tags][eq]', 'b']], expected: ['s1', 's2'] },
      // PII (the suite's key has pii:read): equality and exists
      { title: 'PII exists', query: [['filter[secret][exists]', 'true']], expected: ['s1'] },
      { title: 'PII eq', query: [['filter[secret][eq]', 'x']], expected: ['s1'] },
      { title: 'PII ne', query: [['filter[secret][ne]', 'x']], expected: ['s2', 's3', 's4', 's5', 's6', 's7'] },
      // several filters are ANDed
      { title: 'several filters ANDed', query: [['filter[city][prefix]', 'Novi'], ['filter[visits][gte]', '10']], expected: ['s2'] },
      { title: 'filters that exclude each other', query: [['filter[tier][eq]', 'gold'], ['filter[active][eq]', 'false']], expected: [] },
    ];
    for (const row of filters) {
      test(`filter: ${row.title}`, async () => {
        assert.deepEqual(await ids(row.query), row.expected);
      });
    }

    test('results are whole profiles', async () => {
      const res = await get([['filter[city][eq]', 'Beograd']]);
      expectStatus(res, 200);
      assert.equal(res.body.data.length, 1);
      assert.deepEqual(res.body.data[0].properties, { ...PROFILES.s3, seen_at: '2026-11-23T12:30:00.000Z' });
      assert.equal(res.body.data[0].id, 's3');
    });

    const sorts: { title: string; sort: string; property: string; expected: unknown[]; ids?: string[] }[] = [
      {
        title: 'integer ascending, numerically, missing last, ties by id',
        sort: 'visits',
        property: 'visits',
        expected: [9, 10, 10, 50, 100, undefined, undefined],
        ids: ['s1', 's2', 's7', 's4', 's3', 's5', 's6'],
      },
      {
        title: 'integer descending: the ascending order reversed, ties by id descending, missing still last',
        sort: '-visits',
        property: 'visits',
        expected: [100, 50, 10, 10, 9, undefined, undefined],
        ids: ['s3', 's4', 's7', 's2', 's1', 's6', 's5'],
      },
      { title: 'number ascending', sort: 'score', property: 'score', expected: [-2, 1.5, 2, 3, 10, undefined, undefined] },
      { title: 'date ascending', sort: 'birthday', property: 'birthday', expected: ['2023-12-31', '2024-01-01', '2024-02-29', undefined, undefined, undefined, undefined] },
      { title: 'datetime descending', sort: '-seen_at', property: 'seen_at', expected: ['2026-11-23T12:30:00.000Z', '2026-11-23T12:00:00.000Z', '2026-11-23T11:00:00.000Z', undefined, undefined, undefined, undefined] },
      { title: 'string ascending', sort: 'city', property: 'city', expected: ['Beograd', 'Niš', 'Novi Beograd', 'Novi Sad', 'Subotica', undefined, undefined] },
      { title: 'string descending', sort: '-city', property: 'city', expected: ['Subotica', 'Novi Sad', 'Novi Beograd', 'Niš', 'Beograd', undefined, undefined] },
    ];
    for (const row of sorts) {
      test(`sort: ${row.title}`, async () => {
        const res = await get([['sort', row.sort]]);
        expectStatus(res, 200);
        assert.deepEqual(
          res.body.data.map((p: { properties: Record<string, unknown> }) => p.properties[row.property]),
          row.expected,
        );
        if (row.ids) assert.deepEqual(res.body.data.map((p: { id: string }) => p.id), row.ids);
      });

      test(`cursor: walking sort=${row.sort} two at a time sees every profile once, in order`, async () => {
        const all = await get([['sort', row.sort]]);
        expectStatus(all, 200);
        const pages = await walk([['sort', row.sort]], 2);
        assert.deepEqual(
          pages.map((p) => p.id),
          all.body.data.map((p: { id: string }) => p.id),
        );
        assert.equal(new Set(pages.map((p) => p.id)).size, ALL.length);
      });
    }

    test('cursor: walking without a sort, one at a time and three at a time, sees every profile once', async () => {
      for (const limit of [1, 3]) {
        const pages = await walk([], limit);
        assert.deepEqual(pages.map((p) => p.id).sort(), ALL, `limit ${limit}`);
        assert.equal(new Set(pages.map((p) => p.id)).size, ALL.length, `limit ${limit}`);
      }
    });

    test('cursor: walking a filtered, sorted search', async () => {
      const pages = await walk([['filter[visits][exists]', 'true'], ['sort', '-visits']], 2);
      assert.deepEqual(
        pages.map((p) => p.properties.visits),
        [100, 50, 10, 10, 9],
      );
    });

    test('a filter value holding a NUL character never answers 500', async () => {
      for (const op of ['eq', 'contains', 'prefix', 'in']) {
        const res = await get(`filter[city][${op}]=a%00b`);
        assert.ok(res.status < 500, `${op} → ${res.status}: ${res.raw.slice(0, 300)}`);
        if (res.status === 200) assert.deepEqual(res.body, { data: [], next_cursor: null }, op);
        else assert.deepEqual(fields(expectCleanError(res, 400, 'VALIDATION_FAILED')), [`filter[city][${op}]`], op);
      }
    });

    test('limit caps a page and says where to go on', async () => {
      const res = await get([['limit', '3']]);
      expectStatus(res, 200);
      assert.equal(res.body.data.length, 3);
      assert.equal(typeof res.body.next_cursor, 'string');
    });

    const refusals: { title: string; query: string | [string, string][]; details: { field: string; allowed?: unknown[] }[] }[] = [
      { title: 'an unknown property', query: [['filter[nope][eq]', '1']], details: [{ field: 'filter[nope][eq]' }] },
      { title: 'an unknown operator lists the operators', query: [['filter[visits][like]', '1']], details: [{ field: 'filter[visits][like]', allowed: ALL_OPS }] },
      { title: 'contains on an integer lists the ones that apply', query: [['filter[visits][contains]', '1']], details: [{ field: 'filter[visits][contains]', allowed: NUMBER_OPS }] },
      { title: 'prefix on a number', query: [['filter[score][prefix]', '1']], details: [{ field: 'filter[score][prefix]', allowed: NUMBER_OPS }] },
      { title: 'gt on an enum', query: [['filter[tier][gt]', 'gold']], details: [{ field: 'filter[tier][gt]', allowed: EQUALITY_OPS }] },
      { title: 'contains on a boolean', query: [['filter[active][contains]', 'tr']], details: [{ field: 'filter[active][contains]', allowed: EQUALITY_OPS }] },
      { title: 'prefix on a PII property', query: [['filter[secret][prefix]', 'x']], details: [{ field: 'filter[secret][prefix]', allowed: EQUALITY_OPS }] },
      { title: 'eq on json', query: [['filter[meta][eq]', '{}']], details: [{ field: 'filter[meta][eq]', allowed: ['exists'] }] },
      { title: 'a number that is not one', query: [['filter[visits][gt]', 'abc']], details: [{ field: 'filter[visits][gt]' }] },
      { title: 'an empty number', query: [['filter[visits][eq]', '']], details: [{ field: 'filter[visits][eq]' }] },
      { title: 'a date that does not exist', query: [['filter[birthday][lt]', '2023-02-29']], details: [{ field: 'filter[birthday][lt]' }] },
      { title: 'a datetime without an offset', query: [['filter[seen_at][gt]', '2026-11-23T12:00:00']], details: [{ field: 'filter[seen_at][gt]' }] },
      { title: 'a boolean that is not one', query: [['filter[active][eq]', 'yes']], details: [{ field: 'filter[active][eq]' }] },
      { title: 'an email that is not one', query: [['filter[work_email][eq]', 'a@b']], details: [{ field: 'filter[work_email][eq]' }] },
      { title: 'an in list with one bad item', query: [['filter[visits][in]', '1,x,3']], details: [{ field: 'filter[visits][in]' }] },
      { title: 'exists that is not true or false', query: [['filter[visits][exists]', 'maybe']], details: [{ field: 'filter[visits][exists]' }] },
      { title: 'a filter without an operator', query: [['filter[visits]', '1']], details: [{ field: 'filter[visits]' }] },
      { title: 'an unknown parameter', query: [['colour', 'red']], details: [{ field: 'colour' }] },
      { title: 'sort by an unknown property', query: [['sort', 'nope']], details: [{ field: 'sort' }] },
      { title: 'sort by a PII property', query: [['sort', 'secret']], details: [{ field: 'sort' }] },
      { title: 'limit 0', query: [['limit', '0']], details: [{ field: 'limit' }] },
      { title: 'limit 1001', query: [['limit', '1001']], details: [{ field: 'limit' }] },
      { title: 'limit that is not a number', query: [['limit', 'ten']], details: [{ field: 'limit' }] },
      { title: 'a cursor this list never returned', query: [['cursor', 'not-a-cursor']], details: [{ field: 'cursor' }] },
      {
        title: 'every problem at once',
        query: [
          ['filter[nope][eq]', '1'],
          ['filter[visits][contains]', '1'],
          ['filter[birthday][gt]', 'soon'],
        ],
        details: [{ field: 'filter[birthday][gt]' }, { field: 'filter[nope][eq]' }, { field: 'filter[visits][contains]', allowed: NUMBER_OPS }],
      },
    ];
    // A bad sort string names its fault in words and answers 400, never a page in some other order.
    const badSorts: { title: string; sort: string; problem: RegExp }[] = [
      { title: 'an unknown property', sort: 'nope', problem: /^names no property of this workspace: nope$/ },
      { title: 'an unknown property as the second key', sort: 'visits,-nope', problem: /^names no property of this workspace: nope$/ },
      { title: 'a PII property as the second key', sort: 'city,secret', problem: /^secret cannot be sorted by: PII values are stored encrypted$/ },
      { title: 'a json property', sort: 'meta', problem: /^meta cannot be sorted by: json values have no order$/ },
      { title: 'every unsortable key at once', sort: 'nope,meta', problem: /^names no property of this workspace: nope; meta cannot be sorted by/ },
      { title: 'a key named twice', sort: 'visits,score,visits', problem: /^names visits twice; each property may be a key once$/ },
      { title: 'a key named twice, once descending', sort: 'visits,-visits', problem: /^names visits twice/ },
      { title: 'a key named twice in another case', sort: 'city,CITY', problem: /^names city twice/ },
      { title: 'more keys than allowed', sort: 'visits,score,city,birthday', problem: /^takes at most 3 keys; this one has 4$/ },
      { title: 'a trailing comma', sort: 'visits,', problem: /^has an empty key; write sort=<property> or -<property> for descending, up to 3 of them/ },
      { title: 'a dash alone', sort: '-', problem: /^has an empty key/ },
      { title: 'a comma alone', sort: ',', problem: /^has an empty key/ },
    ];
    for (const row of badSorts) {
      test(`refused sort: ${row.title} (${JSON.stringify(row.sort)}) → 400 saying why`, async () => {
        const details = expectCleanError(await get([['sort', row.sort]]), 400, 'VALIDATION_FAILED');
        assert.equal(details.length, 1, JSON.stringify(details));
        assert.equal(details[0].field, 'sort');
        assert.match(details[0].problem, row.problem);
      });
    }

    test('three keys sort: ties on a key broken by the next, missing values after present ones at each key', async () => {
      // tier ties (s1 and s3 gold; s4 to s7 none) are broken by visits descending, then by score;
      // s5 and s6 hold none of the three, so their id decides.
      const res = await get([['sort', 'tier,-visits,score']]);
      expectStatus(res, 200);
      const shown = res.body.data.map((p: { id: string; properties: Record<string, unknown> }) => [p.id, p.properties.tier ?? null, p.properties.visits ?? null, p.properties.score ?? null]);
      const expected = ALL.map((id) => [id, PROFILES[id].tier ?? null, PROFILES[id].visits ?? null, PROFILES[id].score ?? null] as [string, string | null, number | null, number | null]).sort((x, y) => {
        for (const [i, sign] of [[1, 1], [2, -1], [3, 1]] as const) {
          if (x[i] === y[i]) continue;
          if (x[i] === null || y[i] === null) return x[i] === null ? 1 : -1;
          return sign * (x[i]! < y[i]! ? -1 : 1);
        }
        return x[0] < y[0] ? -1 : 1;
      });
      assert.deepEqual(shown, expected);
    });

    test('a sort of two keys pages on while profiles are written: none repeated, none skipped that was there throughout', async () => {
      const w = await createTenancy(t, 'Search writes');
      const url = (path: string) => `/v1/workspaces/${w.workspaceId}${path}`;
      for (const p of [{ name: 'team', data_type: 'string' }, { name: 'rank', data_type: 'integer' }]) {
        expectStatus(await t.request({ method: 'POST', url: url('/properties'), token: w.token, payload: p }), 201);
      }
      const inputs = Array.from({ length: 12 }, (_, i) => ({ id: `w${String(i).padStart(2, '0')}`, properties: { team: ['red', 'blue'][i % 2], ...(i % 5 ? { rank: i % 3 } : {}) } }));
      expectStatus(await t.request({ method: 'POST', url: url('/profiles/batch'), token: w.token, payload: { inputs } }), 200);
      const seen: string[] = [];
      let cursor: string | null = null;
      let page = 0;
      do {
        const res = await t.request({ method: 'GET', url: url(`/profiles?sort=team,-rank&limit=3${cursor ? `&cursor=${cursor}` : ''}`), token: w.token });
        expectStatus(res, 200);
        seen.push(...res.body.data.map((p: { id: string }) => p.id));
        cursor = res.body.next_cursor;
        // Between pages: a profile that sorts first (already passed) and one that sorts after
        // everything written so far (a team later than any before it).
        const written = [{ id: `early-${page}`, properties: { team: 'blue', rank: 9 } }, { id: `late-${page}`, properties: { team: `zz${String(page).padStart(2, '0')}` } }];
        expectStatus(await t.request({ method: 'POST', url: url('/profiles/batch'), token: w.token, payload: { inputs: written } }), 200);
        page++;
        assert.ok(page < 20, 'the cursor ends');
      } while (cursor);
      assert.equal(new Set(seen).size, seen.length, `no profile twice: ${seen.join(' ')}`);
      for (const { id } of inputs) assert.ok(seen.includes(id), `${id} seen`);
      assert.ok(!seen.some((id) => id.startsWith('early-')), 'profiles written behind the cursor are not shown');
      // Each written ahead of the cursor is shown, but for the one written after the last page.
      assert.deepEqual(
        seen.filter((id) => id.startsWith('late-')),
        Array.from({ length: page - 1 }, (_, i) => `late-${i}`),
        `profiles written ahead of the cursor are shown: ${seen.join(' ')}`,
      );
    });

    test('an empty sort parameter is no sort', async () => {
      const res = await get([['sort', '']]);
      expectStatus(res, 200);
      assert.deepEqual(res.body.data.map((p: { id: string }) => p.id), ALL);
    });

    test('a cursor from a search sorted otherwise is refused, not followed', async () => {
      const first = await get([['sort', 'visits'], ['limit', '2']]);
      expectStatus(first, 200);
      for (const sort of ['visits,score', 'city', '']) {
        const query: [string, string][] = [['cursor', first.body.next_cursor], ...(sort ? [['sort', sort] as [string, string]] : [])];
        assert.deepEqual(fields(expectCleanError(await get(query), 400, 'VALIDATION_FAILED')), ['cursor'], sort);
      }
      const tampered = Buffer.from(JSON.stringify(['ten', 's1'])).toString('base64url');
      assert.deepEqual(fields(expectCleanError(await get([['sort', 'visits'], ['cursor', tampered]]), 400, 'VALIDATION_FAILED')), ['cursor']);
    });

    for (const row of refusals) {
      test(`refused: ${row.title} → 400`, async () => {
        const res = await get(row.query);
        const details = expectCleanError(res, 400, 'VALIDATION_FAILED');
        const shown = details
          .map((d) => (row.details.some((e) => e.field === d.field && e.allowed) ? { field: d.field, allowed: d.allowed } : { field: d.field }))
          .sort((x, y) => x.field.localeCompare(y.field));
        assert.deepEqual(shown, row.details, res.raw);
        for (const d of details) assert.ok(d.problem.length > 0, `${d.field} says what is wrong`);
      });
    }
  });
}
