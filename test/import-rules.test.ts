// The rules of an import as tables, through the public API: how a CSV cell is read by its
// property's type, how a header maps to the dictionary, and what each kind of bad file answers
// (never a 5xx, never anything left behind).
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createTenancy, createTestApp, expectError, expectStatus, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

const PROPERTIES = [
  { name: 'n_int', data_type: 'integer' },
  { name: 'n_num', data_type: 'number' },
  { name: 'flag', data_type: 'boolean' },
  { name: 'day', data_type: 'date' },
  { name: 'moment', data_type: 'datetime' },
  { name: 'words', data_type: 'string', multi_valued: true },
  { name: 'counts', data_type: 'integer', multi_valued: true },
  { name: 'level', data_type: 'enum', options: [{ value: 'low' }, { value: 'high' }] },
  { name: 'blob', data_type: 'json' },
  { name: 'label', data_type: 'string', import_aliases: ['Tag Line'] },
  { name: 'hidden', data_type: 'string', importable: false },
  { name: 'gone', data_type: 'string' },
];

/** A cell of a property's column, and the value stored or the problem reported. */
const CELLS: { title: string; property: string; cell: string; expected: { value: unknown } | { problem: string } }[] = [
  { title: 'an integer from its text', property: 'n_int', cell: '12', expected: { value: 12 } },
  { title: 'an integer with spaces around it', property: 'n_int', cell: ' 12 ', expected: { value: 12 } },
  { title: 'a fraction is no integer', property: 'n_int', cell: '12.5', expected: { problem: 'must be an integer' } },
  { title: 'text is no number', property: 'n_int', cell: 'twelve', expected: { problem: 'must be a number (got "twelve")' } },
  { title: 'a number with an exponent', property: 'n_num', cell: '1.5e3', expected: { value: 1500 } },
  { title: 'a number without a leading digit', property: 'n_num', cell: '-.5', expected: { value: -0.5 } },
  { title: 'true', property: 'flag', cell: 'true', expected: { value: true } },
  { title: 'FALSE in capitals', property: 'flag', cell: 'FALSE', expected: { value: false } },
  { title: '1 is true', property: 'flag', cell: '1', expected: { value: true } },
  { title: '0 is false', property: 'flag', cell: '0', expected: { value: false } },
  { title: 'yes is no boolean', property: 'flag', cell: 'yes', expected: { problem: 'must be true or false (or 1 or 0)' } },
  { title: 'a date', property: 'day', cell: '2026-01-31', expected: { value: '2026-01-31' } },
  { title: 'a date that does not exist', property: 'day', cell: '2026-02-30', expected: { problem: 'is not a date that exists' } },
  { title: 'a date-time, normalised to UTC', property: 'moment', cell: '2026-01-31T10:00:00+01:00', expected: { value: '2026-01-31T09:00:00.000Z' } },
  { title: 'items split on ;, blanks dropped', property: 'words', cell: 'a; b;;c', expected: { value: ['a', 'b', 'c'] } },
  { title: 'items as a JSON array keep their ;', property: 'words', cell: '["a;b","c"]', expected: { value: ['a;b', 'c'] } },
  { title: 'integer items from their text', property: 'counts', cell: '1;2', expected: { value: [1, 2] } },
  { title: 'integer items in a JSON array', property: 'counts', cell: '[3,"4"]', expected: { value: [3, 4] } },
  { title: 'a bad item names its place', property: 'counts', cell: '1;x', expected: { problem: 'item 1 must be a number (got "x")' } },
  { title: 'a broken JSON array', property: 'counts', cell: '[1,', expected: { problem: 'must be a JSON array or items separated by ;' } },
  { title: 'an option', property: 'level', cell: 'high', expected: { value: 'high' } },
  { title: 'not an option', property: 'level', cell: 'mid', expected: { problem: 'must be one of the options (low, high)' } },
  { title: 'JSON', property: 'blob', cell: '{"a":[1,2]}', expected: { value: { a: [1, 2] } } },
  { title: 'broken JSON', property: 'blob', cell: '{a', expected: { problem: 'must be JSON' } },
  { title: 'text is kept as it is', property: 'label', cell: ' padded ', expected: { value: ' padded ' } },
];

