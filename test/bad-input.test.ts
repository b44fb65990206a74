// Bad input on the native API: one test per class, each answered in the native envelope with the
// right status, every failing field at once, and nothing internal (stack, SQL) in the body.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTenancy, createTestApp, expectError, expectStatus, type Response, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

/** The native error envelope, with nothing in the raw body that belongs in a log. */
function expectCleanError(res: Response, status: number, code: string) {
  const details = expectError(res, status, code);
  assert.deepEqual(Object.keys(res.body), ['error'], res.raw);
  assert.deepEqual(Object.keys(res.body.error).sort(), ['code', 'details', 'message', 'request_id'], res.raw);
  assert.doesNotMatch(res.raw, /\bat \S+ \(|\bat (file|node):|\.ts:\d+/, 'no stack trace');
  assert.doesNotMatch(res.raw, /\b(select|insert into|update \w+ set|delete from)\b|SQLITE_|sqlstate/i, 'no SQL');
  assert.doesNotMatch(res.raw, /FST_|node_modules/, 'no framework internals');
  return details;
}

const fields = (details: { field: string }[]) => details.map((d) => d.field).sort();

for (const dialect of dialects) {
  describe(`bad input on the native API [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let url: string;

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t, 'Bad');
      url = `/v1/workspaces/${a.workspaceId}/properties`;
      expectStatus(await t.request({ method: 'POST', url, token: a.token, payload: { name: 'existing', data_type: 'string' } }), 201);
    });
    after(() => t.close());

    const post = (payload: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
      t.request({ method: 'POST', url, token: a.token, headers, payload: payload as string });

    async function expectNotCreated(name: string) {
      expectCleanError(await t.request({ method: 'GET', url: `${url}/${name}`, token: a.token }), 404, 'NOT_FOUND');
    }

    test('a body that sets __proto__ → 400, never merged into objects', async () => {
      const res = await post('{"name": "proto_x", "data_type": "string", "__proto__": {"admin": true}}');
      assert.equal(res.status, 400, res.raw);
      await expectNotCreated('proto_x');
    });

    test('malformed JSON → 400 VALIDATION_FAILED on the body', async () => {
      const res = await post('{"name": "half_written", "data_type": ');
      assert.deepEqual(expectCleanError(res, 400, 'VALIDATION_FAILED'), [{ field: 'body', problem: 'is not valid JSON' }]);
      await expectNotCreated('half_written');
    });

    test('a NUL character in a body string, a path or a query → 400 naming where', async () => {
      const body = await post(JSON.stringify({ name: 'nul_desc', data_type: 'string', description: 'a\u0000b' }));
      assert.deepEqual(expectCleanError(body, 400, 'VALIDATION_FAILED'), [{ field: 'description', problem: 'holds a NUL character' }]);
      await expectNotCreated('nul_desc');
      const path = await t.request({ method: 'GET', url: `${url}/a%00b`, token: a.token });
      assert.deepEqual(expectCleanError(path, 400, 'VALIDATION_FAILED'), [{ field: 'url', problem: 'holds a NUL character' }]);
      const query = await t.request({ method: 'GET', url: `${url}?q=a%00b`, token: a.token });
      assert.deepEqual(expectCleanError(query, 400, 'VALIDATION_FAILED'), [{ field: 'q', problem: 'holds a NUL character' }]);
    });

    test('an empty body sent as JSON → 400 VALIDATION_FAILED', async () => {
      const res = await post('');
      assert.deepEqual(fields(expectCleanError(res, 400, 'VALIDATION_FAILED')), ['body']);
    });

    test('a JSON body that is not an object → 400', async () => {
      for (const body of ['[]', '"loyalty"', '42', 'null']) {
        const res = await post(body);
        assert.deepEqual(fields(expectCleanError(res, 400, 'VALIDATION_FAILED')), ['body'], body);
      }
    });

    test('a body that is not JSON (text/plain, XML, form) → 415 UNSUPPORTED_MEDIA_TYPE', async () => {
      const bodies: [string, string][] = [
        ['text/plain', '{"name": "plain_text", "data_type": "string"}'],
        ['application/xml', '<property name="as_xml"/>'],
        ['application/x-www-form-urlencoded', 'name=as_form&data_type=string'],
      ];
      for (const [type, body] of bodies) {
        expectCleanError(await post(body, { 'content-type': type }), 415, 'UNSUPPORTED_MEDIA_TYPE');
      }
      await expectNotCreated('plain_text');
      await expectNotCreated('as_form');
    });

    test('a JSON content type with a charset is fine', async () => {
      const res = await post(JSON.stringify({ name: 'with_charset', data_type: 'string' }), { 'content-type': 'application/json; charset=utf-8' });
      expectStatus(res, 201);
      assert.equal(res.body.name, 'with_charset');
    });

    test('unknown body fields → 400 listing each of them, at any depth', async () => {
      const res = await post({
        name: 'unknown_fields',
        data_type: 'enum',
        colour: 'red',
        size: 3,
        identity: { role: 'none', weight: 2 },
        options: [{ value: 'a', tint: 'blue' }],
        validation: { max_size: 3 },
      });
      const details = expectCleanError(res, 400, 'VALIDATION_FAILED');
      assert.deepEqual(details.map((d) => [d.field, d.problem]).sort(), [
        ['colour', 'is not a known field'],
        ['identity.weight', 'is not a known field'],
        ['options[0].tint', 'is not a known field'],
        ['size', 'is not a known field'],
        ['validation.max_size', 'is not a known field'],
      ]);
      await expectNotCreated('unknown_fields');
    });

    test('values of the wrong JSON type → 400, never coerced', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ display_order: '5' }, 'display_order'],
        [{ pii: 'true' }, 'pii'],
        [{ unique: 1 }, 'unique'],
        [{ display_order: 5.5 }, 'display_order'],
        [{ import_aliases: 'col' }, 'import_aliases'],
        [{ metadata: '{}' }, 'metadata'],
        [{ description: 12 }, 'description'],
      ];
      for (const [extra, field] of cases) {
        const res = await post({ name: 'wrong_type', data_type: 'string', ...extra });
        assert.deepEqual(fields(expectCleanError(res, 400, 'VALIDATION_FAILED')), [field], JSON.stringify(extra));
      }
      const numericName = await post({ name: 5, data_type: 'string' });
      assert.deepEqual(fields(expectCleanError(numericName, 400, 'VALIDATION_FAILED')), ['name']);
      await expectNotCreated('wrong_type');
      // PATCH bodies are as strict.
      const patch = await t.request({ method: 'PATCH', url: `${url}/existing`, token: a.token, payload: { display_order: '5', pii: 'false' } });
      assert.deepEqual(fields(expectCleanError(patch, 400, 'VALIDATION_FAILED')), ['display_order', 'pii']);
    });

    test('every failing field is listed at once', async () => {
      const res = await post({ name: '1_bad', data_type: 'float', display_order: 0, pii: 'yes', description: 'd'.repeat(2001), colour: 'red' });
      const details = expectCleanError(res, 400, 'VALIDATION_FAILED');
      assert.deepEqual(fields(details), ['colour', 'data_type', 'description', 'display_order', 'name', 'pii']);
      assert.deepEqual(details.find((d) => d.field === 'data_type')?.allowed, ['string', 'text', 'number', 'integer', 'boolean', 'date', 'datetime', 'link', 'email', 'phone', 'enum', 'json']);
      const empty = await post({});
      assert.deepEqual(
        expectCleanError(empty, 400, 'VALIDATION_FAILED').map((d) => [d.field, d.problem]).sort(),
        [
          ['data_type', 'is required'],
          ['name', 'is required'],
        ],
      );
    });

    test('bad query values → 400 naming the parameter', async () => {
      const cases: [string, string[]][] = [
        ['limit=0', ['limit']],
        ['limit=abc', ['limit']],
        ['limit=1001', ['limit']],
        ['limit=2.5', ['limit']],
        ['pii=maybe', ['pii']],
        ['data_type=float', ['data_type']],
        ['limit=0&archived=perhaps', ['archived', 'limit']],
      ];
      for (const [query, expected] of cases) {
        const res = await t.request({ method: 'GET', url: `${url}?${query}`, token: a.token });
        assert.deepEqual(fields(expectCleanError(res, 400, 'VALIDATION_FAILED')), expected, query);
      }
      const history = await t.request({ method: 'GET', url: `${url}/existing/history?limit=0`, token: a.token });
      assert.deepEqual(fields(expectCleanError(history, 400, 'VALIDATION_FAILED')), ['limit']);
      // Query strings, unlike bodies, are text: a number in one is read as a number.
      const fine = await t.request({ method: 'GET', url: `${url}?limit=1&pii=false`, token: a.token });
      expectStatus(fine, 200);
      assert.equal(fine.body.data.length, 1);
    });

    test('an unknown route under /v1 → 404 NOT_FOUND in the envelope', async () => {
      for (const path of ['/v1/nope', `/v1/workspaces/${a.workspaceId}/nothing`, `${url}/existing/nothing`, '/v1']) {
        expectCleanError(await t.request({ method: 'GET', url: path, token: a.token }), 404, 'NOT_FOUND');
      }
      expectCleanError(await t.request({ method: 'GET', url: '/v1/nope', token: null }), 404, 'NOT_FOUND');
    });

    test('a wrong method on a known path → 405 METHOD_NOT_ALLOWED with Allow', async () => {
      const cases: [string, string, string[]][] = [
        ['PUT', `${url}/existing`, ['DELETE', 'GET', 'PATCH']],
        ['DELETE', url, ['GET', 'POST']],
        ['PATCH', `${url}/existing/history`, ['GET']],
        ['PUT', `/v1/workspaces/${a.workspaceId}/limits`, ['GET']],
        ['GET', `${url}/existing/restore`, ['POST']],
      ];
      for (const [method, path, expected] of cases) {
        const res = await t.request({ method: method as 'GET' | 'PUT' | 'PATCH' | 'DELETE', url: path, token: a.token });
        expectCleanError(res, 405, 'METHOD_NOT_ALLOWED');
        const allow = String(res.headers.allow).split(/,\s*/).filter((m) => m !== 'HEAD').sort();
        assert.deepEqual(allow, expected, `${method} ${path}: Allow ${res.headers.allow}`);
      }
    });

    test('a workspace id that is not a positive integer → 400 on ws', async () => {
      for (const ws of ['abc', '0', '-1', '1.5']) {
        const res = await t.request({ method: 'GET', url: `/v1/workspaces/${ws}/properties`, token: a.token });
        assert.deepEqual(fields(expectCleanError(res, 400, 'VALIDATION_FAILED')), ['ws'], ws);
      }
    });

    test('request_id equals X-Request-Id, generated or sent by the client', async () => {
      const generated = await t.request({ method: 'GET', url: `${url}/ghost`, token: a.token });
      expectCleanError(generated, 404, 'NOT_FOUND');
      assert.match(String(generated.headers['x-request-id']), /^[0-9a-f-]{36}$/);
      const other = await t.request({ method: 'GET', url: `${url}/ghost`, token: a.token });
      assert.notEqual(other.body.error.request_id, generated.body.error.request_id, 'one id per request');
      const traced = await t.request({ method: 'GET', url: `${url}/ghost`, token: a.token, headers: { 'x-request-id': 'trace-abc-123' } });
      expectCleanError(traced, 404, 'NOT_FOUND');
      assert.equal(traced.body.error.request_id, 'trace-abc-123');
      const unauthenticated = await t.request({ method: 'GET', url, token: null });
      expectCleanError(unauthenticated, 401, 'UNAUTHENTICATED');
    });
  });

  // An app of its own with a small body limit. It is built after the suite above has closed its
  // app: two live PostgreSQL test schemas at once confuse the migrator (see the report).
  describe(`body limit [${dialect.name}]`, () => {
    let small: TestApp;
    let b: Tenancy;

    before(async () => {
      small = await createTestApp(dialect, { bodyLimit: 2048 });
      b = await createTenancy(small, 'Small');
    });
    after(() => small.close());

    test('a body over the limit → 413 PAYLOAD_TOO_LARGE', async () => {
      const target = `/v1/workspaces/${b.workspaceId}/properties`;
      const fits = await small.request({ method: 'POST', url: target, token: b.token, payload: { name: 'fits', data_type: 'string', description: 'x'.repeat(1800) } });
      expectStatus(fits, 201);
      const res = await small.request({ method: 'POST', url: target, token: b.token, payload: { name: 'too_big', data_type: 'string', metadata: { blob: 'x'.repeat(3000) } } });
      expectCleanError(res, 413, 'PAYLOAD_TOO_LARGE');
      expectError(await small.request({ method: 'GET', url: `${target}/too_big`, token: b.token }), 404, 'NOT_FOUND');
    });
  });
}
