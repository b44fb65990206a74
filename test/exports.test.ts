// Exports through the public API: columns by export alias, filters as in search, PII only when
// asked with pii:read, CSV and NDJSON, the row count up front, and a round trip through an
// import into a fresh workspace with the same dictionary.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { createTenancy, createTestApp, expectError, expectStatus, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

// An export alias is listed among the import aliases, so a file exported here imports back.
const PROPERTIES = [
  { name: 'account_email', data_type: 'email', identity: { role: 'primary' }, export_alias: 'Email Address', import_aliases: ['Email Address'] },
  { name: 'visits', data_type: 'integer' },
  { name: 'ratio', data_type: 'number' },
  { name: 'active', data_type: 'boolean' },
  { name: 'joined', data_type: 'date' },
  { name: 'stage', data_type: 'enum', options: [{ value: 'lead' }, { value: 'customer' }] },
  { name: 'labels', data_type: 'string', multi_valued: true },
  { name: 'settings', data_type: 'json' },
  { name: 'mobile_pii', data_type: 'phone', pii: true },
  { name: 'scratch', data_type: 'string', exportable: false },
];

const PROFILES = [
  { id: 'x-1', properties: { account_email: 'one@example.com', visits: 3, ratio: 0.25, active: true, joined: '2025-01-02', stage: 'lead', labels: ['a', 'b c'], settings: { dark: true }, mobile_pii: '+381641111111', scratch: 's' } },
  { id: 'x-2', properties: { account_email: 'two@example.com', visits: 10, labels: ['semi;colon', 'plain'], stage: 'customer' } },
  { id: 'x-3', properties: { visits: 0, active: false, labels: [' padded'] } },
];

