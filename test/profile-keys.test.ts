// Keys exist exactly for keyed (unique or identity) properties' stored values: a PATCH that turns
// keys off drops the property's keys; one that turns them on finds none left, so a value an old
// key named is free again. Every move between key states, with and without stored values, as a
// table; then the change flow turning keys on and off, an archive and restore, a purge, and (on
// PostgreSQL, where writes run side by side) a PATCH meeting a write already under way.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { createTenancy, createTestApp, expectError, expectStatus, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

type Role = 'none' | 'primary' | 'secondary';
interface KeyState {
  unique: boolean;
  role: Role;
}
const STATES: KeyState[] = [
  { unique: false, role: 'none' },
  { unique: true, role: 'none' },
  { unique: false, role: 'primary' },
  { unique: false, role: 'secondary' },
  { unique: true, role: 'primary' },
  { unique: true, role: 'secondary' },
];
const keyed = (s: KeyState) => s.unique || s.role !== 'none';
const label = (s: KeyState) => `unique ${s.unique ? 'on' : 'off'}, identity ${s.role}`;
const body = (s: KeyState) => ({ unique: s.unique, identity: { role: s.role } });

interface Row {
  title: string;
  from: KeyState;
  to: KeyState;
  /** Whether a profile holds a value when the PATCH is sent. */
  held: boolean;
  /** The PATCH's answer: 200, or 409 when it would have to claim keys over stored values. */
  patch: 200 | 409;
}

// Every move from one key state to another, with and without a stored value.
const ROWS: Row[] = STATES.flatMap((from) =>
  STATES.filter((to) => to !== from).flatMap((to) =>
    [false, true].map((held) => ({
      title: `${label(from)} → ${label(to)}, ${held ? 'a profile holds a value' : 'no stored value'}`,
      from,
      to,
      held,
      patch: held && !keyed(from) && keyed(to) ? (409 as const) : (200 as const),
    })),
  ),
);

