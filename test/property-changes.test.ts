// Definition changes with data, through the API: a preview counts what would convert and what
// would fail; a change runs as a job and lands the definition with its converted values at once
// (or leaves everything as it was); a PATCH that would break stored values is refused with the
// count and the way forward. Conversions as a table, run on every database.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { createJobRunner } from '../src/modules/jobs/job-runner.ts';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createTenancy, createTestApp, expectError, expectStatus, OPERATOR_TOKEN, TEST_ENCRYPTION_KEY, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

type Def = Record<string, unknown>;
interface Row {
  title: string;
  def: Def;
  /** Values by profile id (a missing profile holds none). */
  values: Record<string, unknown>;
  change: Def;
  on_failure: 'abort' | 'clear';
  preview: { profiles_with_values: number; convertible: number; failing: number };
  /** The job's end, and the values after it (absent: no value). */
  status: 'done' | 'failed';
  after: Record<string, unknown>;
  /** Fields of the definition after the job. */
  landed?: Def;
}

const ROWS: Row[] = [
  {
    title: 'string → integer, every value parses',
    def: { data_type: 'string' },
    values: { a: '1', b: ' 22 ', c: '-333' },
    change: { data_type: 'integer' },
    on_failure: 'abort',
    preview: { profiles_with_values: 3, convertible: 3, failing: 0 },
    status: 'done',
    after: { a: 1, b: 22, c: -333 },
    landed: { data_type: 'integer' },
  },
  {
    title: 'string → integer, abort: one value fails and nothing changes',
    def: { data_type: 'string' },
    values: { a: '1', b: 'x' },
    change: { data_type: 'integer' },
    on_failure: 'abort',
    preview: { profiles_with_values: 2, convertible: 1, failing: 1 },
    status: 'failed',
    after: { a: '1', b: 'x' },
    landed: { data_type: 'string' },
  },
  {
    title: 'string → integer, clear: the failing value is removed',
    def: { data_type: 'string' },
    values: { a: '1', b: 'x' },
    change: { data_type: 'integer' },
    on_failure: 'clear',
    preview: { profiles_with_values: 2, convertible: 1, failing: 1 },
    status: 'done',
    after: { a: 1 },
    landed: { data_type: 'integer' },
  },
  {
    title: 'string → number',
    def: { data_type: 'string' },
    values: { a: '1.5', b: '2e3' },
    change: { data_type: 'number' },
    on_failure: 'abort',
    preview: { profiles_with_values: 2, convertible: 2, failing: 0 },
    status: 'done',
    after: { a: 1.5, b: 2000 },
  },
  {
    title: 'string → phone, normalised to E.164 as a write would',
    def: { data_type: 'string' },
    values: { a: '+381 (64) 123-4567' },
    change: { data_type: 'phone' },
    on_failure: 'abort',
    preview: { profiles_with_values: 1, convertible: 1, failing: 0 },
    status: 'done',
    after: { a: '+381641234567' },
  },
  {
    title: 'string → email, lower-cased',
    def: { data_type: 'string' },
    values: { a: ' Ana@Example.COM' },
    change: { data_type: 'email' },
    on_failure: 'abort',
    preview: { profiles_with_values: 1, convertible: 1, failing: 0 },
    status: 'done',
    after: { a: 'ana@example.com' },
  },
  {
    title: 'string → boolean, date, clear what does not parse',
    def: { data_type: 'string' },
    values: { a: 'TRUE', b: 'maybe' },
    change: { data_type: 'boolean' },
    on_failure: 'clear',
    preview: { profiles_with_values: 2, convertible: 1, failing: 1 },
    status: 'done',
    after: { a: true },
  },
  {
    title: 'string → date: a date that does not exist fails',
    def: { data_type: 'string' },
    values: { a: '2024-02-29', b: '2023-02-29' },
    change: { data_type: 'date' },
    on_failure: 'clear',
    preview: { profiles_with_values: 2, convertible: 1, failing: 1 },
    status: 'done',
    after: { a: '2024-02-29' },
  },
  {
    title: 'string → datetime, normalised to UTC',
    def: { data_type: 'string' },
    values: { a: '2026-01-02T03:04:05+01:00', b: 'yesterday' },
    change: { data_type: 'datetime' },
    on_failure: 'clear',
    preview: { profiles_with_values: 2, convertible: 1, failing: 1 },
    status: 'done',
    after: { a: '2026-01-02T02:04:05.000Z' },
  },
  {
    title: 'string → link: only absolute http(s) URLs',
    def: { data_type: 'string' },
    values: { a: 'https://example.com/x', b: 'ftp://example.com' },
    change: { data_type: 'link' },
    on_failure: 'clear',
    preview: { profiles_with_values: 2, convertible: 1, failing: 1 },
    status: 'done',
    after: { a: 'https://example.com/x' },
  },
  {
    title: 'json → string, as its JSON text',
    def: { data_type: 'json' },
    values: { a: { tier: 'gold' }, b: 'plain' },
    change: { data_type: 'string' },
    on_failure: 'abort',
    preview: { profiles_with_values: 2, convertible: 2, failing: 0 },
    status: 'done',
    after: { a: '{"tier":"gold"}', b: 'plain' },
  },
  {
    title: 'boolean → string',
    def: { data_type: 'boolean' },
    values: { a: true, b: false },
    change: { data_type: 'string' },
    on_failure: 'abort',
    preview: { profiles_with_values: 2, convertible: 2, failing: 0 },
    status: 'done',
    after: { a: 'true', b: 'false' },
  },
  {
    title: 'date → text',
    def: { data_type: 'date' },
    values: { a: '2024-02-29' },
    change: { data_type: 'text' },
    on_failure: 'abort',
    preview: { profiles_with_values: 1, convertible: 1, failing: 0 },
    status: 'done',
    after: { a: '2024-02-29' },
  },
  {
    title: 'a PII string → phone: converted and stored encrypted again',
    def: { data_type: 'string', pii: true },
    values: { a: '+381 64 123 4567' },
    change: { data_type: 'phone' },
    on_failure: 'abort',
    preview: { profiles_with_values: 1, convertible: 1, failing: 0 },
    status: 'done',
    after: { a: '+381641234567' },
  },
  {
    title: 'string → enum through a value map',
    def: { data_type: 'string' },
    values: { a: 'Gold', b: 'silver' },
    change: { data_type: 'enum', options: [{ value: 'gold' }, { value: 'silver' }], value_map: { Gold: 'gold' } },
    on_failure: 'abort',
    preview: { profiles_with_values: 2, convertible: 2, failing: 0 },
    status: 'done',
    after: { a: 'gold', b: 'silver' },
  },
  {
    title: 'integer → number',
    def: { data_type: 'integer', merge_function: 'sum' },
    values: { a: 3 },
    change: { data_type: 'number' },
    on_failure: 'abort',
    preview: { profiles_with_values: 1, convertible: 1, failing: 0 },
    status: 'done',
    after: { a: 3 },
    landed: { data_type: 'number', merge_function: 'sum' },
  },
  {
    title: 'number → integer: only whole numbers convert',
    def: { data_type: 'number' },
    values: { a: 4, b: 4.5 },
    change: { data_type: 'integer' },
    on_failure: 'clear',
    preview: { profiles_with_values: 2, convertible: 1, failing: 1 },
    status: 'done',
    after: { a: 4 },
  },
  {
    title: 'any type → string (integer), the merge function back to update',
    def: { data_type: 'integer', merge_function: 'max' },
    values: { a: 12 },
    change: { data_type: 'string' },
    on_failure: 'abort',
    preview: { profiles_with_values: 1, convertible: 1, failing: 0 },
    status: 'done',
    after: { a: '12' },
    landed: { data_type: 'string', merge_function: 'update' },
  },
  {
    title: 'enum → text',
    def: { data_type: 'enum', options: [{ value: 'x' }] },
    values: { a: 'x' },
    change: { data_type: 'text' },
    on_failure: 'abort',
    preview: { profiles_with_values: 1, convertible: 1, failing: 0 },
    status: 'done',
    after: { a: 'x' },
    landed: { data_type: 'text', options: null },
  },
  {
    title: 'single → multi-valued',
    def: { data_type: 'string' },
    values: { a: 'x' },
    change: { multi_valued: true },
    on_failure: 'abort',
    preview: { profiles_with_values: 1, convertible: 1, failing: 0 },
    status: 'done',
    after: { a: ['x'] },
    landed: { multi_valued: true },
  },
  {
    title: 'multi → single-valued: an array of one becomes its item, two items fail',
    def: { data_type: 'string', multi_valued: true },
    values: { a: ['x'], b: ['y', 'z'] },
    change: { multi_valued: false },
    on_failure: 'clear',
    preview: { profiles_with_values: 2, convertible: 1, failing: 1 },
    status: 'done',
    after: { a: 'x' },
    landed: { multi_valued: false },
  },
  {
    title: 'multi-valued string → multi-valued integer, item by item',
    def: { data_type: 'string', multi_valued: true },
    values: { a: ['1', '2'], b: ['3', 'x'] },
    change: { data_type: 'integer' },
    on_failure: 'clear',
    preview: { profiles_with_values: 2, convertible: 1, failing: 1 },
    status: 'done',
    after: { a: [1, 2] },
  },
  {
    title: 'enum: an option renamed through the value map, one retired',
    def: { data_type: 'enum', options: [{ value: 'silver' }, { value: 'gold' }, { value: 'tin' }] },
    values: { a: 'silver', b: 'gold', c: 'tin' },
    change: { options: [{ value: 'standard' }, { value: 'gold' }], value_map: { silver: 'standard' } },
    on_failure: 'clear',
    preview: { profiles_with_values: 3, convertible: 2, failing: 1 },
    status: 'done',
    after: { a: 'standard', b: 'gold' },
  },
  {
    title: 'validation tightened below stored values',
    def: { data_type: 'string' },
    values: { a: 'short', b: 'much longer' },
    change: { validation: { max_length: 5 } },
    on_failure: 'clear',
    preview: { profiles_with_values: 2, convertible: 1, failing: 1 },
    status: 'done',
    after: { a: 'short' },
  },
  {
    title: 'unique turned on over duplicates, abort',
    def: { data_type: 'string' },
    values: { a: 'same', b: 'same', c: 'other' },
    change: { unique: true },
    on_failure: 'abort',
    preview: { profiles_with_values: 3, convertible: 2, failing: 1 },
    status: 'failed',
    after: { a: 'same', b: 'same', c: 'other' },
    landed: { unique: false },
  },
  {
    title: 'unique turned on over values that became equal (emails lower-cased), clear keeps the first',
    def: { data_type: 'string' },
    values: { a: 'ana@x.org', b: 'ANA@x.org' },
    change: { data_type: 'email', unique: true },
    on_failure: 'clear',
    preview: { profiles_with_values: 2, convertible: 1, failing: 1 },
    status: 'done',
    after: { b: 'ana@x.org' },
    landed: { unique: true },
  },
  {
    title: 'identity role turned on over distinct values',
    def: { data_type: 'string' },
    values: { a: 'c-1', b: 'c-2' },
    change: { identity: { role: 'primary' } },
    on_failure: 'abort',
    preview: { profiles_with_values: 2, convertible: 2, failing: 0 },
    status: 'done',
    after: { a: 'c-1', b: 'c-2' },
    landed: { identity: { role: 'primary', priority: 1 } },
  },
  {
    title: 'identity role turned on over duplicates, clear keeps the first',
    def: { data_type: 'string' },
    values: { a: 'c-1', b: 'c-1', c: 'c-3' },
    change: { identity: { role: 'secondary', priority: 2 } },
    on_failure: 'clear',
    preview: { profiles_with_values: 3, convertible: 2, failing: 1 },
    status: 'done',
    after: { a: 'c-1', c: 'c-3' },
    landed: { identity: { role: 'secondary', priority: 2 } },
  },
];

