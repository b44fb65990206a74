// The API descriptions are part of the product: each surface's document is linted by Redocly's
// recommended rules (a real `redocly lint` process), says what each operation needs and sends,
// and a client generated from the native one type-checks (a real `tsc`) and works against a
// listening server.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import { SCOPES } from '../src/modules/auth/auth.ts';
import { createTenancy, createTestApp, expectStatus, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';
import { hcl, lineworks, native, ocamba } from './helpers/surfaces.ts';

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (path: string) => join(ROOT, 'node_modules', path);

const DOCUMENTS = ['/openapi.json', '/ocamba/openapi.json', '/hcl/openapi.json', '/lineworks/openapi.json', '/segment/openapi.json'];
const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; style?: string; explode?: boolean; description?: string }[];
  responses: Record<string, { $ref?: string; headers?: Record<string, { $ref: string }> }>;
}
type Document = { paths: Record<string, Record<string, Operation>>; [key: string]: unknown };

const operationsOf = (doc: Document) =>
  Object.entries(doc.paths).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method] })));

/** Every string the docs page renders as Markdown, with where it is. */
function markdownIn(value: unknown, at = '#'): { at: string; text: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => markdownIn(v, `${at}/${i}`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, v]) =>
    (key === 'description' || key === 'summary') && typeof v === 'string' ? [{ at: `${at}/${key}`, text: v }] : markdownIn(v, `${at}/${key}`),
  );
}

