// The native property API, happy paths and rules, through the public routes only.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTenancy, createTestApp, expectError, expectStatus, type Response, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

const SYSTEM_NAMES = ['email', 'phone', 'first_name', 'last_name', 'full_name', 'country', 'city', 'language', 'timezone', 'created_at'];

/** A clock that moves one second on every reading, so timestamps differ and order is visible. */
function steppingClock(start = Date.parse('2026-01-01T00:00:00.000Z')) {
  let tick = 0;
  return { now: () => new Date(start + tick++ * 1000) };
}

const namesOf = (res: Response): string[] => res.body.data.map((p: { name: string }) => p.name);

for (const dialect of dialects) {
  describe(`native property API [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;

    before(async () => {
      t = await createTestApp(dialect, { clock: steppingClock() });
      a = await createTenancy(t, 'Alpha');
    });
    after(() => t.close());

    const props = (ws: number, rest = '') => `/v1/workspaces/${ws}/properties${rest}`;

    /** A new workspace of tenant A, made by the operator (who alone may set property_limit). */
    async function newWorkspace(extra: { property_limit?: number } = {}): Promise<number> {
      const res = await t.request({ method: 'POST', url: `/v1/tenants/${a.tenantId}/workspaces`, payload: { name: 'extra', ...extra } });
      expectStatus(res, 201);
      return res.body.id;
    }

    async function create(ws: number, payload: Record<string, unknown>, token = a.token) {
      const res = await t.request({ method: 'POST', url: props(ws), payload, token });
      expectStatus(res, 201);
      return res.body;
    }

    const get = (ws: number, ref: string | number) => t.request({ method: 'GET', url: props(ws, `/${ref}`), token: a.token });

    describe('create', () => {
      test('201 with Location, ETag and every default filled in', async () => {
        const res = await t.request({
          method: 'POST',
          url: props(a.workspaceId),
          token: a.token,
          payload: { name: 'loyalty_tier', data_type: 'string', export_alias: 'tier_out' },
        });
        expectStatus(res, 201);
        assert.equal(res.headers.location, `/v1/workspaces/${a.workspaceId}/properties/loyalty_tier`);
        assert.equal(res.headers.etag, '"1"');
        const { id, uid, created_at, updated_at, ...rest } = res.body;
        assert.equal(typeof id, 'number');
        assert.match(uid, /^[0-9a-f-]{36}$/);
        assert.match(created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
        assert.equal(updated_at, created_at);
        assert.deepEqual(rest, {
          name: 'loyalty_tier',
          display_name: 'loyalty_tier',
          i18n_display_names: {},
          description: null,
          example: null,
          data_type: 'string',
          multi_valued: false,
          options: null,
          validation: null,
          unique: false,
          group: null,
          display_order: null,
          pii: false,
          importable: true,
          exportable: true,
          import_aliases: ['tier_out'],
          export_alias: 'tier_out',
          identity: { role: 'none', priority: null },
          merge_function: 'update',
          metadata: {},
          system: false,
          archived: false,
          version: 1,
        });
      });

      test('an export alias already among the import aliases is kept once, whatever its case', async () => {
        const body = await create(a.workspaceId, { name: 'alias_once', data_type: 'string', import_aliases: ['Col_A', 'col_b'], export_alias: 'col_a' });
        assert.deepEqual(body.import_aliases, ['Col_A', 'col_b']);
        assert.equal(body.export_alias, 'col_a');
      });

      test('an identity role without a priority gets priority 1; enum options get their defaults', async () => {
        const body = await create(a.workspaceId, {
          name: 'tier_code',
          data_type: 'enum',
          options: [{ value: 'gold' }, { value: 'silver', label: 'Silver', display_order: 2, hidden: true }],
          identity: { role: 'secondary' },
        });
        assert.deepEqual(body.identity, { role: 'secondary', priority: 1 });
        assert.deepEqual(body.options, [
          { value: 'gold', label: 'gold', display_order: null, hidden: false },
          { value: 'silver', label: 'Silver', display_order: 2, hidden: true },
        ]);
      });
    });

    describe('read', () => {
      let created: { id: number; uid: string; name: string };
      before(async () => {
        created = await create(a.workspaceId, { name: 'Shoe_Size', data_type: 'number', description: 'EU size' });
      });

      test('by name, case-insensitively, with ETag', async () => {
        for (const ref of ['Shoe_Size', 'shoe_size', 'SHOE_SIZE']) {
          const res = await get(a.workspaceId, ref);
          expectStatus(res, 200);
          assert.equal(res.headers.etag, '"1"');
          assert.deepEqual(res.body, created);
        }
      });

      test('by numeric id and by uid', async () => {
        const byId = await get(a.workspaceId, created.id);
        expectStatus(byId, 200);
        assert.deepEqual(byId.body, created);
        const byUid = await get(a.workspaceId, created.uid);
        expectStatus(byUid, 200);
        assert.deepEqual(byUid.body, created);
      });

      test('an unknown name, id or uid is 404 NOT_FOUND', async () => {
        for (const ref of ['no_such_thing', '999999', '00000000-0000-4000-8000-000000000000']) {
          expectError(await get(a.workspaceId, ref), 404, 'NOT_FOUND');
        }
      });
    });

    describe('list', () => {
      let ws: number;
      // Custom properties in a workspace of their own, so the whole list is known.
      const ALL = [...SYSTEM_NAMES, 'omega', 'delta', 'Gamma', 'alpha_x', 'Beta_x'];

      before(async () => {
        ws = await newWorkspace();
        // Created out of order on purpose.
        await create(ws, { name: 'Beta_x', data_type: 'date', group: 'scores' });
        await create(ws, { name: 'Gamma', data_type: 'string', display_order: 20, pii: true });
        await create(ws, { name: 'alpha_x', data_type: 'boolean', display_name: 'Needle flag' });
        await create(ws, { name: 'delta', data_type: 'string', display_order: 20, description: 'Holds the NEEDLE word', group: 'misc' });
        await create(ws, { name: 'omega', data_type: 'integer', display_order: 11, group: 'scores' });
        await create(ws, { name: 'archived_one', data_type: 'string', group: 'scores' });
        expectStatus(await t.request({ method: 'DELETE', url: props(ws, '/archived_one'), token: a.token }), 204);
      });

      test('a new workspace lists its system properties, in display order', async () => {
        const fresh = await newWorkspace();
        const res = await t.request({ method: 'GET', url: props(fresh), token: a.token });
        expectStatus(res, 200);
        assert.deepEqual(namesOf(res), SYSTEM_NAMES);
        assert.ok(res.body.data.every((p: { system: boolean }) => p.system));
        assert.equal(res.body.next_cursor, null);
      });

      test('sorted by display_order, nulls last, ties by name case-insensitively', async () => {
        const res = await t.request({ method: 'GET', url: props(ws), token: a.token });
        expectStatus(res, 200);
        assert.deepEqual(namesOf(res), ALL);
        assert.equal(res.body.next_cursor, null);
      });

      const filters: { title: string; query: string; expected: string[] }[] = [
        { title: 'q matches a description and a display name, case-insensitively', query: 'q=needle', expected: ['delta', 'alpha_x'] },
        { title: 'q matches a name; _ is a plain character (country says "alpha-2")', query: 'q=ALPHA_', expected: ['alpha_x'] },
        { title: 'q treats % as a plain character', query: 'q=%25', expected: [] },
        { title: 'data_type', query: 'data_type=string', expected: ['first_name', 'last_name', 'full_name', 'country', 'city', 'language', 'timezone', 'delta', 'Gamma'] },
        { title: 'group', query: 'group=scores', expected: ['omega', 'Beta_x'] },
        { title: 'pii=true', query: 'pii=true', expected: ['Gamma'] },
        { title: 'system=false', query: 'system=false', expected: ['omega', 'delta', 'Gamma', 'alpha_x', 'Beta_x'] },
        { title: 'system=true', query: 'system=true', expected: SYSTEM_NAMES },
        { title: 'archived=true lists archived properties only', query: 'archived=true', expected: ['archived_one'] },
        { title: 'filters combine', query: 'system=false&pii=false&group=scores', expected: ['omega', 'Beta_x'] },
      ];
      for (const { title, query, expected } of filters) {
        test(`filter: ${title}`, async () => {
          const res = await t.request({ method: 'GET', url: props(ws, `?${query}`), token: a.token });
          expectStatus(res, 200);
          assert.deepEqual(namesOf(res), expected);
        });
      }

      async function walk(query: string): Promise<{ names: string[]; sizes: number[] }> {
        const names: string[] = [];
        const sizes: number[] = [];
        let cursor: string | null = null;
        do {
          const url = props(ws, `?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
          const res = await t.request({ method: 'GET', url, token: a.token });
          expectStatus(res, 200);
          names.push(...namesOf(res));
          sizes.push(res.body.data.length);
          cursor = res.body.next_cursor;
          assert.ok(sizes.length <= 50, 'pagination ends');
        } while (cursor !== null);
        return { names, sizes };
      }

      test('cursor pagination with limit=2 walks every item once, in order', async () => {
        const { names, sizes } = await walk('limit=2');
        assert.deepEqual(names, ALL);
        assert.deepEqual(sizes, [2, 2, 2, 2, 2, 2, 2, 1]);
      });

      test('cursor pagination keeps the filters', async () => {
        const { names, sizes } = await walk('limit=2&system=false');
        assert.deepEqual(names, ['omega', 'delta', 'Gamma', 'alpha_x', 'Beta_x']);
        assert.deepEqual(sizes, [2, 2, 1]);
      });

      test('a cursor that the list did not return is 400', async () => {
        for (const cursor of ['not-a-cursor', Buffer.from('{"a":1}').toString('base64url')]) {
          const res = await t.request({ method: 'GET', url: props(ws, `?cursor=${cursor}`), token: a.token });
          const details = expectError(res, 400, 'VALIDATION_FAILED');
          assert.deepEqual(details.map((d) => d.field), ['cursor']);
        }
      });
    });

    describe('update', () => {
      test('PATCH changes the fields given, bumps the version and the ETag', async () => {
        const original = await create(a.workspaceId, { name: 'patch_me', data_type: 'string', group: 'g1' });
        const res = await t.request({ method: 'PATCH', url: props(a.workspaceId, '/patch_me'), token: a.token, payload: { description: 'Now described', display_order: 7 } });
        expectStatus(res, 200);
        assert.equal(res.headers.etag, '"2"');
        assert.equal(res.body.version, 2);
        assert.equal(res.body.description, 'Now described');
        assert.equal(res.body.display_order, 7);
        assert.equal(res.body.group, 'g1', 'fields not given are kept');
        assert.equal(res.body.created_at, original.created_at);
        assert.ok(res.body.updated_at > original.updated_at, 'updated_at moves');
        const read = await get(a.workspaceId, 'patch_me');
        expectStatus(read, 200);
        assert.deepEqual(read.body, res.body);
      });

      test('If-Match with the current version passes; a stale one is 412 and changes nothing', async () => {
        await create(a.workspaceId, { name: 'guarded', data_type: 'string' });
        const ok = await t.request({ method: 'PATCH', url: props(a.workspaceId, '/guarded'), token: a.token, headers: { 'if-match': '"1"' }, payload: { description: 'v2' } });
        expectStatus(ok, 200);
        assert.equal(ok.body.version, 2);
        assert.equal(ok.headers.etag, '"2"');

        const stale = await t.request({ method: 'PATCH', url: props(a.workspaceId, '/guarded'), token: a.token, headers: { 'if-match': '"1"' }, payload: { description: 'lost update' } });
        expectError(stale, 412, 'PRECONDITION_FAILED');
        const read = await get(a.workspaceId, 'guarded');
        expectStatus(read, 200);
        assert.equal(read.body.version, 2);
        assert.equal(read.body.description, 'v2');
      });

      test('name and multi_valued cannot change: 409 CONFLICT naming each field', async () => {
        await create(a.workspaceId, { name: 'frozen', data_type: 'string' });
        const url = props(a.workspaceId, '/frozen');
        const rename = await t.request({ method: 'PATCH', url, token: a.token, payload: { name: 'thawed' } });
        assert.deepEqual(expectError(rename, 409, 'CONFLICT').map((d) => d.field), ['name']);
        const both = await t.request({ method: 'PATCH', url, token: a.token, payload: { name: 'thawed', multi_valued: true, description: 'x' } });
        assert.deepEqual(expectError(both, 409, 'CONFLICT').map((d) => d.field), ['name', 'multi_valued']);
        const read = await get(a.workspaceId, 'frozen');
        expectStatus(read, 200);
        assert.equal(read.body.version, 1);
        assert.equal(read.body.description, null);
      });

      test('sending the unchanged name is not a change', async () => {
        await create(a.workspaceId, { name: 'same_name', data_type: 'string' });
        const res = await t.request({ method: 'PATCH', url: props(a.workspaceId, '/same_name'), token: a.token, payload: { name: 'same_name', multi_valued: false } });
        expectStatus(res, 200);
        assert.equal(res.body.version, 1);
      });

      test('a system property cannot be changed: 409 CONFLICT', async () => {
        const res = await t.request({ method: 'PATCH', url: props(a.workspaceId, '/email'), token: a.token, payload: { description: 'mine now' } });
        expectError(res, 409, 'CONFLICT');
        const read = await get(a.workspaceId, 'email');
        expectStatus(read, 200);
        assert.equal(read.body.version, 1);
      });

      test('an unknown field is 400', async () => {
        await create(a.workspaceId, { name: 'strict_patch', data_type: 'string' });
        const res = await t.request({ method: 'PATCH', url: props(a.workspaceId, '/strict_patch'), token: a.token, payload: { colour: 'red' } });
        assert.deepEqual(expectError(res, 400, 'VALIDATION_FAILED'), [{ field: 'colour', problem: 'is not a known field' }]);
      });

      test('PATCH on an unknown property is 404', async () => {
        const res = await t.request({ method: 'PATCH', url: props(a.workspaceId, '/never_made'), token: a.token, payload: { description: 'x' } });
        expectError(res, 404, 'NOT_FOUND');
      });
    });

    describe('archive, restore, purge', () => {
      test('DELETE archives: 204, still readable, hidden from lists, name still taken', async () => {
        await create(a.workspaceId, { name: 'to_archive', data_type: 'string' });
        const del = await t.request({ method: 'DELETE', url: props(a.workspaceId, '/to_archive'), token: a.token });
        expectStatus(del, 204);
        assert.equal(del.raw, '');

        const read = await get(a.workspaceId, 'to_archive');
        expectStatus(read, 200);
        assert.equal(read.body.archived, true);
        assert.equal(read.body.version, 2);

        const listed = await t.request({ method: 'GET', url: props(a.workspaceId, '?q=to_archive'), token: a.token });
        expectStatus(listed, 200);
        assert.deepEqual(namesOf(listed), []);
        const archived = await t.request({ method: 'GET', url: props(a.workspaceId, '?q=to_archive&archived=true'), token: a.token });
        expectStatus(archived, 200);
        assert.deepEqual(namesOf(archived), ['to_archive']);

        // Its display name (the name, by default) stays taken as well.
        const again = await t.request({ method: 'POST', url: props(a.workspaceId), token: a.token, payload: { name: 'TO_ARCHIVE', data_type: 'string' } });
        assert.deepEqual(expectError(again, 409, 'ALREADY_EXISTS').map((d) => d.field), ['name', 'display_name']);
      });

      test('restore: 200 with the property, archived false, listed again', async () => {
        await create(a.workspaceId, { name: 'to_restore', data_type: 'string' });
        expectStatus(await t.request({ method: 'DELETE', url: props(a.workspaceId, '/to_restore'), token: a.token }), 204);
        const res = await t.request({ method: 'POST', url: props(a.workspaceId, '/to_restore/restore'), token: a.token });
        expectStatus(res, 200);
        assert.equal(res.body.name, 'to_restore');
        assert.equal(res.body.archived, false);
        assert.equal(res.body.version, 3);
        assert.equal(res.headers.etag, '"3"');
        const listed = await t.request({ method: 'GET', url: props(a.workspaceId, '?q=to_restore'), token: a.token });
        expectStatus(listed, 200);
        assert.deepEqual(namesOf(listed), ['to_restore']);
      });

      test('purge: 202 with a queued job that ends done; the property is gone and its name, aliases and display name are free', async () => {
        const first = await create(a.workspaceId, { name: 'to_purge', display_name: 'Purge me', data_type: 'string', import_aliases: ['purge_col'] });
        const res = await t.request({ method: 'DELETE', url: props(a.workspaceId, '/to_purge?purge=true'), token: a.token });
        expectStatus(res, 202);
        const { job } = res.body;
        assert.equal(typeof job.id, 'string');
        assert.equal(job.type, 'purge_property');
        assert.equal(job.status, 'queued');
        assert.deepEqual(job.progress, { done: 0, total: 0 });

        await t.jobRunner.drain();
        const read = await t.request({ method: 'GET', url: `/v1/workspaces/${a.workspaceId}/jobs/${job.id}`, token: a.token });
        expectStatus(read, 200);
        assert.deepEqual({ ...read.body, updated_at: undefined }, { ...job, status: 'done', updated_at: undefined });

        expectError(await get(a.workspaceId, 'to_purge'), 404, 'NOT_FOUND');
        expectError(await get(a.workspaceId, first.id), 404, 'NOT_FOUND');
        const archived = await t.request({ method: 'GET', url: props(a.workspaceId, '?q=to_purge&archived=true'), token: a.token });
        expectStatus(archived, 200);
        assert.deepEqual(namesOf(archived), []);

        const second = await create(a.workspaceId, { name: 'TO_PURGE', display_name: 'Purge me', data_type: 'integer', import_aliases: ['purge_col'] });
        assert.notEqual(second.id, first.id);
        assert.notEqual(second.uid, first.uid);
        assert.equal(second.version, 1);
      });

      test('purging an archived property works too', async () => {
        await create(a.workspaceId, { name: 'archived_then_purged', data_type: 'string' });
        expectStatus(await t.request({ method: 'DELETE', url: props(a.workspaceId, '/archived_then_purged'), token: a.token }), 204);
        expectStatus(await t.request({ method: 'DELETE', url: props(a.workspaceId, '/archived_then_purged?purge=true'), token: a.token }), 202);
        expectError(await get(a.workspaceId, 'archived_then_purged'), 404, 'NOT_FOUND');
      });

      test('system properties cannot be archived, restored or purged: 409 CONFLICT', async () => {
        expectError(await t.request({ method: 'DELETE', url: props(a.workspaceId, '/email'), token: a.token }), 409, 'CONFLICT');
        expectError(await t.request({ method: 'DELETE', url: props(a.workspaceId, '/email?purge=true'), token: a.token }), 409, 'CONFLICT');
        expectError(await t.request({ method: 'POST', url: props(a.workspaceId, '/email/restore'), token: a.token }), 409, 'CONFLICT');
        const read = await get(a.workspaceId, 'email');
        expectStatus(read, 200);
        assert.equal(read.body.archived, false);
      });

      test('unknown property or job is 404', async () => {
        expectError(await t.request({ method: 'DELETE', url: props(a.workspaceId, '/ghost'), token: a.token }), 404, 'NOT_FOUND');
        expectError(await t.request({ method: 'DELETE', url: props(a.workspaceId, '/ghost?purge=true'), token: a.token }), 404, 'NOT_FOUND');
        expectError(await t.request({ method: 'POST', url: props(a.workspaceId, '/ghost/restore'), token: a.token }), 404, 'NOT_FOUND');
        expectError(await t.request({ method: 'GET', url: `/v1/workspaces/${a.workspaceId}/jobs/job_nothing`, token: a.token }), 404, 'NOT_FOUND');
      });
    });

    describe('history', () => {
      test('created, updated, archived, restored in order, with the acting key and each change', async () => {
        const other = await a.key(['properties:read', 'properties:write']);
        await create(a.workspaceId, { name: 'hist_prop', data_type: 'string', group: 'g' });
        const url = props(a.workspaceId, '/hist_prop');
        expectStatus(await t.request({ method: 'PATCH', url, token: other.token, payload: { description: 'Tier', group: null } }), 200);
        expectStatus(await t.request({ method: 'DELETE', url, token: a.token }), 204);
        const restored = await t.request({ method: 'POST', url: `${url}/restore`, token: other.token });
        expectStatus(restored, 200);

        const res = await t.request({ method: 'GET', url: `${url}/history`, token: a.token });
        expectStatus(res, 200);
        assert.equal(res.body.next_cursor, null);
        const entries = res.body.data;
        assert.deepEqual(
          entries.map((e: { version: number; action: string; key_id: string }) => [e.version, e.action, e.key_id]),
          [
            [1, 'created', a.keyId],
            [2, 'updated', other.id],
            [3, 'archived', a.keyId],
            [4, 'restored', other.id],
          ],
        );
        assert.deepEqual(entries[0].changes.name, { from: null, to: 'hist_prop' });
        assert.deepEqual(entries[0].changes.data_type, { from: null, to: 'string' });
        assert.deepEqual(entries[0].changes.group, { from: null, to: 'g' });
        assert.deepEqual(entries[1].changes, { description: { from: null, to: 'Tier' }, group: { from: 'g', to: null } });
        assert.deepEqual(entries[2].changes, { archived: { from: false, to: true } });
        assert.deepEqual(entries[3].changes, { archived: { from: true, to: false } });
        const times = entries.map((e: { at: string }) => e.at);
        assert.deepEqual([...times].sort(), times, 'oldest first');
        assert.equal(times[3], restored.body.updated_at);
      });

      test('the operator token is recorded as "operator"; history pages with a cursor', async () => {
        await create(a.workspaceId, { name: 'hist_paged', data_type: 'string' });
        const url = props(a.workspaceId, '/hist_paged');
        for (const description of ['one', 'two']) {
          expectStatus(await t.request({ method: 'PATCH', url, payload: { description } }), 200);
        }
        const first = await t.request({ method: 'GET', url: `${url}/history?limit=2`, token: a.token });
        expectStatus(first, 200);
        assert.deepEqual(first.body.data.map((e: { version: number }) => e.version), [1, 2]);
        assert.equal(first.body.data[1].key_id, 'operator');
        assert.equal(typeof first.body.next_cursor, 'string');
        const second = await t.request({ method: 'GET', url: `${url}/history?limit=2&cursor=${first.body.next_cursor}`, token: a.token });
        expectStatus(second, 200);
        assert.deepEqual(second.body.data.map((e: { version: number; changes: unknown }) => [e.version, e.changes]), [[3, { description: { from: 'one', to: 'two' } }]]);
        assert.equal(second.body.next_cursor, null);
      });

      test('history of an unknown property is 404', async () => {
        expectError(await t.request({ method: 'GET', url: props(a.workspaceId, '/ghost/history'), token: a.token }), 404, 'NOT_FOUND');
      });
    });

    describe('batch', () => {
      const batch = (ws: number, inputs: unknown[]) => t.request({ method: 'POST', url: props(ws, '/batch'), token: a.token, payload: { inputs } });

      async function expectAbsent(ws: number, ...names: string[]) {
        for (const name of names) expectError(await get(ws, name), 404, 'NOT_FOUND');
      }

      test('201 with every result, in input order', async () => {
        const res = await batch(a.workspaceId, [
          { name: 'b_zulu', data_type: 'string' },
          { name: 'b_alpha', data_type: 'integer', merge_function: 'sum' },
          { name: 'b_mike', data_type: 'enum', options: [{ value: 'x' }] },
        ]);
        expectStatus(res, 201);
        assert.deepEqual(
          res.body.results.map((p: { name: string; data_type: string; version: number }) => [p.name, p.data_type, p.version]),
          [
            ['b_zulu', 'string', 1],
            ['b_alpha', 'integer', 1],
            ['b_mike', 'enum', 1],
          ],
        );
        const read = await get(a.workspaceId, 'b_alpha');
        expectStatus(read, 200);
        assert.deepEqual(read.body, res.body.results[1]);
      });

      test('bad items: 400 listing every failing field as inputs[i].field, nothing created', async () => {
        const res = await batch(a.workspaceId, [
          { name: 'bb_ok', data_type: 'string' },
          { name: 'bad name', data_type: 'string' },
          { name: 'bb_ok_two', data_type: 'float', colour: 'red' },
        ]);
        const details = expectError(res, 400, 'VALIDATION_FAILED');
        assert.deepEqual(details.map((d) => d.field).sort(), ['inputs[1].name', 'inputs[2].colour', 'inputs[2].data_type']);
        await expectAbsent(a.workspaceId, 'bb_ok', 'bb_ok_two');
      });

      test('items breaking definition rules: 400 with each rule prefixed, nothing created', async () => {
        const res = await batch(a.workspaceId, [
          { name: 'br_enum', data_type: 'enum' },
          { name: 'br_ok', data_type: 'string' },
          { name: 'br_sum', data_type: 'string', merge_function: 'sum', unique: true, multi_valued: true },
        ]);
        const details = expectError(res, 400, 'VALIDATION_FAILED');
        assert.deepEqual(details.map((d) => d.field), ['inputs[0].options', 'inputs[2].merge_function', 'inputs[2].unique']);
        assert.deepEqual(details[1].allowed, ['update', 'keep', 'append']);
        await expectAbsent(a.workspaceId, 'br_enum', 'br_ok', 'br_sum');
      });

      test('names, aliases or display names repeated inside the batch: 400 naming the repeating field', async () => {
        const res = await batch(a.workspaceId, [
          { name: 'bd_one', data_type: 'string', import_aliases: ['bd_col'], display_name: 'BD label' },
          { name: 'BD_ONE', data_type: 'string' },
          { name: 'bd_two', data_type: 'string', import_aliases: ['BD_COL'] },
          { name: 'bd_three', data_type: 'string', display_name: 'bd LABEL' },
        ]);
        const details = expectError(res, 400, 'VALIDATION_FAILED');
        assert.deepEqual(details.map((d) => d.field), ['inputs[1].name', 'inputs[2].import_aliases[0]', 'inputs[3].display_name']);
        await expectAbsent(a.workspaceId, 'bd_one', 'bd_two', 'bd_three');
      });

      test('a clash with an existing property: 409 ALREADY_EXISTS, nothing created', async () => {
        await create(a.workspaceId, { name: 'bc_existing', data_type: 'string' });
        const res = await batch(a.workspaceId, [
          { name: 'bc_new', data_type: 'string' },
          { name: 'BC_EXISTING', data_type: 'string' },
          { name: 'bc_other', data_type: 'string', import_aliases: ['email_address'] },
        ]);
        const details = expectError(res, 409, 'ALREADY_EXISTS');
        // inputs[1]'s display name defaults to its name, so it clashes too.
        assert.deepEqual(details.map((d) => d.field), ['inputs[1].name', 'inputs[1].display_name', 'inputs[2].import_aliases[0]']);
        await expectAbsent(a.workspaceId, 'bc_new', 'bc_other');
      });

      test('more than 100 inputs, or none, is 400', async () => {
        const many = Array.from({ length: 101 }, (_, i) => ({ name: `bm_${i}`, data_type: 'string' }));
        assert.deepEqual(expectError(await batch(a.workspaceId, many), 400, 'VALIDATION_FAILED').map((d) => d.field), ['inputs']);
        await expectAbsent(a.workspaceId, 'bm_0');
        assert.deepEqual(expectError(await batch(a.workspaceId, []), 400, 'VALIDATION_FAILED').map((d) => d.field), ['inputs']);
      });

      test('exactly 100 inputs are accepted', async () => {
        const ws = await newWorkspace();
        const res = await batch(ws, Array.from({ length: 100 }, (_, i) => ({ name: `bh_${i}`, data_type: 'string' })));
        expectStatus(res, 201);
        assert.equal(res.body.results.length, 100);
        assert.equal(res.body.results[99].name, 'bh_99');
      });
    });

    describe('limits', () => {
      const limits = (ws: number) => t.request({ method: 'GET', url: `/v1/workspaces/${ws}/limits`, token: a.token });

      test('GET /limits counts custom properties only, against the default of 1000', async () => {
        const ws = await newWorkspace();
        const empty = await limits(ws);
        expectStatus(empty, 200);
        assert.deepEqual(empty.body, { custom_properties: { used: 0, limit: 1000 } });
        await create(ws, { name: 'counted_one', data_type: 'string' });
        await create(ws, { name: 'counted_two', data_type: 'string' });
        const two = await limits(ws);
        expectStatus(two, 200);
        assert.deepEqual(two.body, { custom_properties: { used: 2, limit: 1000 } });
      });

      test('past the workspace limit: 422 LIMIT_EXCEEDED, for one property or a batch; archived ones count, purged ones do not', async () => {
        const ws = await newWorkspace({ property_limit: 2 });
        await create(ws, { name: 'first', data_type: 'string' });
        const over = await t.request({ method: 'POST', url: props(ws, '/batch'), token: a.token, payload: { inputs: [{ name: 'second', data_type: 'string' }, { name: 'third', data_type: 'string' }] } });
        expectError(over, 422, 'LIMIT_EXCEEDED');
        expectError(await get(ws, 'second'), 404, 'NOT_FOUND');

        await create(ws, { name: 'second', data_type: 'string' });
        expectStatus(await t.request({ method: 'DELETE', url: props(ws, '/second'), token: a.token }), 204);
        const third = await t.request({ method: 'POST', url: props(ws, ''), token: a.token, payload: { name: 'third', data_type: 'string' } });
        expectError(third, 422, 'LIMIT_EXCEEDED');
        const full = await limits(ws);
        expectStatus(full, 200);
        assert.deepEqual(full.body, { custom_properties: { used: 2, limit: 2 } });

        expectStatus(await t.request({ method: 'DELETE', url: props(ws, '/second?purge=true'), token: a.token }), 202);
        await create(ws, { name: 'third', data_type: 'string' });
      });
    });

    describe('uniqueness', () => {
      const post = (ws: number, payload: Record<string, unknown>) => t.request({ method: 'POST', url: props(ws), token: a.token, payload });
      const clashFields = (res: Response) => expectError(res, 409, 'ALREADY_EXISTS').map((d) => d.field);

      test('names are unique case-insensitively', async () => {
        await create(a.workspaceId, { name: 'Score', data_type: 'integer' });
        assert.deepEqual(clashFields(await post(a.workspaceId, { name: 'score', data_type: 'integer', display_name: 'score 2' })), ['name']);
        assert.deepEqual(clashFields(await post(a.workspaceId, { name: 'SCORE', data_type: 'string', display_name: 'score 3' })), ['name']);
      });

      test('import aliases are unique across the names and aliases of the workspace', async () => {
        await create(a.workspaceId, { name: 'uq_aliased', data_type: 'string', import_aliases: ['uq_col'] });
        const cases: { title: string; payload: Record<string, unknown>; expected: string[] }[] = [
          { title: 'an alias equal to a name', payload: { name: 'uq_a', data_type: 'string', import_aliases: ['UQ_ALIASED'] }, expected: ['import_aliases[0]'] },
          { title: 'an alias equal to an alias', payload: { name: 'uq_b', data_type: 'string', import_aliases: ['fine', 'Uq_Col'] }, expected: ['import_aliases[1]'] },
          { title: 'an export alias equal to an alias', payload: { name: 'uq_c', data_type: 'string', export_alias: 'uq_col' }, expected: ['import_aliases[0]'] },
          { title: 'a name equal to an alias', payload: { name: 'uq_col', data_type: 'string' }, expected: ['name'] },
          { title: "a name equal to a system property's alias", payload: { name: 'email_address', data_type: 'string' }, expected: ['name'] },
        ];
        for (const { title, payload, expected } of cases) {
          assert.deepEqual(clashFields(await post(a.workspaceId, payload)), expected, title);
          expectError(await get(a.workspaceId, payload.name as string), 404, 'NOT_FOUND');
        }
      });

      test('a PATCH may keep its own aliases but not take another property\'s', async () => {
        await create(a.workspaceId, { name: 'uq_patch', data_type: 'string', import_aliases: ['uq_patch_col'] });
        const url = props(a.workspaceId, '/uq_patch');
        const keep = await t.request({ method: 'PATCH', url, token: a.token, payload: { import_aliases: ['UQ_PATCH_COL', 'uq_patch_new'] } });
        expectStatus(keep, 200);
        assert.deepEqual(keep.body.import_aliases, ['UQ_PATCH_COL', 'uq_patch_new']);
        const take = await t.request({ method: 'PATCH', url, token: a.token, payload: { import_aliases: ['uq_patch_new', 'phone_number'] } });
        assert.deepEqual(clashFields(take), ['import_aliases[1]']);
        // The alias given up is free for another property.
        const removed = await t.request({ method: 'PATCH', url, token: a.token, payload: { import_aliases: [] } });
        expectStatus(removed, 200);
        await create(a.workspaceId, { name: 'uq_patch_new', data_type: 'string' });
      });

      test('display names are unique case-insensitively, on create and on PATCH', async () => {
        assert.deepEqual(clashFields(await post(a.workspaceId, { name: 'my_email', data_type: 'email', display_name: 'EMAIL' })), ['display_name']);
        await create(a.workspaceId, { name: 'dn_one', data_type: 'string', display_name: 'Favourite colour' });
        // A display name defaults to the name, so it clashes too.
        await create(a.workspaceId, { name: 'dn_two', data_type: 'string', display_name: 'dn_three' });
        assert.deepEqual(clashFields(await post(a.workspaceId, { name: 'DN_THREE', data_type: 'string' })), ['display_name']);
        const patch = await t.request({ method: 'PATCH', url: props(a.workspaceId, '/dn_two'), token: a.token, payload: { display_name: 'favourite COLOUR' } });
        assert.deepEqual(clashFields(patch), ['display_name']);
        const own = await t.request({ method: 'PATCH', url: props(a.workspaceId, '/dn_one'), token: a.token, payload: { display_name: 'FAVOURITE colour' } });
        expectStatus(own, 200);
        assert.equal(own.body.display_name, 'FAVOURITE colour');
      });

      test('the same name, alias and display name in two workspaces is fine', async () => {
        const other = await newWorkspace();
        const payload = { name: 'shared_name', data_type: 'string', display_name: 'Shared', import_aliases: ['shared_col'] };
        const one = await create(a.workspaceId, payload);
        const two = await create(other, payload);
        assert.equal(one.name, two.name);
        const b = await createTenancy(t, 'Beta');
        await create(b.workspaceId, payload, b.token);
      });

      test("a key restricted to workspace A gets 404 on the tenant's workspace B", async () => {
        const wsB = await newWorkspace();
        await create(wsB, { name: 'only_in_b', data_type: 'string' });
        const restricted = await a.key(['properties:read', 'properties:write'], [a.workspaceId]);
        const own = await t.request({ method: 'GET', url: props(a.workspaceId), token: restricted.token });
        expectStatus(own, 200);
        expectError(await t.request({ method: 'GET', url: props(wsB), token: restricted.token }), 404, 'NOT_FOUND');
        expectError(await t.request({ method: 'GET', url: props(wsB, '/only_in_b'), token: restricted.token }), 404, 'NOT_FOUND');
        expectError(await t.request({ method: 'POST', url: props(wsB), token: restricted.token, payload: { name: 'sneaky', data_type: 'string' } }), 404, 'NOT_FOUND');
        expectError(await t.request({ method: 'GET', url: `/v1/workspaces/${wsB}/limits`, token: restricted.token }), 404, 'NOT_FOUND');
        expectError(await get(wsB, 'sneaky'), 404, 'NOT_FOUND');
      });
    });
  });
}