for (const dialect of dialects) {
  describe(`definition changes with data [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let ws: string;
    let n = 0;

    const call = (method: string, url: string, payload?: unknown, headers: Record<string, string> = {}, token = a.token) =>
      t.request({ method: method as 'GET', url: `${ws}${url}`, token, headers, ...(payload === undefined ? {} : { payload: payload as object }) });

    /** A new property with values held by new profiles; returns its name and version. */
    async function holding(def: Def, values: Record<string, unknown>): Promise<{ name: string; version: number; ids: Record<string, string> }> {
      const name = `p${++n}`;
      expectStatus(await call('POST', '/properties', { name, ...def }), 201);
      const ids: Record<string, string> = {};
      for (const [key, value] of Object.entries(values)) {
        ids[key] = `${name}-${key}`;
        expectStatus(await call('PUT', `/profiles/${ids[key]}`, { properties: { [name]: value } }), 201);
      }
      const got = await call('GET', `/properties/${name}`);
      expectStatus(got, 200);
      return { name, version: got.body.version, ids };
    }

    const apply = (name: string, change: Def, version: number | undefined) =>
      call('POST', `/properties/${name}/changes`, change, version === undefined ? {} : { 'if-match': `"${version}"` });

    const expect200 = (res: { statusCode: number; body: string }) => assert.equal(res.statusCode, 200, res.body);
    /** The workspace's latest job. */
    const lastJob = async () => t.db.selectFrom('jobs').select('id').where('workspace_id', '=', a.workspaceId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow();

    async function valuesOf(name: string, ids: Record<string, string>): Promise<Record<string, unknown>> {
      const out: Record<string, unknown> = {};
      for (const [key, id] of Object.entries(ids)) {
        const res = await call('GET', `/profiles/${id}`);
        expectStatus(res, 200);
        if (name in res.body.properties) out[key] = res.body.properties[name];
      }
      return out;
    }

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t, 'Changes');
      ws = `/v1/workspaces/${a.workspaceId}`;
    });
    after(() => t.close());

    describe('the conversion table', () => {
      for (const row of ROWS) {
        test(row.title, async () => {
          const { name, version, ids } = await holding(row.def, row.values);
          const preview = await call('POST', `/properties/${name}/changes/preview`, row.change);
          expectStatus(preview, 200);
          const { samples, changes, ...counts } = preview.body;
          assert.deepEqual(counts, row.preview, preview.raw);
          assert.equal(samples.length, row.preview.failing, preview.raw);
          for (const s of samples) assert.ok(Object.values(ids).includes(s.profile_id) && typeof s.problem === 'string', preview.raw);
          assert.ok(Object.keys(changes).length > 0, preview.raw);
          // A preview writes nothing.
          assert.deepEqual(await valuesOf(name, ids), row.values);

          const started = await apply(name, { ...row.change, on_failure: row.on_failure }, version);
          expectStatus(started, 202);
          assert.equal(started.body.job.type, 'change_property', started.raw);
          await t.jobRunner.drain();
          const job = await call('GET', `/jobs/${started.body.job.id}`);
          expectStatus(job, 200);
          assert.equal(job.body.status, row.status, job.raw);
          assert.equal(job.body.result.failing, row.preview.failing, job.raw);
          assert.equal(job.body.result.convertible, row.preview.convertible, job.raw);
          assert.equal(typeof job.body.result.outcome, 'string', job.raw);
          assert.deepEqual(await valuesOf(name, ids), row.after);

          const prop = await call('GET', `/properties/${name}`);
          expectStatus(prop, 200);
          assert.equal(prop.body.version, row.status === 'done' ? version + 1 : version, prop.raw);
          for (const [field, value] of Object.entries(row.landed ?? {})) assert.deepEqual(prop.body[field], value, `${field}: ${prop.raw}`);
          if (row.status === 'done') {
            const history = await call('GET', `/properties/${name}/history`);
            expectStatus(history, 200);
            const last = history.body.data[history.body.data.length - 1];
            assert.equal(last.version, version + 1, history.raw);
            assert.deepEqual(last.changes.values, {
              from: { profiles: row.preview.profiles_with_values },
              to: { converted: row.preview.convertible, cleared: row.preview.failing, job: started.body.job.id },
            });
          }
        });
      }
    });

    test('after string → integer, typed filters and sorts use the new type and its index', async () => {
      const { name, version } = await holding({ data_type: 'string' }, { a: '9', b: '10', c: '100' });
      expectStatus(await apply(name, { data_type: 'integer', on_failure: 'abort' }, version), 202);
      await t.jobRunner.drain();
      const found = await call('GET', `/profiles?filter[${name}][gt]=9&sort=-${name}`);
      expectStatus(found, 200);
      assert.deepEqual(found.body.data.map((p: { properties: Record<string, unknown> }) => p.properties[name]), [100, 10], found.raw);
      const sorted = await call('GET', `/profiles?filter[${name}][exists]=true&sort=${name}`);
      expectStatus(sorted, 200);
      assert.deepEqual(sorted.body.data.map((p: { properties: Record<string, unknown> }) => p.properties[name]), [9, 10, 100], sorted.raw);

      // The converted values sit in the numeric value index, which a typed range filter reads.
      const prop = await call('GET', `/properties/${name}`);
      const stored = await t.db
        .selectFrom('profile_values')
        .select(['v_text', 'v_num'])
        .where('workspace_id', '=', a.workspaceId)
        .where('property_id', '=', prop.body.id)
        .orderBy('v_num')
        .execute();
      assert.deepEqual(stored.map((r) => ({ ...r })), [9, 10, 100].map((n) => ({ v_text: null, v_num: n })));
      const range = sql`select profile_id from profile_values where workspace_id = ${a.workspaceId} and property_id = ${prop.body.id} and v_num > ${9}`;
      const plan = await t.db.transaction().execute(async (trx) => {
        if (dialect.name === 'postgres') {
          // A table this small is read whole unless told otherwise; what matters is that the index serves the filter.
          await sql`set local enable_seqscan = off`.execute(trx);
          return (await sql<{ 'QUERY PLAN': string }>`explain ${range}`.execute(trx)).rows.map((r) => r['QUERY PLAN']).join('\n');
        }
        return (await sql<{ detail: string }>`explain query plan ${range}`.execute(trx)).rows.map((r) => r.detail).join('\n');
      });
      assert.match(plan, /profile_values_num_idx/, plan);
    });

    test('a preview masks PII values for a caller without pii:read', async () => {
      const { name } = await holding({ data_type: 'string', pii: true }, { a: 'secret' });
      const reader = await a.key(['properties:read']);
      const masked = await call('POST', `/properties/${name}/changes/preview`, { data_type: 'integer' }, {}, reader.token);
      expectStatus(masked, 200);
      assert.deepEqual(masked.body.samples, [{ profile_id: `${name}-a`, value: '***', problem: 'is not a number' }]);
      const plain = await call('POST', `/properties/${name}/changes/preview`, { data_type: 'integer' });
      expectStatus(plain, 200);
      assert.deepEqual(plain.body.samples, [{ profile_id: `${name}-a`, value: 'secret', problem: 'is not a number' }]);
    });

    describe('bad input', () => {
      test('each answers a clear 4xx naming the problem', async () => {
        const { name, version } = await holding({ data_type: 'boolean' }, { a: true });
        const cases: { title: string; send: () => ReturnType<typeof call>; status: number; code: string; message: RegExp }[] = [
          { title: 'an unknown target type', send: () => call('POST', `/properties/${name}/changes/preview`, { data_type: 'money' }), status: 400, code: 'VALIDATION_FAILED', message: /not valid/ },
          {
            title: 'a conversion the table does not allow',
            send: () => call('POST', `/properties/${name}/changes/preview`, { data_type: 'date' }),
            status: 400,
            code: 'VALIDATION_FAILED',
            message: /values of data_type boolean cannot become date; they can become string, text, boolean/,
          },
          { title: 'a change that is not a change', send: () => call('POST', `/properties/${name}/changes/preview`, { data_type: 'boolean' }), status: 400, code: 'VALIDATION_FAILED', message: /leaves "p\d+" as it is/ },
          { title: 'an empty change', send: () => call('POST', `/properties/${name}/changes/preview`, {}), status: 400, code: 'VALIDATION_FAILED', message: /not valid/ },
          { title: 'no If-Match', send: () => apply(name, { data_type: 'string', on_failure: 'abort' }, undefined), status: 428, code: 'PRECONDITION_REQUIRED', message: /send If-Match: "\d+"/ },
          { title: 'a stale If-Match', send: () => apply(name, { data_type: 'string', on_failure: 'abort' }, version + 5), status: 412, code: 'PRECONDITION_FAILED', message: /is at version \d+, not \d+/ },
          { title: 'no on_failure', send: () => call('POST', `/properties/${name}/changes`, { data_type: 'string' }, { 'if-match': `"${version}"` }), status: 400, code: 'VALIDATION_FAILED', message: /not valid/ },
          { title: 'a system property', send: () => call('POST', '/properties/email/changes/preview', { data_type: 'string' }), status: 409, code: 'CONFLICT', message: /System property "email" cannot be changed/ },
          { title: 'an unknown property', send: () => call('POST', '/properties/nope/changes/preview', { data_type: 'string' }), status: 404, code: 'NOT_FOUND', message: /"nope" not found/ },
        ];
        for (const c of cases) {
          const res = await c.send();
          expectError(res, c.status, c.code);
          assert.match(res.body.error.message, c.message, `${c.title}: ${res.raw}`);
        }
      });

      test('an archived property is restored first', async () => {
        const { name } = await holding({ data_type: 'string' }, { a: '1' });
        expectStatus(await call('DELETE', `/properties/${name}`), 204);
        const res = await call('POST', `/properties/${name}/changes/preview`, { data_type: 'integer' });
        expectError(res, 409, 'CONFLICT');
        assert.match(res.body.error.message, /is archived; restore it/, res.raw);
      });
    });

    test('while a change runs: a second change, a PATCH and writes of the property answer 409 naming the job', async () => {
      const { name, version, ids } = await holding({ data_type: 'string' }, { a: '1', b: '2', c: '3' });
      const started = await apply(name, { data_type: 'integer', on_failure: 'abort' }, version);
      expectStatus(started, 202);
      const job = started.body.job.id as string;
      // One bounded step of one profile: the job is under way. (This runner lets its lease go at
      // once, so that the app's runner finishes the job below.)
      const runner = createJobRunner({ db: t.db, clock: { now: () => new Date() }, steps: t.services.jobs.steps, batchSize: 1, minBatchSize: 1, leaseMs: -1 });
      assert.equal(await runner.stepOnce(), false);

      const second = await apply(name, { data_type: 'number', on_failure: 'abort' }, version);
      expectError(second, 409, 'CONFLICT');
      assert.match(second.body.error.message, new RegExp(`running as job ${job}`), second.raw);
      const patch = await call('PATCH', `/properties/${name}`, { description: 'x' });
      expectError(patch, 409, 'CONFLICT');
      assert.match(patch.body.error.message, new RegExp(job), patch.raw);
      const put = await call('PUT', `/profiles/${ids.a}`, { properties: { [name]: '7' } });
      const details = expectError(put, 409, 'CONFLICT');
      assert.deepEqual(details, [{ field: `properties.${name}`, problem: `is being changed by job ${job}; write it again once the job is done` }]);
      const batch = await call('POST', '/profiles/batch', { inputs: [{ properties: { [name]: '8' } }, { id: 'untouched', properties: {} }] });
      expectStatus(batch, 200);
      assert.deepEqual(batch.body.results[0], { index: 0, status: 'rejected', errors: [{ field: `properties.${name}`, problem: `is being changed by job ${job}; write it again once the job is done` }] });
      assert.equal(batch.body.results[1].status, 'created', batch.raw);

      // Readers see the old definition and old values until the change lands, then the new ones.
      const during = await call('GET', `/profiles/${ids.b}`);
      expectStatus(during, 200);
      assert.equal(during.body.properties[name], '2', during.raw);
      await t.jobRunner.drain();
      const landed = await call('GET', `/profiles/${ids.b}`);
      expectStatus(landed, 200);
      assert.equal(landed.body.properties[name], 2, landed.raw);
      expectStatus(await call('PUT', `/profiles/${ids.a}`, { properties: { [name]: 7 } }), 200);
    });

    test('a server whose cached definition is older than a change that just landed refuses the write: no old-type value lands after it', async () => {
      // A second server on the same database, with caches of its own (no broadcast between the two).
      const other = await buildApp({ db: t.db, runJobs: false, config: { ...loadConfig({}), adminToken: OPERATOR_TOKEN, encryptionKey: TEST_ENCRYPTION_KEY } });
      try {
        const { name, version, ids } = await holding({ data_type: 'string' }, { a: '1' });
        const put = (value: unknown) =>
          other.app.inject({ method: 'PUT', url: `${ws}/profiles/${ids.a}`, headers: { authorization: `Bearer ${a.token}` }, payload: { properties: { [name]: value } } });
        // The other server caches the definition as it is now (a string).
        expect200(await put('2'));
        expectStatus(await apply(name, { data_type: 'integer', on_failure: 'abort' }, version), 202);
        await t.jobRunner.drain();
        // Its cache still says string: the value it would store is refused, not written as a string.
        const stale = await put('3');
        assert.equal(stale.statusCode, 409, stale.body);
        assert.deepEqual(JSON.parse(stale.body).error.details, [{ field: `properties.${name}`, problem: `was changed by job ${(await lastJob()).id} a moment ago; write it again` }]);
        assert.deepEqual(await valuesOf(name, ids), { a: 2 });
      } finally {
        await other.app.close();
      }
    });

    test('a write in flight when a change starts commits before the change is queued, and its value is converted, not overwritten', { skip: dialect.name === 'sqlite' ? 'SQLite runs one writer at a time' : false }, async () => {
      const { name, version, ids } = await holding({ data_type: 'string' }, { a: '1' });
      // A write that has checked for running changes but not yet committed.
      const trx = await t.db.startTransaction().execute();
      let applied: Promise<Awaited<ReturnType<typeof apply>>> | undefined;
      try {
        const [written] = await t.services.profiles.writeRecords(trx, a.workspaceId, [{ id: ids.a, properties: { [name]: '5' } }]);
        assert.equal(written.status, 'updated', JSON.stringify(written));
        applied = apply(name, { data_type: 'integer', on_failure: 'abort' }, version);
        // The change waits at the workspace's start gate for the write.
        const waiting = async () => Number((await sql<{ n: number | string }>`select count(*) as n from pg_locks where locktype = 'advisory' and not granted`.execute(t.db)).rows[0].n);
        for (let i = 0; (await waiting()) === 0; i++) assert.ok(i < 500, 'the change never waited for the write in flight');
      } finally {
        await trx.commit().execute();
      }
      expectStatus(await applied!, 202);
      await t.jobRunner.drain();
      assert.deepEqual(await valuesOf(name, ids), { a: 5 });
    });

    test('a PII change staged under one key and landed after the key changed: a rotation job re-encrypts what it landed', async () => {
      const { name, version, ids } = await holding({ data_type: 'string', pii: true }, { a: '1', b: '2' });
      const property = await call('GET', `/properties/${name}`);
      expectStatus(property, 200);
      const prefixes = async () => {
        const rows = await t.db.selectFrom('profile_values').select('v_json').where('workspace_id', '=', a.workspaceId).where('property_id', '=', property.body.id).execute();
        return [...new Set(rows.map((r) => r.v_json.split(':').slice(0, 3).join(':')))];
      };
      const [before] = await prefixes();
      expectStatus(await apply(name, { data_type: 'integer', on_failure: 'abort' }, version), 202);
      // One step stages both values under the key of the server that ran it.
      const first = createJobRunner({ db: t.db, clock: { now: () => new Date() }, steps: t.services.jobs.steps, batchSize: 5, leaseMs: -1 });
      assert.equal(await first.stepOnce(), false);
      // Then the server starts again with a new key, the old one as the previous, and lands the change.
      const other = await buildApp({
        db: t.db,
        runJobs: false,
        config: { ...loadConfig({}), adminToken: OPERATOR_TOKEN, encryptionKey: Buffer.alloc(32, 9), previousEncryptionKey: TEST_ENCRYPTION_KEY },
      });
      try {
        await createJobRunner({ db: t.db, clock: { now: () => new Date() }, steps: other.services.jobs.steps, batchSize: 5, leaseMs: -1 }).drain();
        const after = await prefixes();
        assert.equal(after.length, 1, after.join(', '));
        assert.notEqual(after[0], before, 'every landed value is under the new key');
        for (const [key, value] of [['a', 1], ['b', 2]] as const) {
          const res = await other.app.inject({ method: 'GET', url: `${ws}/profiles/${ids[key]}`, headers: { authorization: `Bearer ${a.token}` } });
          assert.equal(res.statusCode, 200, res.body);
          assert.equal(JSON.parse(res.body).properties[name], value, res.body);
        }
      } finally {
        await other.app.close();
      }
    });

    test('a profile erased while its change runs stays erased', async () => {
      const { name, version, ids } = await holding({ data_type: 'string' }, { a: '1', b: '2' });
      expectStatus(await apply(name, { data_type: 'integer', on_failure: 'abort' }, version), 202);
      const runner = createJobRunner({ db: t.db, clock: { now: () => new Date() }, steps: t.services.jobs.steps, batchSize: 5, leaseMs: -1 });
      assert.equal(await runner.stepOnce(), false);
      expectStatus(await call('DELETE', `/profiles/${ids.a}`), 204);
      await t.jobRunner.drain();
      expectError(await call('GET', `/profiles/${ids.a}`), 404, 'NOT_FOUND');
      assert.deepEqual(await valuesOf(name, { b: ids.b }), { b: 2 });
    });

    describe('a PATCH that would break stored values', () => {
      const flow = /changes\/preview, then apply it with POST .*\/changes/;
      const rows: { title: string; def: Def; values: Record<string, unknown>; patch: Def; status: number; count?: number }[] = [
        { title: 'options replaced without a held value', def: { data_type: 'enum', options: [{ value: 'a' }, { value: 'b' }] }, values: { x: 'a', y: 'a', z: 'b' }, patch: { options: [{ value: 'b' }] }, status: 409, count: 2 },
        { title: 'an option added (loosening)', def: { data_type: 'enum', options: [{ value: 'a' }] }, values: { x: 'a' }, patch: { options: [{ value: 'a' }, { value: 'b' }] }, status: 200 },
        { title: 'an option nobody holds removed', def: { data_type: 'enum', options: [{ value: 'a' }, { value: 'b' }] }, values: { x: 'a' }, patch: { options: [{ value: 'a' }] }, status: 200 },
        { title: 'max_length below a stored value', def: { data_type: 'string' }, values: { x: '0123456789', y: 'abc' }, patch: { validation: { max_length: 5 } }, status: 409, count: 1 },
        { title: 'max_length every stored value meets', def: { data_type: 'string' }, values: { x: 'abc' }, patch: { validation: { max_length: 5 } }, status: 200 },
        { title: 'a maximum below a stored value', def: { data_type: 'integer' }, values: { x: 50 }, patch: { validation: { maximum: 10 } }, status: 409, count: 1 },
        { title: 'a pattern stored values miss', def: { data_type: 'string' }, values: { x: 'abc' }, patch: { validation: { pattern: '^[0-9]+$' } }, status: 409, count: 1 },
        // Turning unique on makes every held value claim a key: always the change flow, counting every holder.
        { title: 'unique over duplicates', def: { data_type: 'string' }, values: { x: 'd', y: 'd' }, patch: { unique: true }, status: 409, count: 2 },
        { title: 'unique over distinct values', def: { data_type: 'string' }, values: { x: 'd', y: 'e' }, patch: { unique: true }, status: 409, count: 2 },
        { title: 'validation removed (loosening)', def: { data_type: 'string', validation: { max_length: 3 } }, values: { x: 'abc' }, patch: { validation: null }, status: 200 },
      ];
      for (const row of rows) {
        test(row.title, async () => {
          const { name, version } = await holding(row.def, row.values);
          const res = await call('PATCH', `/properties/${name}`, row.patch);
          if (row.status === 200) {
            expectStatus(res, 200);
            assert.equal(res.body.version, version + 1, res.raw);
            return;
          }
          expectError(res, 409, 'CONFLICT');
          const profiles = `${row.count} profile${row.count === 1 ? ' holds a value' : 's hold values'}`;
          assert.match(res.body.error.message, new RegExp(`${profiles} of "${name}"`), res.raw);
          assert.match(res.body.error.message, flow, res.raw);
          const unchanged = await call('GET', `/properties/${name}`);
          assert.equal(unchanged.body.version, version, unchanged.raw);
        });
      }

      test('a new data_type while values exist names the change flow', async () => {
        const { name } = await holding({ data_type: 'string' }, { x: '1' });
        const res = await call('PATCH', `/properties/${name}`, { data_type: 'integer' });
        expectError(res, 409, 'CONFLICT');
        assert.match(res.body.error.message, flow, res.raw);
      });
    });

    describe('turning unique or the identity role on while profiles hold values', () => {
      const flow = /changes\/preview, then apply it with POST .*\/changes/;
      const rows: { title: string; turn: Def; fields: string[]; landed: Def; then: 'duplicate refused' | 'found by identity' }[] = [
        { title: 'unique', turn: { unique: true }, fields: ['unique'], landed: { unique: true }, then: 'duplicate refused' },
        { title: 'a primary identity', turn: { identity: { role: 'primary' } }, fields: ['identity.role'], landed: { identity: { role: 'primary', priority: 1 } }, then: 'found by identity' },
        { title: 'a secondary identity', turn: { identity: { role: 'secondary', priority: 3 } }, fields: ['identity.role'], landed: { identity: { role: 'secondary', priority: 3 } }, then: 'found by identity' },
        { title: 'unique and an identity at once', turn: { unique: true, identity: { role: 'primary' } }, fields: ['unique', 'identity.role'], landed: { unique: true }, then: 'duplicate refused' },
      ];
      for (const row of rows) {
        test(`${row.title}: PATCH → 409 with the count; the change claims every key`, async () => {
          const { name, version, ids } = await holding({ data_type: 'string' }, { a: 'k-1', b: 'k-2' });
          const refused = await call('PATCH', `/properties/${name}`, row.turn);
          const details = expectError(refused, 409, 'CONFLICT');
          assert.deepEqual(details.map((d) => d.field), row.fields, refused.raw);
          assert.match(refused.body.error.message, new RegExp(`2 profiles hold values of "${name}"`), refused.raw);
          assert.match(refused.body.error.message, flow, refused.raw);
          const unchanged = await call('GET', `/properties/${name}`);
          assert.equal(unchanged.body.version, version, unchanged.raw);

          const started = await apply(name, { ...row.turn, on_failure: 'abort' }, version);
          expectStatus(started, 202);
          await t.jobRunner.drain();
          const job = await call('GET', `/jobs/${started.body.job.id}`);
          assert.equal(job.body.status, 'done', job.raw);
          const prop = await call('GET', `/properties/${name}`);
          assert.equal(prop.body.version, version + 1, prop.raw);
          for (const [field, value] of Object.entries(row.landed)) assert.deepEqual(prop.body[field], value, `${field}: ${prop.raw}`);

          if (row.then === 'duplicate refused') {
            // Another profile taking a value held before the change: refused, nothing written.
            const dup = await call('PUT', `/profiles/${name}-c`, { properties: { [name]: 'k-1' } });
            assert.deepEqual(expectError(dup, 409, 'CONFLICT').map((d) => d.field), [`properties.${name}`], dup.raw);
            expectError(await call('GET', `/profiles/${name}-c`), 404, 'NOT_FOUND');
          } else {
            // A record without an id names a value held before the change: it lands on that profile.
            const res = await call('POST', '/profiles/batch', { inputs: [{ properties: { [name]: 'k-2' } }] });
            expectStatus(res, 200);
            assert.deepEqual(res.body.results.map((r: { status: string; id: string }) => [r.status, r.id]), [['updated', ids.b]], res.raw);
          }
        });
      }

      test('without stored values a PATCH turns unique on, and the next writes claim keys', async () => {
        const { name, version } = await holding({ data_type: 'string' }, {});
        const res = await call('PATCH', `/properties/${name}`, { unique: true, identity: { role: 'primary' } });
        expectStatus(res, 200);
        assert.equal(res.body.version, version + 1, res.raw);
        expectStatus(await call('PUT', `/profiles/${name}-a`, { properties: { [name]: 'k-1' } }), 201);
        expectError(await call('PUT', `/profiles/${name}-b`, { properties: { [name]: 'k-1' } }), 409, 'CONFLICT');
      });

      test('the change takes the identity role with the same rules as PATCH', async () => {
        const { name, version } = await holding({ data_type: 'text' }, { a: 'long text' });
        for (const body of [{ identity: { role: 'primary' } }, { identity: { role: 'primary' }, on_failure: 'abort' }]) {
          const res = 'on_failure' in body ? await apply(name, body, version) : await call('POST', `/properties/${name}/changes/preview`, body);
          assert.deepEqual(expectError(res, 400, 'VALIDATION_FAILED').map((d) => d.field), ['identity.role'], res.raw);
        }
        const bad = await call('POST', `/properties/${name}/changes/preview`, { identity: { role: 'owner' } });
        expectError(bad, 400, 'VALIDATION_FAILED');
      });
    });
  });
}
