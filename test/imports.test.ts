// Imports through the public API: uploads of CSV and NDJSON, columns mapped by the dictionary,
// modes, dry runs, the job's bounded steps and its counts, the error report, cancel and list.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createJobRunner } from '../src/modules/jobs/job-runner.ts';
import { createTenancy, createTestApp, expectError, expectStatus, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';
import { manualClock } from './helpers/segment.ts';

const PROPERTIES = [
  { name: 'work_email', data_type: 'email', identity: { role: 'primary' }, import_aliases: ['E-mail', 'mail'] },
  { name: 'crm_id', data_type: 'string', identity: { role: 'primary', priority: 2 } },
  { name: 'nickname', data_type: 'string', import_aliases: ['First Name'] },
  { name: 'age', data_type: 'integer' },
  { name: 'score', data_type: 'number' },
  { name: 'vip', data_type: 'boolean' },
  { name: 'birthday', data_type: 'date' },
  { name: 'plan', data_type: 'enum', options: [{ value: 'free' }, { value: 'pro' }] },
  { name: 'tags', data_type: 'string', multi_valued: true },
  { name: 'lucky', data_type: 'integer', multi_valued: true },
  { name: 'secret_phone', data_type: 'phone', pii: true },
  { name: 'internal_note', data_type: 'string', importable: false },
];

for (const dialect of dialects) {
  describe(`imports [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let base: string;
    const clock = manualClock('2026-11-30T00:00:00.000Z');

    const upload = (body: string | Buffer, query = '', type = 'text/csv', token = a.token) =>
      t.request({ method: 'POST', url: `${base}/imports${query}`, token, payload: body, headers: { 'content-type': type } });
    const get = (url: string, token = a.token) => t.request({ method: 'GET', url: `${base}${url}`, token });

    /** Uploads, runs the job to its end, and answers the finished import. */
    async function imported(body: string | Buffer, query = '', type = 'text/csv') {
      const res = await upload(body, query, type);
      expectStatus(res, 202);
      await t.jobRunner.drain();
      const done = await get(`/imports/${res.body.id}`);
      expectStatus(done, 200);
      return done.body;
    }

    before(async () => {
      t = await createTestApp(dialect, { clock });
      a = await createTenancy(t, 'Imports');
      base = `/v1/workspaces/${a.workspaceId}`;
      for (const p of PROPERTIES) expectStatus(await t.request({ method: 'POST', url: `${base}/properties`, token: a.token, payload: p }), 201);
      expectStatus(await t.request({ method: 'POST', url: `${base}/sources`, token: a.token, payload: { name: 'crm', priority: 1 } }), 201);
    });
    after(() => t.close());

    test('a CSV with alias headers, a BOM, quoted commas and newlines: columns mapped, cells typed, counts kept', async () => {
      const csv =
        '\uFEFFE-mail,First Name,age,score,vip,birthday,plan,tags,lucky,internal_note,shoe_size\r\n' +
        'ann@example.com,"Ann, the first",34,1.5,true,1990-02-03,pro,a;b; c,"[1,2]",secret,44\r\n' +
        'bob@example.com,"Bob\nsecond line",,,,,,,,,\r\n';
      const res = await upload(csv);
      expectStatus(res, 202);
      assert.equal(res.body.status, 'queued');
      assert.deepEqual(res.body.progress, { rows_done: 0, rows_total: 2, bytes_done: Buffer.byteLength(csv), bytes_total: Buffer.byteLength(csv) });
      assert.deepEqual(res.body.columns, [
        { column: 'E-mail', property: 'work_email' },
        { column: 'First Name', property: 'nickname' },
        { column: 'age', property: 'age' },
        { column: 'score', property: 'score' },
        { column: 'vip', property: 'vip' },
        { column: 'birthday', property: 'birthday' },
        { column: 'plan', property: 'plan' },
        { column: 'tags', property: 'tags' },
        { column: 'lucky', property: 'lucky' },
        { column: 'internal_note', property: null, reason: 'not_importable' },
        { column: 'shoe_size', property: null, reason: 'unknown' },
      ]);
      await t.jobRunner.drain();
      const done = await get(`/imports/${res.body.id}`);
      expectStatus(done, 200);
      assert.equal(done.body.status, 'done');
      assert.deepEqual(done.body.counts, { created: 2, updated: 0, merged: 0, rejected: 0, unchanged: 0 });
      assert.equal(done.body.progress.rows_done, 2);
      const found = await get('/profiles?filter[work_email][eq]=ann@example.com');
      expectStatus(found, 200);
      assert.deepEqual(found.body.data[0].properties, {
        age: 34,
        birthday: '1990-02-03',
        work_email: 'ann@example.com',
        nickname: 'Ann, the first',
        lucky: [1, 2],
        plan: 'pro',
        score: 1.5,
        tags: ['a', 'b', 'c'],
        vip: true,
      });
      const bob = await get('/profiles?filter[work_email][eq]=bob@example.com');
      assert.deepEqual(bob.body.data[0].properties, { work_email: 'bob@example.com', nickname: 'Bob\nsecond line' });
    });

    test('upsert again: an empty cell leaves the value, equal values are unchanged, identities match', async () => {
      const csv = 'work_email,age,nickname\nann@example.com,,Ann, the first\nbob@example.com,41,\n';
      // A row with more cells than the header is the row's problem, not the file's.
      const done = await imported(csv);
      assert.deepEqual(done.counts, { created: 0, updated: 1, merged: 0, rejected: 1, unchanged: 0 });
      const again = await imported('work_email,age\nbob@example.com,41\n');
      assert.deepEqual(again.counts, { created: 0, updated: 0, merged: 0, rejected: 0, unchanged: 1 });
      const bob = await get('/profiles?filter[work_email][eq]=bob@example.com');
      assert.deepEqual(bob.body.data[0].properties, { age: 41, work_email: 'bob@example.com', nickname: 'Bob\nsecond line' });
    });

    test('two primary identities of one row matching two profiles merge them', async () => {
      expectStatus(await t.request({ method: 'PUT', url: `${base}/profiles/m-1`, token: a.token, payload: { properties: { work_email: 'm1@example.com' } } }), 201);
      expectStatus(await t.request({ method: 'PUT', url: `${base}/profiles/m-2`, token: a.token, payload: { properties: { crm_id: 'CRM-2' } } }), 201);
      const done = await imported('work_email,crm_id\nm1@example.com,CRM-2\n');
      assert.deepEqual(done.counts, { created: 0, updated: 0, merged: 1, rejected: 0, unchanged: 0 });
    });

    test('modes: create rejects a row that matches, update one that matches none', async () => {
      const create = await imported('work_email,age\nann@example.com,1\nnew-c@example.com,2\n', '?mode=create');
      assert.deepEqual(create.counts, { created: 1, updated: 0, merged: 0, rejected: 1, unchanged: 0 });
      const update = await imported('work_email,age\nann@example.com,35\nnobody@example.com,2\n', '?mode=update');
      assert.deepEqual(update.counts, { created: 0, updated: 1, merged: 0, rejected: 1, unchanged: 0 });
      const report = await get(`/imports/${update.id}/errors`);
      expectStatus(report, 200);
      assert.match(String(report.headers['content-type']), /^text\/csv/);
      assert.equal(report.raw, 'row,column,property,problem,value\n2,,,properties matches no profile by its identities; mode update writes existing profiles only,\n');
    });

    test('a dry run checks every row and writes nothing', async () => {
      const done = await imported('work_email,age\ndry-1@example.com,5\ndry-2@example.com,old\n', '?dry_run=true');
      assert.equal(done.dry_run, true);
      assert.deepEqual(done.counts, { created: 1, updated: 0, merged: 0, rejected: 1, unchanged: 0 });
      const found = await get('/profiles?filter[work_email][eq]=dry-1@example.com');
      expectStatus(found, 200);
      assert.deepEqual(found.body.data, []);
    });

    test('the error report: row number, column, property, problem, the value; PII masked without pii:read', async () => {
      const done = await imported('id,work_email,age,plan,secret_phone\np-bad,not-an-email,12x,gold,call me\np-ok,ok@example.com,3,free,+381641234567\n');
      assert.deepEqual(done.counts, { created: 1, updated: 0, merged: 0, rejected: 1, unchanged: 0 });
      const lines = [
        '1,work_email,work_email,must be an email address,not-an-email',
        '1,age,age,"must be a number (got ""12x"")",12x',
        '1,plan,plan,"must be one of the options (free, pro)",gold',
      ];
      const full = await get(`/imports/${done.id}/errors`);
      expectStatus(full, 200);
      assert.equal(full.raw, ['row,column,property,problem,value', ...lines.slice(1, 2), ...lines.slice(0, 1), ...lines.slice(2), '1,secret_phone,secret_phone,"must be a phone number in E.164 form, such as +381641234567",call me', ''].join('\n'));
      const reader = await a.key(['profiles:read']);
      const masked = await get(`/imports/${done.id}/errors`, reader.token);
      expectStatus(masked, 200);
      assert.match(masked.raw, /1,secret_phone,secret_phone,"must be a phone number in E\.164 form, such as \+381641234567",\*\*\*\n$/);
      assert.doesNotMatch(masked.raw, /call me/);
    });

    test('the stored rows of a file are encrypted while they wait, and dropped once written', async () => {
      const res = await upload('id,secret_phone\nsealed-1,+381640000001\n');
      expectStatus(res, 202);
      const stored = await t.db.selectFrom('import_chunks').select('data').where('import_id', '=', res.body.id).execute();
      assert.equal(stored.length, 1);
      assert.doesNotMatch(stored[0].data, /381640000001|sealed-1/);
      await t.jobRunner.drain();
      const one = await get('/profiles/sealed-1');
      assert.equal(one.body.properties.secret_phone, '+381640000001');
      assert.deepEqual(await t.db.selectFrom('import_chunks').select('data').where('import_id', '=', res.body.id).execute(), []);
    });

    test('a source applies its priority; an unknown source is refused before the upload is read', async () => {
      const done = await imported('work_email,age\nsrc@example.com,9\n', '?source=crm');
      assert.equal(done.source, 'crm');
      const prov = await get('/profiles?filter[work_email][eq]=src@example.com');
      const id = prov.body.data[0].id;
      const one = await get(`/profiles/${id}?include=provenance`);
      assert.equal(one.body.provenance.age.source, 'crm');
      const details = expectError(await upload('work_email\nx@example.com\n', '?source=nope'), 400, 'VALIDATION_FAILED');
      assert.deepEqual(details, [{ field: 'source', problem: 'no data source "nope" in this workspace' }]);
    });

    test('NDJSON: typed values, the id key, unknown keys reported, line numbers in the report', async () => {
      const body = '{"id":"nd-1","mail":"nd1@example.com","age":7,"tags":["x","y"],"color":"red"}\n\n{"id":"nd-2","age":"seven"}\n';
      const done = await imported(body, '', 'application/x-ndjson');
      assert.equal(done.format, 'ndjson');
      assert.deepEqual(done.columns, [
        { column: 'id', property: null, reason: 'id' },
        { column: 'mail', property: 'work_email' },
        { column: 'age', property: 'age' },
        { column: 'tags', property: 'tags' },
        { column: 'color', property: null, reason: 'unknown' },
      ]);
      assert.deepEqual(done.counts, { created: 1, updated: 0, merged: 0, rejected: 1, unchanged: 0 });
      const one = await get('/profiles/nd-1');
      assert.deepEqual(one.body.properties, { age: 7, work_email: 'nd1@example.com', tags: ['x', 'y'] });
      const report = await get(`/imports/${done.id}/errors`);
      assert.equal(report.raw, 'row,column,property,problem,value\n3,age,age,must be an integer,seven\n');
    });

    test('a semicolon delimiter', async () => {
      const done = await imported('work_email;nickname\nsemi@example.com;"Semi; Colon"\n', '?delimiter=%3B');
      assert.deepEqual(done.counts, { created: 1, updated: 0, merged: 0, rejected: 0, unchanged: 0 });
      const found = await get('/profiles?filter[work_email][eq]=semi@example.com');
      assert.equal(found.body.data[0].properties.nickname, 'Semi; Colon');
    });

    test('the job works in bounded committed steps; after a stopped server another resumes at the cursor', async () => {
      const rows = Array.from({ length: 120 }, (_, i) => `step-${i}@example.com,${i}`).join('\n');
      const res = await upload(`work_email,age\n${rows}\n`);
      expectStatus(res, 202);
      const runner = () => createJobRunner({ db: t.db, clock, steps: t.services.jobs.steps, batchSize: 50, leaseMs: 10_000 });
      assert.equal(await runner().stepOnce(), false);
      const mid = await get(`/imports/${res.body.id}`);
      assert.deepEqual([mid.body.status, mid.body.progress.rows_done, mid.body.counts.created], ['running', 50, 50]);
      // While the first server's lease holds, nobody else takes the job; then another resumes.
      const second = runner();
      assert.equal(await second.stepOnce(), false);
      assert.equal((await get(`/imports/${res.body.id}`)).body.progress.rows_done, 50);
      clock.advance(10_001);
      await second.drain();
      const done = await get(`/imports/${res.body.id}`);
      assert.deepEqual([done.body.status, done.body.progress.rows_done, done.body.counts.created], ['done', 120, 120]);
      const job = await get(`/jobs/${done.body.job_id}`);
      expectStatus(job, 200);
      assert.deepEqual([job.body.type, job.body.status, job.body.progress], ['import', 'done', { done: 120, total: 120 }]);
    });

    test("an import's steps are sized as imports register them (250 rows first), not as other jobs' (500)", async () => {
      const rows = Array.from({ length: 300 }, (_, i) => `sized-${i}@example.com,${i}`).join('\n');
      const res = await upload(`work_email,age\n${rows}\n`);
      expectStatus(res, 202);
      const sized = createJobRunner({ db: t.db, clock, steps: t.services.jobs.steps, sizing: t.services.jobs.sizing, leaseMs: 10_000 });
      assert.equal(await sized.stepOnce(), false);
      const mid = await get(`/imports/${res.body.id}`);
      assert.deepEqual([mid.body.status, mid.body.progress.rows_done, mid.body.counts.created], ['running', 250, 250]);
      clock.advance(10_001);
      // Without the import's sizing, the runner's own first step (500) takes the rest at once.
      assert.equal(await createJobRunner({ db: t.db, clock, steps: t.services.jobs.steps, leaseMs: 10_000 }).stepOnce(), true);
      const done = await get(`/imports/${res.body.id}`);
      assert.deepEqual([done.body.status, done.body.progress.rows_done, done.body.counts.created], ['done', 300, 300]);
    });

    test('cancel: a queued import stops and writes nothing more; a finished one answers 409', async () => {
      const res = await upload('work_email\ncancel-1@example.com\n');
      expectStatus(res, 202);
      const cancelled = await t.request({ method: 'POST', url: `${base}/imports/${res.body.id}/cancel`, token: a.token });
      expectStatus(cancelled, 200);
      assert.deepEqual([cancelled.body.status, cancelled.body.reason], ['cancelled', 'cancelled on request; rows written before stay']);
      await t.jobRunner.drain();
      const after = await get(`/imports/${res.body.id}`);
      assert.deepEqual([after.body.status, after.body.progress.rows_done], ['cancelled', 0]);
      const found = await get('/profiles?filter[work_email][eq]=cancel-1@example.com');
      assert.deepEqual(found.body.data, []);
      const again = await t.request({ method: 'POST', url: `${base}/imports/${res.body.id}/cancel`, token: a.token });
      expectError(again, 409, 'CONFLICT');
      assert.match(again.body.error.message, /already cancelled/);
    });

    test('list: newest first, paged', async () => {
      const page = await get('/imports?limit=2');
      expectStatus(page, 200);
      assert.equal(page.body.data.length, 2);
      assert.equal(typeof page.body.next_cursor, 'string');
      const next = await get(`/imports?limit=2&cursor=${page.body.next_cursor}`);
      expectStatus(next, 200);
      assert.notEqual(next.body.data[0].id, page.body.data[0].id);
      assert.ok(page.body.data[0].created_at >= next.body.data[0].created_at);
    });

    test('an import of another workspace is not found', async () => {
      const b = await createTenancy(t, 'Other');
      const page = await get('/imports?limit=1');
      const res = await t.request({ method: 'GET', url: `/v1/workspaces/${b.workspaceId}/imports/${page.body.data[0].id}`, token: b.token });
      expectError(res, 404, 'NOT_FOUND');
    });
  });
}