for (const dialect of dialects) {
  describe(`exports [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let base: string;
    const get = (url: string, token = a.token, headers: Record<string, string> = {}) => t.request({ method: 'GET', url: `${base}${url}`, token, headers });

    async function define(ws: string, token: string) {
      for (const p of PROPERTIES) expectStatus(await t.request({ method: 'POST', url: `${ws}/properties`, token, payload: p }), 201);
    }

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t, 'Exports');
      base = `/v1/workspaces/${a.workspaceId}`;
      await define(base, a.token);
      for (const p of PROFILES) expectStatus(await t.request({ method: 'PUT', url: `${base}/profiles/${p.id}`, token: a.token, payload: { properties: p.properties } }), 201);
    });
    after(() => t.close());

    test('CSV: id first, export aliases, exportable properties without PII, values as cells, the count up front', async () => {
      const res = await get('/profiles/export?format=csv');
      expectStatus(res, 200);
      assert.match(String(res.headers['content-type']), /^text\/csv/);
      assert.equal(res.headers['x-total-count'], '3');
      const rows = parse(res.raw) as string[][];
      const header = rows[0];
      // System properties come too; every row has as many cells as the header.
      assert.equal(header[0], 'id');
      assert.ok(header.includes('Email Address') && !header.includes('account_email'), header.join());
      assert.ok(!header.includes('mobile_pii') && !header.includes('scratch'), header.join());
      assert.equal(rows.length, 4);
      const at = (row: string[], name: string) => row[header.indexOf(name)];
      const one = rows.find((r) => r[0] === 'x-1')!;
      assert.deepEqual(
        ['Email Address', 'visits', 'ratio', 'active', 'joined', 'stage', 'labels', 'settings'].map((n) => at(one, n)),
        ['one@example.com', '3', '0.25', 'true', '2025-01-02', 'lead', 'a;b c', '{"dark":true}'],
      );
      const two = rows.find((r) => r[0] === 'x-2')!;
      assert.equal(at(two, 'labels'), '["semi;colon","plain"]', 'an item holding ; is kept as a JSON array');
      assert.equal(at(rows.find((r) => r[0] === 'x-3')!, 'Email Address'), '');
    });

    test('Accept: text/csv gives CSV; Accept: application/x-ndjson gives NDJSON with typed values', async () => {
      const csv = await get('/profiles/export', a.token, { accept: 'text/csv' });
      expectStatus(csv, 200);
      assert.match(String(csv.headers['content-type']), /^text\/csv/);
      const nd = await get('/profiles/export?properties=account_email,labels,visits', a.token, { accept: 'application/x-ndjson' });
      expectStatus(nd, 200);
      assert.match(String(nd.headers['content-type']), /^application\/x-ndjson/);
      assert.equal(nd.headers['x-total-count'], '3');
      const lines = nd.raw.trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(lines, [
        { id: 'x-1', 'Email Address': 'one@example.com', labels: ['a', 'b c'], visits: 3 },
        { id: 'x-2', 'Email Address': 'two@example.com', labels: ['semi;colon', 'plain'], visits: 10 },
        { id: 'x-3', labels: [' padded'], visits: 0 },
      ]);
    });

    test('filters as in search, and properties= choosing columns in their order (a non-exportable one too)', async () => {
      const res = await get('/profiles/export?format=csv&filter[visits][gte]=3&properties=scratch,visits');
      expectStatus(res, 200);
      assert.equal(res.headers['x-total-count'], '2');
      assert.equal(res.raw, 'id,scratch,visits\nx-1,s,3\nx-2,,10\n');
    });

    test('PII: only with include_pii=true from a key with pii:read; 403 otherwise', async () => {
      const withPii = await get('/profiles/export?format=csv&include_pii=true&properties=mobile_pii');
      expectStatus(withPii, 200);
      assert.equal(withPii.raw, 'id,mobile_pii\nx-1,+381641111111\nx-2,\nx-3,\n');
      const reader = await a.key(['profiles:read']);
      const refused = await get('/profiles/export?include_pii=true', reader.token);
      expectError(refused, 403, 'FORBIDDEN');
      assert.match(refused.body.error.message, /pii:read/);
      const named = await get('/profiles/export?properties=mobile_pii', reader.token);
      const details = expectError(named, 400, 'VALIDATION_FAILED');
      assert.deepEqual(details, [{ field: 'properties', problem: '"mobile_pii" is PII: export it with include_pii=true' }]);
      const plain = await get('/profiles/export?format=csv', reader.token);
      expectStatus(plain, 200);
      assert.doesNotMatch(plain.raw, /\+381641111111/);
    });

    test('bad requests: an unknown property, an unknown parameter, a bad filter', async () => {
      const cases: { url: string; field: string; problem: RegExp }[] = [
        { url: '/profiles/export?properties=nope', field: 'properties', problem: /names no live property/ },
        { url: '/profiles/export?color=red', field: 'color', problem: /is not a known parameter/ },
        { url: '/profiles/export?filter[visits][gte]=many', field: 'filter[visits][gte]', problem: /must be a number/ },
        { url: '/profiles/export?filter[nope][eq]=1', field: 'filter[nope][eq]', problem: /names no property/ },
      ];
      for (const c of cases) {
        const details = expectError(await get(c.url), 400, 'VALIDATION_FAILED');
        assert.ok(details.some((d) => d.field === c.field && c.problem.test(d.problem)), `${c.url}: ${JSON.stringify(details)}`);
      }
    });

    test('a page at a time: more profiles than one page come whole and in id order', async () => {
      const b = await createTenancy(t, 'Many');
      const ws = `/v1/workspaces/${b.workspaceId}`;
      expectStatus(await t.request({ method: 'POST', url: `${ws}/properties`, token: b.token, payload: { name: 'n', data_type: 'integer' } }), 201);
      for (let i = 0; i < 1300; i += 1000) {
        const inputs = Array.from({ length: Math.min(1000, 1300 - i) }, (_, k) => ({ id: `m-${String(i + k).padStart(5, '0')}`, properties: { n: i + k } }));
        expectStatus(await t.request({ method: 'POST', url: `${ws}/profiles/batch`, token: b.token, payload: { inputs } }), 200);
      }
      const res = await t.request({ method: 'GET', url: `${ws}/profiles/export?format=ndjson&properties=n`, token: b.token });
      expectStatus(res, 200);
      assert.equal(res.headers['x-total-count'], '1300');
      const lines = res.raw.trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(lines.length, 1300);
      assert.deepEqual(lines[0], { id: 'm-00000', n: 0 });
      assert.deepEqual(lines[1299], { id: 'm-01299', n: 1299 });
    });

    test('one snapshot: a profile written while an export runs is not in it, and the count matches the rows', async () => {
      // Read a page of one profile at a time through the service, so that the write lands between pages.
      const result = await t.services.imports.export(a.workspaceId, { format: 'ndjson', filters: [], includePii: false, piiReadable: true, pageSize: 1 });
      const first = await result.pages.next();
      assert.deepEqual((first.value as { id: string }[]).map((r) => r.id), ['x-1']);
      // On SQLite the write waits for the export's transaction; on PostgreSQL it commits at once.
      const write = t.request({ method: 'PUT', url: `${base}/profiles/x-2a-late`, token: a.token, payload: { properties: { visits: 1 } } });
      if (dialect.name === 'postgres') expectStatus(await write, 201);
      const rest: string[] = [];
      for await (const page of result.pages) rest.push(...(page as { id: string }[]).map((r) => r.id));
      assert.deepEqual(rest, ['x-2', 'x-3']);
      assert.equal(result.total, 3);
      expectStatus(await write, 201);
      const after = await get('/profiles/export?format=ndjson&properties=visits');
      assert.equal(after.headers['x-total-count'], '4');
      expectStatus(await t.request({ method: 'DELETE', url: `${base}/profiles/x-2a-late`, token: a.token }), 204);
    });

    for (const format of ['csv', 'ndjson'] as const) {
      test(`a round trip (${format}): export, import into a fresh workspace with the same dictionary, the same profiles`, async () => {
        const fresh = await createTenancy(t, `Round ${format}`);
        const ws = `/v1/workspaces/${fresh.workspaceId}`;
        await define(ws, fresh.token);
        const exported = await get(`/profiles/export?format=${format}&include_pii=true&properties=${PROPERTIES.map((p) => p.name).join(',')}`);
        expectStatus(exported, 200);
        const type = format === 'csv' ? 'text/csv' : 'application/x-ndjson';
        const imported = await t.request({ method: 'POST', url: `${ws}/imports`, token: fresh.token, payload: exported.raw, headers: { 'content-type': type } });
        expectStatus(imported, 202);
        await t.jobRunner.drain();
        const done = await t.request({ method: 'GET', url: `${ws}/imports/${imported.body.id}`, token: fresh.token });
        assert.deepEqual([done.body.status, done.body.counts], ['done', { created: 3, updated: 0, merged: 0, rejected: 0, unchanged: 0 }], done.raw);
        for (const p of PROFILES) {
          const original = await get(`/profiles/${p.id}`);
          const copy = await t.request({ method: 'GET', url: `${ws}/profiles/${p.id}`, token: fresh.token });
          expectStatus(copy, 200);
          assert.deepEqual(copy.body.properties, original.body.properties);
        }
        // Again: every row now matches and changes nothing.
        const again = await t.request({ method: 'POST', url: `${ws}/imports`, token: fresh.token, payload: exported.raw, headers: { 'content-type': type } });
        await t.jobRunner.drain();
        const second = await t.request({ method: 'GET', url: `${ws}/imports/${again.body.id}`, token: fresh.token });
        assert.deepEqual(second.body.counts, { created: 0, updated: 0, merged: 0, rejected: 0, unchanged: 3 }, second.raw);
      });
    }
  });
}

// SQLite on a file, as several server processes share it: an export's snapshot takes no write lock.
describe('an export on a SQLite file [sqlite]', () => {
  test('another connection writes while an export reads its snapshot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'propdict-export-lock-'));
    const file = join(dir, 'x.db');
    const t = await createTestApp({ name: 'sqlite', fresh: async () => ({ url: `sqlite:${file}`, drop: async () => {} }) });
    try {
      const a = await createTenancy(t, 'Lock');
      const base = `/v1/workspaces/${a.workspaceId}`;
      for (const id of ['l-1', 'l-2']) expectStatus(await t.request({ method: 'PUT', url: `${base}/profiles/${id}`, token: a.token, payload: { properties: {} } }), 201);
      const result = await t.services.imports.export(a.workspaceId, { format: 'ndjson', filters: [], includePii: false, piiReadable: true, pageSize: 1 });
      assert.deepEqual((await result.pages.next()).value, [{ id: 'l-1' }]);
      // Another process's connection: with no wait at all for a lock, its write goes through.
      const other = new DatabaseSync(file);
      other.exec('PRAGMA busy_timeout = 0');
      other.prepare('insert into profiles (workspace_id, id, created_at, updated_at) values (?, ?, ?, ?)').run(a.workspaceId, 'l-1a', '2026-11-30T00:00:00.000Z', '2026-11-30T00:00:00.000Z');
      other.close();
      const rest: unknown[] = [];
      for await (const page of result.pages) rest.push(...page);
      assert.deepEqual(rest, [{ id: 'l-2' }], 'the row written meanwhile is not in the snapshot');
      assert.equal(result.total, 2);
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the snapshot reads through a connection of its own: each exported value is the one a read of the profile gives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'propdict-export-values-'));
    const t = await createTestApp({ name: 'sqlite', fresh: async () => ({ url: `sqlite:${join(dir, 'x.db')}`, drop: async () => {} }) });
    try {
      const a = await createTenancy(t, 'Values');
      const base = `/v1/workspaces/${a.workspaceId}`;
      for (const p of PROPERTIES) expectStatus(await t.request({ method: 'POST', url: `${base}/properties`, token: a.token, payload: p }), 201);
      for (const p of PROFILES) expectStatus(await t.request({ method: 'PUT', url: `${base}/profiles/${p.id}`, token: a.token, payload: { properties: p.properties } }), 201);
      const names = PROPERTIES.filter((p) => p.exportable !== false).map((p) => p.name);
      const res = await t.request({ method: 'GET', url: `${base}/profiles/export?format=ndjson&include_pii=true&properties=${names.join(',')}`, token: a.token });
      expectStatus(res, 200);
      const lines = res.raw.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(lines.map((l) => l.id), PROFILES.map((p) => p.id), res.raw);
      for (const line of lines) {
        const read = await t.request({ method: 'GET', url: `${base}/profiles/${String(line.id)}`, token: a.token });
        const expected = Object.fromEntries(PROPERTIES.filter((p) => names.includes(p.name) && read.body.properties[p.name] !== undefined).map((p) => [p.export_alias ?? p.name, read.body.properties[p.name]]));
        assert.deepEqual(line, { id: line.id, ...expected }, res.raw);
      }
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