for (const dialect of dialects) {
  describe(`the API descriptions [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    const docs = new Map<string, { raw: string; body: Document }>();

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t);
      for (const url of DOCUMENTS) {
        const res = await t.request({ method: 'GET', url, token: null });
        expectStatus(res, 200);
        assert.match(String(res.headers['content-type']), /^application\/json/, url);
        docs.set(url, { raw: res.raw, body: res.body as Document });
      }
    });
    after(() => t.close());

    test('redocly lint with the recommended rules finds no error and no warning in any document', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'propdict-openapi-'));
      try {
        const files = [];
        for (const [url, { raw }] of docs) {
          const file = join(dir, `${url.replace(/\W+/g, '_')}.json`);
          await writeFile(file, raw);
          files.push(file);
        }
        const lint = await run(process.execPath, [bin('@redocly/cli/bin/cli.js'), 'lint', '--extends=recommended', '--format=json', ...files], {
          cwd: dir,
          env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
          maxBuffer: 16 * 1024 * 1024,
        }).then(
          (done) => ({ ...done, code: 0 }),
          (error: { stdout?: string; stderr?: string; code?: number }) => ({ stdout: error.stdout ?? '', stderr: error.stderr ?? '', code: error.code }),
        );
        // One pretty-printed report per file, one after the other.
        const reports = lint.stdout.split(/(?<=^\})(?=\{$)/m).map((r) => JSON.parse(r) as { totals: { errors: number; warnings: number }; problems: { ruleId: string; message: string }[] });
        assert.equal(reports.length, files.length, lint.stdout + lint.stderr);
        for (const [i, report] of reports.entries()) {
          assert.deepEqual(report.problems.map((p) => `${p.ruleId}: ${p.message}`), [], `${files[i]}: ${lint.stderr}`);
          assert.deepEqual([report.totals.errors, report.totals.warnings], [0, 0], files[i]);
        }
        assert.equal(lint.code, 0, lint.stderr);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    test('the same document on every request: built once at start', async () => {
      for (const url of DOCUMENTS) {
        const again = await t.request({ method: 'GET', url, token: null });
        expectStatus(again, 200);
        assert.equal(again.raw, docs.get(url)!.raw, url);
      }
    });

    test('a document URL asked with another method answers 405 in its surface\'s envelope', async () => {
      const table = [
        { url: '/openapi.json', surface: native },
        { url: '/ocamba/openapi.json', surface: ocamba },
        { url: '/hcl/openapi.json', surface: hcl },
        { url: '/lineworks/openapi.json', surface: lineworks },
      ];
      for (const { url, surface } of table) {
        const res = await t.request({ method: 'POST', url, token: null, payload: {} });
        surface.expectError(res, 405);
        assert.equal(res.headers.allow, 'GET, HEAD', url);
      }
      const segment = await t.request({ method: 'POST', url: '/segment/openapi.json', token: null, payload: {} });
      expectStatus(segment, 405);
      assert.deepEqual(segment.body, { success: false, message: segment.body.message });
    });

    test('each surface has its own server, security scheme and error envelope', () => {
      const expected = [
        ['/openapi.json', '/', 'bearer', 'ErrorEnvelope'],
        ['/ocamba/openapi.json', '/ocamba', 'bearer', 'OcambaError'],
        ['/hcl/openapi.json', '/hcl', 'authKey', 'HclError'],
        ['/lineworks/openapi.json', '/lineworks', 'bearer', 'LineWorksError'],
        ['/segment/openapi.json', '/segment', 'writeKey', 'SegmentFailure'],
      ] as const;
      for (const [url, server, scheme, envelope] of expected) {
        const doc = docs.get(url)!.body as Document & { servers: { url: string }[]; components: Record<string, Record<string, Record<string, unknown>>> };
        assert.equal(doc.servers[0].url, server, url);
        assert.deepEqual(Object.keys(doc.components.securitySchemes), [scheme], url);
        assert.ok(doc.components.schemas[envelope], `${url} describes ${envelope}`);
        // Every error answer is one described response, over the surface's envelope.
        for (const { path, method, op } of operationsOf(doc)) {
          for (const [status, response] of Object.entries(op.responses)) {
            if (Number(status) < 400) continue;
            assert.match(String(response.$ref), /^#\/components\/responses\/\w+$/, `${url} ${method} ${path} ${status}`);
            const shared = doc.components.responses[response.$ref!.split('/').pop()!] as { content: Record<string, { schema: { $ref: string } }> };
            assert.equal(shared.content['application/json'].schema.$ref, `#/components/schemas/${envelope}`);
          }
        }
      }
      const hcl = docs.get('/hcl/openapi.json')!.body as Document & { components: { securitySchemes: { authKey: object } } };
      assert.deepEqual(hcl.components.securitySchemes.authKey, {
        type: 'apiKey',
        in: 'header',
        name: 'authKey',
        description: 'A propdict tenant API key',
      });
    });

    test('the native document covers /v1 only; the vendor ones their own paths', () => {
      const prefixes: Record<string, RegExp> = {
        '/openapi.json': /^\/v1\//,
        '/ocamba/openapi.json': /^\/v1\/hood\/profile-properties/,
        '/hcl/openapi.json': /^\/api\/campaign-data-dictionary/,
        '/lineworks/openapi.json': /^\/v1\.0\/contacts\/custom-properties/,
        '/segment/openapi.json': /^\/v1\/(identify|track|page|screen|group|alias|batch|import)$/,
      };
      for (const [url, { body }] of docs) {
        assert.ok(Object.keys(body.paths).length > 0, url);
        for (const path of Object.keys(body.paths)) assert.match(path, prefixes[url], `${url}: ${path}`);
      }
      // Every native route of the app is described.
      const described = new Set(operationsOf(docs.get('/openapi.json')!.body).map(({ path, method }) => `${method.toUpperCase()} ${path}`));
      for (const route of t.routes.filter((r) => r.url.startsWith('/v1/') && r.method !== 'HEAD')) {
        assert.ok(described.has(`${route.method} ${route.url.replace(/:(\w+)/g, '{$1}')}`), `${route.method} ${route.url} is described`);
      }
    });

    test('every operation has an id, a summary, described tags, and the scope it needs in its security and its words', () => {
      const needs = new Map(t.routes.map((r) => [`${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`, r.auth]));
      const prefixOf: Record<string, string> = { '/openapi.json': '', '/ocamba/openapi.json': '/ocamba', '/hcl/openapi.json': '/hcl', '/lineworks/openapi.json': '/lineworks' };
      for (const [url, { body }] of docs) {
        const tags = new Set((body.tags as { name: string; description: string }[]).map((tag) => tag.name));
        for (const { path, method, op } of operationsOf(body)) {
          const where = `${url} ${method} ${path}`;
          assert.match(String(op.operationId), /^[a-z][A-Za-z]+$/, where);
          assert.ok(op.summary, where);
          for (const tag of op.tags ?? []) assert.ok(tags.has(tag), `${where}: tag ${tag}`);
          if (url === '/segment/openapi.json') continue; // the write key has no scopes
          const need = needs.get(`${method.toUpperCase()} ${prefixOf[url]}${path}`);
          assert.ok(need, where);
          const scheme = Object.keys(op.security![0])[0];
          if (need === 'any') assert.deepEqual(op.security, [{ [scheme]: [] }], where);
          else assert.deepEqual(op.security, [{ [scheme]: [need] }], where);
          const sentence = need === 'operator' ? 'Only the operator token (`PROPDICT_ADMIN_TOKEN`) may call this.' : need === 'any' ? 'Any valid key may call this.' : `Needs the \`${need}\` scope.`;
          assert.ok(op.description?.endsWith(sentence), `${where}: ${op.description}`);
          if (need !== 'operator' && need !== 'any') assert.ok((SCOPES as readonly string[]).includes(need!), where);
        }
      }
    });

    test('operation ids follow the method and the path, unless a route names its own', () => {
      const table = [
        { doc: '/openapi.json', route: 'GET /v1/tenants', expected: 'listTenants' },
        { doc: '/openapi.json', route: 'POST /v1/tenants', expected: 'createTenant' },
        { doc: '/openapi.json', route: 'GET /v1/tenants/{tenant_id}', expected: 'getTenant' },
        { doc: '/openapi.json', route: 'DELETE /v1/tenants/{tenant_id}/api-keys/{key_id}', expected: 'deleteApiKey' },
        { doc: '/openapi.json', route: 'GET /v1/workspaces/{ws}/properties', expected: 'listProperties' },
        { doc: '/openapi.json', route: 'POST /v1/workspaces/{ws}/properties', expected: 'createProperty' },
        { doc: '/openapi.json', route: 'PATCH /v1/workspaces/{ws}/properties/{name}', expected: 'updateProperty' },
        { doc: '/openapi.json', route: 'GET /v1/workspaces/{ws}/properties/{name}/history', expected: 'listPropertyHistory' },
        { doc: '/openapi.json', route: 'PUT /v1/workspaces/{ws}/profiles/{id}', expected: 'replaceProfile' },
        { doc: '/openapi.json', route: 'POST /v1/workspaces/{ws}/sources/{id}/write-keys', expected: 'createSourceWriteKey' },
        { doc: '/openapi.json', route: 'POST /v1/workspaces/{ws}/properties/{name}/restore', expected: 'restoreProperty' },
        { doc: '/openapi.json', route: 'GET /v1/workspaces/{ws}/profiles', expected: 'searchProfiles' },
        { doc: '/openapi.json', route: 'POST /v1/workspaces/{ws}/profiles/batch', expected: 'upsertProfiles' },
        { doc: '/openapi.json', route: 'GET /v1/me', expected: 'getMe' },
        { doc: '/ocamba/openapi.json', route: 'DELETE /v1/hood/profile-properties/{id}', expected: 'deleteHoodProfileProperty' },
        { doc: '/lineworks/openapi.json', route: 'POST /v1.0/contacts/custom-properties', expected: 'createContactsCustomProperty' },
        { doc: '/hcl/openapi.json', route: 'GET /api/campaign-data-dictionary/campaignId/{campaignId}', expected: 'listUserProperties' },
        { doc: '/segment/openapi.json', route: 'POST /v1/identify', expected: 'identify' },
      ];
      for (const { doc, route, expected } of table) {
        const [method, path] = route.split(' ');
        assert.equal(docs.get(doc)!.body.paths[path]?.[method.toLowerCase()]?.operationId, expected, `${doc} ${route}`);
      }
    });

    test('response headers are described: X-Request-Id everywhere, ETag, Location, rate limits and Retry-After where sent', () => {
      const native = docs.get('/openapi.json')!.body as Document & { components: { responses: Record<string, { headers: Record<string, unknown> }>; headers: Record<string, unknown> } };
      const headersOf = (path: string, method: string, status: string) => Object.keys(native.paths[path][method].responses[status].headers ?? {});
      const property = '/v1/workspaces/{ws}/properties/{name}';
      const table = [
        { title: 'create a property', at: ['/v1/workspaces/{ws}/properties', 'post', '201'], expected: ['X-Request-Id', 'RateLimit-Policy', 'RateLimit', 'Location', 'ETag'] },
        { title: 'read a property', at: [property, 'get', '200'], expected: ['X-Request-Id', 'RateLimit-Policy', 'RateLimit', 'ETag'] },
        { title: 'change a property', at: [property, 'patch', '200'], expected: ['X-Request-Id', 'RateLimit-Policy', 'RateLimit', 'ETag'] },
        { title: 'create a profile', at: ['/v1/workspaces/{ws}/profiles', 'post', '201'], expected: ['X-Request-Id', 'RateLimit-Policy', 'RateLimit', 'Location'] },
        { title: 'search profiles', at: ['/v1/workspaces/{ws}/profiles', 'get', '200'], expected: ['X-Request-Id', 'RateLimit-Policy', 'RateLimit'] },
      ];
      for (const { title, at, expected } of table) assert.deepEqual(headersOf(at[0], at[1], at[2]), expected, title);
      assert.deepEqual(Object.keys(native.components.responses.TooManyRequests.headers), ['X-Request-Id', 'Retry-After', 'RateLimit-Policy', 'RateLimit']);
      assert.deepEqual(Object.keys(native.components.responses.Unavailable.headers), ['X-Request-Id', 'Retry-After']);
      assert.deepEqual(Object.keys(native.components.headers).sort(), ['Content-Disposition', 'ETag', 'Location', 'RateLimit', 'RateLimit-Policy', 'Retry-After', 'X-Request-Id', 'X-Total-Count']);
      assert.deepEqual(headersOf('/v1/workspaces/{ws}/profiles/export', 'get', '200'), ['X-Request-Id', 'RateLimit-Policy', 'RateLimit', 'X-Total-Count']);
      const exportFilter = native.paths['/v1/workspaces/{ws}/profiles/export'].get.parameters!.find((p) => p.name === 'filter');
      assert.deepEqual([exportFilter?.in, exportFilter?.style, exportFilter?.explode], ['query', 'deepObject', true]);
      const ifMatch = native.paths[property].patch.parameters!.find((p) => p.in === 'header');
      assert.equal(ifMatch?.name, 'if-match');
      const ocamba = docs.get('/ocamba/openapi.json')!.body;
      assert.deepEqual(Object.keys(ocamba.paths['/v1/hood/profile-properties'].post.responses['201'].headers ?? {}), [
        'X-Request-Id',
        'X-RateLimit-Limit',
        'X-RateLimit-Remaining',
        'X-RateLimit-Reset',
        'Location',
      ]);
    });

    test('the import upload describes its raw body (CSV and NDJSON) and its options; the export its answer types', () => {
      const native = docs.get('/openapi.json')!.body as unknown as {
        paths: Record<string, Record<string, Operation & { requestBody?: { required: boolean; content: Record<string, { schema: { type: string } }> } }>>;
      };
      const upload = native.paths['/v1/workspaces/{ws}/imports'].post;
      assert.equal(upload.requestBody?.required, true);
      assert.deepEqual(Object.keys(upload.requestBody?.content ?? {}), ['text/csv', 'application/x-ndjson', 'application/ndjson']);
      for (const [media, { schema }] of Object.entries(upload.requestBody!.content)) assert.equal(schema.type, 'string', media);
      const query = upload.parameters!.filter((p) => p.in === 'query');
      assert.deepEqual(query.map((p) => p.name), ['format', 'mode', 'dry_run', 'source', 'delimiter']);
      for (const p of query) assert.ok(p.description, `${p.name} is described`);
      assert.deepEqual(Object.keys(upload.responses), ['202', '400', '401', '403', '404', '409', '413', '415', '429', '500', '503']);
      const exported = native.paths['/v1/workspaces/{ws}/profiles/export'].get.responses['200'] as { content?: Record<string, unknown> };
      assert.deepEqual(Object.keys(exported.content ?? {}), ['text/csv', 'application/x-ndjson']);
      const errors = native.paths['/v1/workspaces/{ws}/imports/{id}/errors'].get.responses['200'] as { content?: Record<string, unknown> };
      assert.deepEqual(Object.keys(errors.content ?? {}), ['text/csv']);
    });

    test('the search filter is a deepObject parameter, and placeholders are in code spans so /docs shows them', () => {
      const search = docs.get('/openapi.json')!.body.paths['/v1/workspaces/{ws}/profiles'].get;
      const filter = search.parameters!.find((p) => p.name === 'filter');
      assert.deepEqual([filter?.in, filter?.style, filter?.explode], ['query', 'deepObject', true]);
      assert.ok(search.description!.includes('`filter[<property>][<op>]=<value>`'), search.description);
      // Markdown and the page's HTML sanitiser drop `<word>` outside code: none may be left there.
      for (const [url, { body }] of docs) {
        for (const { at, text } of markdownIn(body)) {
          const outsideCode = text.replace(/`[^`]*`/g, '');
          assert.doesNotMatch(outsideCode, /<[A-Za-z/!]/, `${url} ${at}: ${text}`);
        }
      }
    });

    test('a client generated by openapi-typescript type-checks without casts and works against a listening server (and every document generates types)', async () => {
      // Inside the project, so that the script and tsc find openapi-fetch in its node_modules.
      const dir = await mkdtemp(join(ROOT, '.openapi-client-'));
      try {
        await writeFile(join(dir, 'native-api.ts'), astToString(await openapiTS(docs.get('/openapi.json')!.raw)));
        // The vendors' documents generate types that compile too.
        for (const vendor of ['ocamba', 'hcl', 'lineworks', 'segment']) {
          await writeFile(join(dir, `${vendor}-api.ts`), astToString(await openapiTS(docs.get(`/${vendor}/openapi.json`)!.raw)));
        }
        await copyFile(join(ROOT, 'test/fixtures/openapi-client/native-client.ts'), join(dir, 'native-client.ts'));
        await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../tsconfig.json', include: ['*.ts'], exclude: [] }));
        const checked = await run(process.execPath, [bin('typescript/bin/tsc'), '-p', dir], { cwd: dir }).catch((error: { code?: number; stdout?: string }) => error);
        assert.equal(checked.stdout, '', `tsc found problems:\n${checked.stdout}`);
        const code = (await readFile(join(dir, 'native-client.ts'), 'utf8')).replace(/\/\/.*$/gm, '');
        assert.doesNotMatch(code, /\sas\s|\bany\b|@ts-|!\./, 'no casts, no any, no non-null assertions');

        const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
        const { useTheApi } = (await import(join(dir, 'native-client.ts'))) as { useTheApi(base: string, token: string, ws: number): Promise<unknown> };
        const result = await useTheApi(address, a.token, a.workspaceId);
        assert.deepEqual(result, {
          created: { status: 201, name: 'loyalty_tier', version: 1, etag: '"1"', location: `/v1/workspaces/${a.workspaceId}/properties/loyalty_tier` },
          patched: { status: 200, displayName: 'Tier', etag: '"2"' },
          stale: { status: 412, code: 'PRECONDITION_FAILED' },
          found: { status: 200, ids: ['cust-1', 'cust-3'], next: null },
          refused: { status: 400, code: 'VALIDATION_FAILED', fields: ['filter[loyalty_tier][near]'] },
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