for (const dialect of dialects) {
  describe(`keys follow their definitions [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let base: string;
    let n = 0;
    const req = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers?: Record<string, string>) =>
      t.request({ method, url: `${base}${url}`, token: a.token, ...(headers ? { headers } : {}), ...(payload === undefined ? {} : { payload: payload as object }) });

    /** The key rows of a property, as (profile, key) pairs: what nothing but the store sees. */
    async function keysOf(name: string): Promise<string[][]> {
      const prop = await req('GET', `/properties/${name}`);
      expectStatus(prop, 200);
      const rows = await t.db.selectFrom('profile_keys').select(['profile_id', 'value_key']).where('workspace_id', '=', a.workspaceId).where('property_id', '=', prop.body.id).orderBy('profile_id').execute();
      return rows.map((r) => [r.profile_id, r.value_key]);
    }

    /** A new string property in `state`, its name. */
    async function property(state: KeyState): Promise<string> {
      const name = `key_prop_${++n}`;
      expectStatus(await req('POST', '/properties', { name, data_type: 'string', ...body(state) }), 201);
      return name;
    }

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t, 'Keys');
      base = `/v1/workspaces/${a.workspaceId}`;
    });
    after(() => t.close());

    test('a key survives neither its value cleared nor unique turned off and on again', async () => {
      const name = await property({ unique: true, role: 'none' });
      expectStatus(await req('PUT', '/profiles/clear-1', { properties: { [name]: 'V-1' } }), 201);
      assert.deepEqual(await keysOf(name), [['clear-1', 'V-1']]);
      expectStatus(await req('PATCH', '/profiles/clear-1', { properties: { [name]: null } }), 200);
      assert.deepEqual(await keysOf(name), []);
      expectStatus(await req('PATCH', `/properties/${name}`, { unique: false }), 200);
      expectStatus(await req('PATCH', `/properties/${name}`, { unique: true }), 200);
      const other = await req('PUT', '/profiles/clear-2', { properties: { [name]: 'V-1' } });
      expectStatus(other, 201);
      assert.deepEqual(other.body.properties, { [name]: 'V-1' }, other.raw);
      assert.deepEqual(await keysOf(name), [['clear-2', 'V-1']]);
    });

    test('turned off while the value is held, then on once the profile is erased: the old key does not match', async () => {
      const name = await property({ unique: false, role: 'primary' });
      const first = await req('POST', '/profiles/batch', { inputs: [{ properties: { [name]: 'C-1' } }] });
      expectStatus(first, 200);
      const [{ id: old }] = first.body.results;
      expectStatus(await req('PATCH', `/properties/${name}`, { identity: { role: 'none' } }), 200);
      assert.deepEqual(await keysOf(name), []);
      expectStatus(await req('DELETE', `/profiles/${old}`), 204);
      expectStatus(await req('PATCH', `/properties/${name}`, { identity: { role: 'primary' } }), 200);
      const again = await req('POST', '/profiles/batch', { inputs: [{ properties: { [name]: 'C-1' } }] });
      expectStatus(again, 200);
      assert.equal(again.body.results[0].status, 'created', again.raw);
      assert.notEqual(again.body.results[0].id, old);
      assert.deepEqual(await keysOf(name), [[again.body.results[0].id, 'C-1']]);
    });

    describe('every move between key states by PATCH', () => {
      for (const row of ROWS) {
        test(row.title, async () => {
          const name = await property(row.from);
          const holder = `holder-${n}`;
          if (row.held) expectStatus(await req('PUT', `/profiles/${holder}`, { properties: { [name]: `v-${n}` } }), 201);
          assert.deepEqual(await keysOf(name), row.held && keyed(row.from) ? [[holder, `v-${n}`]] : []);

          const patched = await req('PATCH', `/properties/${name}`, body(row.to));
          if (row.patch === 409) {
            const details = expectError(patched, 409, 'CONFLICT');
            assert.ok(details.length > 0, patched.raw);
            assert.deepEqual(await keysOf(name), []);
            return;
          }
          expectStatus(patched, 200);
          assert.equal(patched.body.unique, row.to.unique, patched.raw);
          assert.equal(patched.body.identity.role, row.to.role, patched.raw);
          // Keys exist exactly for the stored values of a keyed property.
          assert.deepEqual(await keysOf(name), row.held && keyed(row.to) ? [[holder, `v-${n}`]] : []);

          // Another profile writing the held value: refused exactly when a key names the holder.
          const other = await req('PUT', `/profiles/other-${n}`, { properties: { [name]: `v-${n}` } });
          if (row.held && keyed(row.to)) {
            assert.deepEqual(expectError(other, 409, 'CONFLICT').map((d) => d.field), [`properties.${name}`]);
          } else {
            expectStatus(other, 201);
            assert.deepEqual(other.body.properties, { [name]: `v-${n}` }, other.raw);
          }
          // Back to the first state: turning keys on over stored values (the holder's, or the
          // other profile's) needs the change flow; otherwise keys are again exactly the stored values'.
          const back = await req('PATCH', `/properties/${name}`, body(row.from));
          if (!keyed(row.to) && keyed(row.from)) {
            expectError(back, 409, 'CONFLICT');
            assert.deepEqual(await keysOf(name), []);
          } else {
            expectStatus(back, 200);
            assert.deepEqual(await keysOf(name), keyed(row.from) ? [[row.held ? holder : `other-${n}`, `v-${n}`]] : []);
          }
        });
      }
    });

    describe('the change flow', () => {
      const change = async (name: string, fields: object) => {
        const prop = await req('GET', `/properties/${name}`);
        expectStatus(prop, 200);
        const started = await req('POST', `/properties/${name}/changes`, { ...fields, on_failure: 'abort' }, { 'if-match': `"${prop.body.version}"` });
        expectStatus(started, 202);
        await t.jobRunner.drain();
        const job = await req('GET', `/jobs/${started.body.job.id}`);
        expectStatus(job, 200);
        assert.equal(job.body.status, 'done', job.raw);
      };

      test('turning keys off drops them, turning them on claims one per stored value', async () => {
        const name = await property({ unique: true, role: 'primary' });
        for (const id of ['cf-1', 'cf-2']) expectStatus(await req('PUT', `/profiles/${id}`, { properties: { [name]: `${id}-v` } }), 201);
        await change(name, { unique: false, identity: { role: 'none', priority: null } });
        assert.deepEqual(await keysOf(name), []);
        expectStatus(await req('PUT', '/profiles/cf-3', { properties: { [name]: 'cf-1-v' } }), 201);
        expectStatus(await req('PATCH', '/profiles/cf-3', { properties: { [name]: null } }), 200);
        await change(name, { unique: true });
        assert.deepEqual(await keysOf(name), [['cf-1', 'cf-1-v'], ['cf-2', 'cf-2-v']]);
      });
    });

    test('archived and restored, a property keeps exactly its values\' keys', async () => {
      const name = await property({ unique: true, role: 'primary' });
      expectStatus(await req('PUT', '/profiles/ar-1', { properties: { [name]: 'ar-v' } }), 201);
      expectStatus(await req('DELETE', `/properties/${name}`), 204);
      assert.deepEqual(await keysOf(name), [['ar-1', 'ar-v']]);
      expectStatus(await req('POST', `/properties/${name}/restore`), 200);
      assert.deepEqual(await keysOf(name), [['ar-1', 'ar-v']]);
      const other = await req('PUT', '/profiles/ar-2', { properties: { [name]: 'ar-v' } });
      assert.deepEqual(expectError(other, 409, 'CONFLICT').map((d) => d.field), [`properties.${name}`]);
      const found = await req('POST', '/profiles/batch', { inputs: [{ properties: { [name]: 'ar-v' } }] });
      expectStatus(found, 200);
      assert.deepEqual(found.body.results, [{ index: 0, status: 'updated', id: 'ar-1' }], found.raw);
    });

    // A write that read the old definition and has not committed yet: the PATCH waits for it at
    // the workspace's start gate, then judges the definition against its value too.
    describe('a PATCH meets a write in flight', { skip: dialect.name === 'sqlite' ? 'SQLite runs one writer at a time' : false }, () => {
      const IN_FLIGHT: { title: string; from: Record<string, unknown>; patch: Record<string, unknown>; status: 200 | 409; refused?: { field: string; problem: string }[]; keys: 'none' | 'the write' }[] = [
        { title: 'unique turned on', from: {}, patch: { unique: true }, status: 409, refused: [{ field: 'unique', problem: '1 profile holds values, whose keys a change claims' }], keys: 'none' },
        { title: 'an identity role turned on', from: {}, patch: { identity: { role: 'secondary' } }, status: 409, refused: [{ field: 'identity.role', problem: '1 profile holds values, whose keys a change claims' }], keys: 'none' },
        { title: 'data_type changed', from: {}, patch: { data_type: 'integer' }, status: 409, refused: [{ field: 'data_type', problem: '1 profile holds values' }], keys: 'none' },
        { title: 'max_length narrowed under the value', from: {}, patch: { validation: { max_length: 2 } }, status: 409, refused: [{ field: 'validation.max_length', problem: '1 profile holds a value this would refuse' }], keys: 'none' },
        { title: 'unique turned off', from: { unique: true }, patch: { unique: false }, status: 200, keys: 'none' },
        { title: 'a description changed', from: { unique: true }, patch: { description: 'Changed under a write.' }, status: 200, keys: 'the write' },
      ];
      for (const row of IN_FLIGHT) {
        test(row.title, async () => {
          const name = `flight_${++n}`;
          expectStatus(await req('POST', '/properties', { name, data_type: 'string', ...row.from }), 201);
          const trx = await t.db.startTransaction().execute();
          let patched: ReturnType<typeof req> | undefined;
          try {
            const [written] = await t.services.profiles.writeRecords(trx, a.workspaceId, [{ id: `flight-${n}`, properties: { [name]: 'in-flight' } }]);
            assert.equal(written.status, 'created', JSON.stringify(written));
            patched = req('PATCH', `/properties/${name}`, row.patch);
            const waiting = async () => Number((await sql<{ n: number | string }>`select count(*) as n from pg_locks where locktype = 'advisory' and not granted`.execute(t.db)).rows[0].n);
            for (let i = 0; (await waiting()) === 0; i++) assert.ok(i < 500, 'the PATCH never waited for the write in flight');
          } finally {
            await trx.commit().execute();
          }
          const res = await patched!;
          if (row.status === 409) {
            assert.deepEqual(expectError(res, 409, 'CONFLICT'), row.refused, res.raw);
          } else {
            expectStatus(res, 200);
          }
          assert.deepEqual(await keysOf(name), row.keys === 'none' ? [] : [[`flight-${n}`, 'in-flight']]);
        });
      }
    });

    test('a purge leaves no key of the property', async () => {
      const name = await property({ unique: true, role: 'none' });
      for (const id of ['pg-1', 'pg-2', 'pg-3']) expectStatus(await req('PUT', `/profiles/${id}`, { properties: { [name]: `${id}-v` } }), 201);
      const id = (await req('GET', `/properties/${name}`)).body.id;
      expectStatus(await req('DELETE', `/properties/${name}?purge=true`), 202);
      await t.jobRunner.drain();
      const left = await t.db.selectFrom('profile_keys').select('value_key').where('workspace_id', '=', a.workspaceId).where('property_id', '=', id).execute();
      assert.deepEqual(left, []);
    });
  });
}