/** A header, and how the import reports its columns. */
const HEADERS: { title: string; header: string; columns: { column: string; property: string | null; reason?: string }[] }[] = [
  { title: 'names case-insensitively', header: 'ID,N_Int', columns: [{ column: 'ID', property: null, reason: 'id' }, { column: 'N_Int', property: 'n_int' }] },
  { title: 'an import alias, case-insensitively', header: 'id,tag line', columns: [{ column: 'id', property: null, reason: 'id' }, { column: 'tag line', property: 'label' }] },
  { title: 'an unknown column is skipped and reported', header: 'id,shoe', columns: [{ column: 'id', property: null, reason: 'id' }, { column: 'shoe', property: null, reason: 'unknown' }] },
  { title: 'a column of a property not importable', header: 'id,hidden', columns: [{ column: 'id', property: null, reason: 'id' }, { column: 'hidden', property: null, reason: 'not_importable' }] },
  { title: 'a column of an archived property', header: 'id,gone', columns: [{ column: 'id', property: null, reason: 'id' }, { column: 'gone', property: null, reason: 'archived' }] },
];

for (const dialect of dialects) {
  describe(`import rules [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let base: string;
    const upload = (body: string | Buffer, type = 'text/csv', query = '') =>
      t.request({ method: 'POST', url: `${base}/imports${query}`, token: a.token, payload: body, headers: { 'content-type': type } });
    const get = (url: string) => t.request({ method: 'GET', url: `${base}${url}`, token: a.token });

    before(async () => {
      t = await createTestApp(dialect, { config: { importLimit: 16 * 1024 * 1024 } });
      a = await createTenancy(t, 'Rules');
      base = `/v1/workspaces/${a.workspaceId}`;
      for (const p of PROPERTIES) expectStatus(await t.request({ method: 'POST', url: `${base}/properties`, token: a.token, payload: p }), 201);
      expectStatus(await t.request({ method: 'DELETE', url: `${base}/properties/gone`, token: a.token }), 204);
    });
    after(() => t.close());

    for (const [i, c] of CELLS.entries()) {
      test(`a cell: ${c.title}`, async () => {
        const id = `cell-${i}`;
        const res = await upload(`id,${c.property}\n${id},"${c.cell.replaceAll('"', '""')}"\n`);
        expectStatus(res, 202);
        await t.jobRunner.drain();
        const done = await get(`/imports/${res.body.id}`);
        expectStatus(done, 200);
        if ('value' in c.expected) {
          assert.equal(done.body.counts.created, 1, JSON.stringify(done.body));
          const profile = await get(`/profiles/${id}`);
          expectStatus(profile, 200);
          assert.deepEqual(profile.body.properties, { [c.property]: c.expected.value });
        } else {
          assert.equal(done.body.counts.rejected, 1, JSON.stringify(done.body));
          const report = await get(`/imports/${res.body.id}/errors`);
          expectStatus(report, 200);
          const line = report.raw.split('\n')[1];
          assert.ok(line.startsWith(`1,${c.property},${c.property},`), report.raw);
          assert.ok(line.includes(c.expected.problem.replaceAll('"', '""')), `${report.raw} should name: ${c.expected.problem}`);
          expectError(await get(`/profiles/${id}`), 404, 'NOT_FOUND');
        }
      });
    }

    test('an empty cell leaves the stored value as it is', async () => {
      expectStatus(await t.request({ method: 'PUT', url: `${base}/profiles/keep-me`, token: a.token, payload: { properties: { n_int: 5, label: 'x' } } }), 201);
      const res = await upload('id,n_int,label\nkeep-me,,y\n');
      expectStatus(res, 202);
      await t.jobRunner.drain();
      const profile = await get('/profiles/keep-me');
      assert.deepEqual(profile.body.properties, { n_int: 5, label: 'y' });
    });

    for (const h of HEADERS) {
      test(`a header: ${h.title}`, async () => {
        const res = await upload(`${h.header}\n`);
        expectStatus(res, 202);
        assert.deepEqual(res.body.columns, h.columns);
      });
    }

    /** A bad file: its status, its code, and words the message holds. */
    const BAD: { title: string; body: string | Buffer; type?: string; query?: string; status: number; code: string; message: RegExp }[] = [
      { title: 'JSON is not a file to import', body: '{"a":1}', type: 'application/json', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: /text\/csv or application\/x-ndjson/ },
      { title: 'plain text is not a file to import', body: 'a,b', type: 'text/plain', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: /text\/csv or application\/x-ndjson/ },
      { title: 'format=ndjson on a CSV body', body: 'id\n', query: '?format=ndjson', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: /application\/x-ndjson/ },
      { title: 'an unbalanced quote', body: 'id,label\na,"open\nb,c\n', status: 400, code: 'VALIDATION_FAILED', message: /not valid CSV at line \d/ },
      { title: 'a quote inside an unquoted field', body: 'id,label\na,b"c\n', status: 400, code: 'VALIDATION_FAILED', message: /not valid CSV at line 2/ },
      { title: 'a record of 10 MB', body: `id,label\na,${'x'.repeat(10 * 1024 * 1024)}\n`, status: 400, code: 'VALIDATION_FAILED', message: /longer than 1048576 characters/ },
      { title: 'a header naming a column twice', body: 'id,label,LABEL\n', status: 400, code: 'VALIDATION_FAILED', message: /names a column twice/ },
      { title: 'two columns writing one property', body: 'id,label,tag line\n', status: 400, code: 'VALIDATION_FAILED', message: /two columns write one property/ },
      { title: 'bytes that are not UTF-8', body: Buffer.from([0x69, 0x64, 0x0a, 0xff, 0xfe, 0x0a]), status: 400, code: 'VALIDATION_FAILED', message: /not valid UTF-8/ },
      { title: 'a binary file', body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00, 0x0a]), status: 400, code: 'VALIDATION_FAILED', message: /NUL character|UTF-8/ },
      { title: 'an empty CSV file', body: '', status: 400, code: 'VALIDATION_FAILED', message: /empty/ },
      { title: 'an empty NDJSON file', body: '\n\n', type: 'application/x-ndjson', status: 400, code: 'VALIDATION_FAILED', message: /empty/ },
      { title: 'an NDJSON line that is not JSON', body: '{"id":"a"}\n{nope\n', type: 'application/x-ndjson', status: 400, code: 'VALIDATION_FAILED', message: /line 2 is not JSON/ },
      { title: 'an NDJSON line that is an array', body: '[1]\n', type: 'application/x-ndjson', status: 400, code: 'VALIDATION_FAILED', message: /line 1 is not a JSON object/ },
      { title: 'an NDJSON line of 10 MB', body: `{"label":"${'x'.repeat(10 * 1024 * 1024)}"}\n`, type: 'application/x-ndjson', status: 400, code: 'VALIDATION_FAILED', message: /line 1 is longer than/ },
      { title: 'a delimiter of two characters', body: 'id\n', query: '?delimiter=%3B%3B', status: 400, code: 'VALIDATION_FAILED', message: /not valid/ },
    ];
    for (const bad of BAD) {
      test(`a bad file: ${bad.title} → ${bad.status}, and nothing stays`, async () => {
        const before = await get('/imports?limit=1000');
        const res = await upload(bad.body, bad.type, bad.query);
        expectError(res, bad.status, bad.code);
        assert.match(res.body.error.message, bad.message, res.raw.slice(0, 500));
        const after = await get('/imports?limit=1000');
        assert.equal(after.body.data.length, before.body.data.length, 'no import is left behind');
      });
    }

    test('a file over PROPDICT_IMPORT_LIMIT → 413 naming the limit', async () => {
      const small = await createTestApp(dialect, { config: { importLimit: 2048 } });
      try {
        const b = await createTenancy(small, 'Small');
        const res = await small.request({ method: 'POST', url: `/v1/workspaces/${b.workspaceId}/imports`, token: b.token, payload: `id\n${'row\n'.repeat(1000)}`, headers: { 'content-type': 'text/csv' } });
        expectError(res, 413, 'PAYLOAD_TOO_LARGE');
        assert.match(res.body.error.message, /import limit of 2048 bytes/);
        const list = await small.request({ method: 'GET', url: `/v1/workspaces/${b.workspaceId}/imports`, token: b.token });
        assert.deepEqual(list.body.data, []);
      } finally {
        await small.close();
      }
    });

    test('an upload cut short by its client leaves nothing behind', async () => {
      const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = new URL(address);
      const ended = new Promise<void>((resolve) => {
        const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: `${base}/imports`, headers: { authorization: `Bearer ${a.token}`, 'content-type': 'text/csv', 'content-length': '1000000' } });
        req.on('error', () => resolve());
        req.on('close', () => resolve());
        req.write(`id,label\n${'cut,short\n'.repeat(5000)}`);
        setTimeout(() => req.destroy(), 200);
      });
      const before = await get('/imports?limit=1000');
      await ended;
      // The server notices the closed connection, then removes what it had read.
      for (let i = 0; i < 100; i++) {
        const now = await get('/imports?limit=1000');
        if (now.body.data.every((imp: { status: string }) => imp.status !== 'uploading')) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const after = await get('/imports?limit=1000');
      assert.ok(after.body.data.length <= before.body.data.length, after.raw);
      assert.ok(after.body.data.every((imp: { status: string }) => imp.status !== 'uploading'), after.raw);
      expectError(await get('/profiles/cut'), 404, 'NOT_FOUND');
    });
  });
}
