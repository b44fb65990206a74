// On PostgreSQL (run when TEST_DATABASE_URL is set): an identity equality search, and a profile's
// read and writes, are index probes on tables the planner has no statistics of, as after a fresh
// load before autovacuum has run. Every statement a request sends is explained with its own
// parameters; each scan of a profile table must be an index scan that reads no row of another
// profile to filter it out, and none a sequential scan.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CompiledQuery, sql } from 'kysely';
import pg from 'pg';
import { createTenancy, createTestApp, expectStatus, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';
import { manualClock } from './helpers/segment.ts';

const postgres = dialects.find((d) => d.name === 'postgres');
const PROFILES = 2000;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Filter?: string;
  Plans?: PlanNode[];
}

const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];
const PROFILE_TABLES = /\bprofile(s|_values|_keys|_aliases)\b/;

describe('profile lookups without planner statistics [postgres]', { skip: postgres ? false : 'TEST_DATABASE_URL is not set' }, () => {
  let t: TestApp;
  let ws: string;
  let token: string;
  let seen: { sql: string; parameters: readonly unknown[] }[] | undefined;

  /**
   * The plan of a statement for these parameters, or (`generic`) the one PostgreSQL keeps for a
   * prepared statement whatever its parameters: the app names its statements (create-db.ts), and
   * after five runs PostgreSQL may reuse a generic plan if it costs no more than the custom ones.
   */
  async function planOf(text: string, parameters: readonly unknown[], generic: boolean): Promise<PlanNode> {
    type Explained = { 'QUERY PLAN': [{ Plan: PlanNode }] };
    if (!generic) return (await t.db.executeQuery<Explained>(CompiledQuery.raw(`explain (format json) ${text}`, [...parameters]))).rows[0]['QUERY PLAN'][0].Plan;
    // EXECUTE takes values as literals: the statements' parameters are numbers, text and arrays of them.
    const literal = (p: unknown) => (p === null ? 'null' : pg.escapeLiteral(Array.isArray(p) ? `{${p.map((item) => JSON.stringify(String(item))).join(',')}}` : String(p)));
    const literals = parameters.map(literal);
    return t.db.connection().execute(async (c) => {
      await c.executeQuery(CompiledQuery.raw('set plan_cache_mode = force_generic_plan'));
      await c.executeQuery(CompiledQuery.raw(`prepare propdict_plan as ${text}`));
      try {
        return (await c.executeQuery<Explained>(CompiledQuery.raw(`explain (format json) execute propdict_plan(${literals.join(', ')})`))).rows[0]['QUERY PLAN'][0].Plan;
      } finally {
        await c.executeQuery(CompiledQuery.raw('deallocate propdict_plan'));
        await c.executeQuery(CompiledQuery.raw('reset plan_cache_mode'));
      }
    });
  }

  // Moved by hand, a millisecond a request: the key and the dictionary stay cached however slowly
  // the machine runs the tests (on the wall clock, a key read 5 s before is read again).
  const clock = manualClock('2026-11-30T00:00:00Z');

  before(async () => {
    t = await createTestApp(postgres!, { clock, onQuery: (text, parameters) => seen?.push({ sql: text, parameters }) });
    // No statistics, whatever the server's autovacuum does meanwhile.
    for (const table of ['profiles', 'profile_values', 'profile_keys']) await sql`alter table ${sql.table(table)} set (autovacuum_enabled = off)`.execute(t.db);
    const a = await createTenancy(t, 'Plans');
    ws = `/v1/workspaces/${a.workspaceId}`;
    token = a.token;
    const properties = [
      { name: 'customer', data_type: 'string', identity: { role: 'primary' } },
      { name: 'tier', data_type: 'string' },
      { name: 'score', data_type: 'integer' },
    ];
    expectStatus(await t.request({ method: 'POST', url: `${ws}/properties/batch`, token, payload: { inputs: properties } }), 201);
    for (let from = 0; from < PROFILES; from += 1000) {
      const inputs = Array.from({ length: 1000 }, (_, k) => ({ id: `p-${from + k}`, properties: { customer: `C${from + k}`, tier: 'seed', score: from + k } }));
      expectStatus(await t.request({ method: 'POST', url: `${ws}/profiles/batch`, token, payload: { inputs } }), 200);
    }
    // The key and the dictionary are cached from here on, as on a server that has been up a while.
    expectStatus(await t.request({ method: 'GET', url: `${ws}/profiles/p-0`, token }), 200);
  });
  after(async () => {
    await t?.close();
  });

  test('the profile tables were never analysed', async () => {
    const { rows } = await sql<{ relname: string; reltuples: number }>`select relname, reltuples from pg_class where relnamespace = current_schema()::regnamespace and relname in ('profiles', 'profile_values', 'profile_keys')`.execute(t.db);
    assert.equal(rows.length, 3);
    // -1: neither VACUUM nor ANALYZE has run on the table since it was created.
    for (const r of rows) assert.equal(Number(r.reltuples), -1, `${r.relname} has statistics: ${JSON.stringify(rows)}`);
  });

  // Each request as the benchmark's one-at-a-time scenarios send it.
  // `statements`: every round trip to the database, BEGIN and COMMIT included (docs/architecture.md).
  // `tables`: the statements whose plans are checked, by the profile tables they name (all by default).
  const REQUESTS: { title: string; method: 'GET' | 'PATCH' | 'POST'; url: string; payload?: Record<string, unknown>; status: number; statements: number; tables?: RegExp; check(body: any): void }[] = [
    {
      title: 'identity equality search',
      method: 'GET',
      url: '/profiles?filter[customer][eq]=C1234',
      status: 200,
      statements: 1,
      check: (body) => assert.deepEqual(body.data.map((p: { id: string; properties: unknown }) => [p.id, p.properties]), [['p-1234', { customer: 'C1234', tier: 'seed', score: 1234 }]]),
    },
    { title: 'profile GET', method: 'GET', url: '/profiles/p-77', status: 200, statements: 1, check: (body) => assert.deepEqual(body.properties, { customer: 'C77', tier: 'seed', score: 77 }) },
    {
      title: 'profile PATCH',
      method: 'PATCH',
      url: '/profiles/p-78',
      payload: { properties: { tier: 'gold', score: 1 } },
      status: 200,
      statements: 6,
      check: (body) => assert.deepEqual(body.properties, { customer: 'C78', tier: 'gold', score: 1 }),
    },
    {
      title: 'profile POST',
      method: 'POST',
      url: '/profiles',
      payload: { properties: { customer: 'N1', tier: 'new' } },
      status: 201,
      statements: 5,
      check: (body) => assert.deepEqual(body.properties, { customer: 'N1', tier: 'new' }),
    },
    {
      // The identity keys of a batch are looked up together, 128 or more a statement: given them as
      // an IN list, the planner without statistics read every key of the property and filtered
      // them. Only those lookups are held here: the batch's other statements join a list of rows
      // on whole primary keys, which a sequential scan of these 6,000 values answers more cheaply.
      title: 'batch upsert of 200 records, half of them known by their identity: its key lookups',
      method: 'POST',
      url: '/profiles/batch',
      payload: { inputs: Array.from({ length: 200 }, (_, k) => ({ properties: { customer: k % 2 === 0 ? `C${k}` : `B${k}`, tier: 'batch' } })) },
      status: 200,
      statements: 22,
      tables: /\bprofile_(former_)?keys\b/,
      check: (body) => assert.deepEqual(body.results.map((r: { status: string }) => r.status).slice(0, 2), ['updated', 'created']),
    },
  ];

  for (const r of REQUESTS) {
    test(`${r.title}: ${r.statements} statement(s), every scan of a profile table an index probe`, async () => {
      clock.advance(1);
      seen = [];
      const res = await t.request({ method: r.method, url: `${ws}${r.url}`, token, payload: r.payload });
      const statements = seen;
      seen = undefined;
      expectStatus(res, r.status);
      r.check(res.body);
      assert.equal(statements.length, r.statements, `round trips: ${statements.map((s) => s.sql).join('\n')}`);
      const reading = statements.filter((s) => PROFILE_TABLES.test(s.sql) && (r.tables?.test(s.sql) ?? true));
      assert.ok(reading.length > 0, `the request read the profile tables: ${JSON.stringify(statements)}`);
      for (const s of reading) for (const generic of [false, true]) {
        const plan = await planOf(s.sql, s.parameters, generic);
        const scans = nodesOf(plan).filter((n) => n['Relation Name'] !== undefined && PROFILE_TABLES.test(n['Relation Name']) && n['Node Type'] !== 'ModifyTable');
        const shown = `${generic ? 'generic plan' : 'plan'} of ${s.sql}\n${JSON.stringify(plan, null, 1)}`;
        for (const scan of scans) {
          assert.match(scan['Node Type'], /^Index (Only )?Scan$/, shown);
          // Rows read to be filtered out are at most one profile's own (its values by primary key).
          const oneProfile = /\b(profile_)?id = /.test(scan['Index Cond'] ?? '');
          assert.ok(scan.Filter === undefined || oneProfile, `a ${scan['Relation Name']} scan reads rows of many profiles to filter them out: ${shown}`);
          // A value lookup probes the index of the column it tests; a profile's values, the primary key.
          if (scan['Relation Name'] === 'profile_values' && scan['Index Name'] !== 'profile_values_pk') {
            assert.equal(scan['Index Name'], 'profile_values_text_idx', shown);
            assert.match(scan['Index Cond'] ?? '', /v_text = /, shown);
          }
        }
      }
    });
  }
});
