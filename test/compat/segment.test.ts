// The Segment-compatible surface through inject: write keys, mapping of traits and ids,
// merges, out-of-order values, message ids, violations, and Segment's answers to bad input.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { createTenancy, createTestApp, expectError, expectStatus, type Response, type Tenancy, type TestApp } from '../helpers/app.ts';
import { dialects } from '../helpers/dialects.ts';
import { manualClock } from '../helpers/segment.ts';

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

/** A Segment answer: 200 {success: true}, or the status with {success: false, message}. */
function expectSegment(res: Response, status: number): string | undefined {
  expectStatus(res, status);
  if (status === 200) {
    assert.deepEqual(res.body, { success: true }, res.raw);
    return undefined;
  }
  assert.equal(res.body?.success, false, res.raw);
  assert.equal(typeof res.body.message, 'string', res.raw);
  return res.body.message as string;
}

for (const dialect of dialects) {
  describe(`Segment surface [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let ws: string;
    let sourceId: number;
    let key: string;
    const clock = manualClock('2026-11-29T12:00:00.000Z');

    const native = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
      t.request({ method, url: `${ws}${url}`, token: a.token, ...(payload === undefined ? {} : { payload: payload as object }) });
    const segment = (path: string, body: unknown, opts: { key?: string | null; headers?: Record<string, string>; raw?: Buffer | string; method?: 'POST' | 'GET' | 'PUT' | 'DELETE' } = {}) =>
      t.request({
        method: opts.method ?? 'POST',
        url: `/segment${path}`,
        token: null,
        headers: {
          ...(opts.key === null ? {} : { authorization: basic(opts.key ?? key) }),
          'content-type': 'application/json',
          ...opts.headers,
        },
        payload: opts.raw ?? JSON.stringify(body),
      });
    const byUser = async (userId: string) => {
      const res = await native('GET', `/profiles?filter[user_id][eq]=${encodeURIComponent(userId)}`);
      expectStatus(res, 200);
      return res.body.data as { id: string; properties: Record<string, unknown> }[];
    };
    const violations = async (query = '') => {
      const res = await native('GET', `/violations${query}`);
      expectStatus(res, 200);
      return res.body as { data: Record<string, unknown>[]; next_cursor: string | null };
    };
    const profileCount = async () => {
      const res = await native('GET', '/profiles?limit=1000');
      expectStatus(res, 200);
      return res.body.data.length as number;
    };

    before(async () => {
      t = await createTestApp(dialect, { clock });
      a = await createTenancy(t, 'Seg');
      ws = `/v1/workspaces/${a.workspaceId}`;
      for (const p of [
        { name: 'user_id', data_type: 'string', identity: { role: 'primary', priority: 1 } },
        { name: 'anon_id', data_type: 'string', identity: { role: 'primary', priority: 2 } },
        { name: 'plan', data_type: 'enum', options: [{ value: 'free' }, { value: 'pro' }], import_aliases: ['planName'] },
        { name: 'age', data_type: 'integer', validation: { minimum: 0, maximum: 150 } },
        { name: 'visits', data_type: 'integer', merge_function: 'sum' },
        { name: 'settings', data_type: 'json' },
        { name: 'internal_note', data_type: 'string', importable: false },
      ]) {
        expectStatus(await native('POST', '/properties', p), 201);
      }
      const source = await native('POST', '/sources', { name: 'web-app', priority: 2, user_id_property: 'user_id', anonymous_id_property: 'anon_id' });
      expectStatus(source, 201);
      assert.equal(source.body.user_id_property, 'user_id');
      assert.equal(source.body.anonymous_id_property, 'anon_id');
      sourceId = source.body.id;
      const created = await native('POST', `/sources/${sourceId}/write-keys`);
      expectStatus(created, 201);
      key = created.body.key;
    });
    after(() => t.close());

    describe('write keys', () => {
      test('created once with the key, listed without it, stored only as a hash', async () => {
        const made = await native('POST', `/sources/${sourceId}/write-keys`);
        expectStatus(made, 201);
        assert.match(made.body.key, new RegExp(`^pdw_${a.workspaceId}_[A-Za-z0-9_-]{43}$`));
        assert.deepEqual(Object.keys(made.body).sort(), ['created_at', 'id', 'key', 'source_id']);
        const list = await native('GET', `/sources/${sourceId}/write-keys`);
        expectStatus(list, 200);
        assert.ok(list.body.data.some((k: { id: string }) => k.id === made.body.id), list.raw);
        assert.ok(!list.raw.includes(made.body.key), 'the list never shows a key');
        const stored = await t.db.selectFrom('source_write_keys').selectAll().where('id', '=', made.body.id).executeTakeFirstOrThrow();
        assert.notEqual(stored.key_hash, made.body.key);
        assert.ok(!JSON.stringify(stored).includes(made.body.key.slice(-43)), 'no part of the secret is stored');
      });

      test('a revoked key answers 401 at once; revoking twice is 404', async () => {
        const made = await native('POST', `/sources/${sourceId}/write-keys`);
        expectStatus(made, 201);
        expectSegment(await segment('/v1/identify', { userId: 'rev-1' }, { key: made.body.key }), 200);
        expectStatus(await native('DELETE', `/sources/${sourceId}/write-keys/${made.body.id}`), 204);
        expectSegment(await segment('/v1/identify', { userId: 'rev-2' }, { key: made.body.key }), 401);
        assert.equal((await byUser('rev-2')).length, 0);
        expectError(await native('DELETE', `/sources/${sourceId}/write-keys/${made.body.id}`), 404, 'NOT_FOUND');
      });

      test('a source that does not exist has no keys (404)', async () => {
        expectError(await native('POST', '/sources/999/write-keys'), 404, 'NOT_FOUND');
        expectError(await native('GET', '/sources/999/write-keys'), 404, 'NOT_FOUND');
      });

      test('source identity properties must be live identity properties', async () => {
        const res = await native('POST', '/sources', { name: 'bad', user_id_property: 'plan', anonymous_id_property: 'nope' });
        const details = expectError(res, 400, 'VALIDATION_FAILED');
        assert.deepEqual(details.map((d) => d.field).sort(), ['anonymous_id_property', 'user_id_property']);
        const same = await native('POST', '/sources', { name: 'same', user_id_property: 'user_id', anonymous_id_property: 'user_id' });
        assert.equal(expectError(same, 400, 'VALIDATION_FAILED')[0].field, 'anonymous_id_property');
      });

      test('a property a source writes ids to cannot be purged', async () => {
        const res = await native('DELETE', '/properties/anon_id?purge=true');
        expectError(res, 409, 'CONFLICT');
        assert.match(res.body.error.message, /web-app/);
      });
    });

    describe('identify', () => {
      test('traits map by name then import alias, case-insensitively; refused traits become violations and the rest is written', async () => {
        const res = await segment('/v1/identify', {
          userId: 'u-1',
          traits: { firstName: 'Ana', EMAIL: 'Ana@Example.com', planName: 'pro', age: 'old', favoriteColor: 'green', internal_note: 'x', id: 'u-1' },
          messageId: 'identify-1',
        });
        expectSegment(res, 200);
        const [profile] = await byUser('u-1');
        assert.deepEqual(profile.properties, { email: 'ana@example.com', first_name: 'Ana', plan: 'pro', user_id: 'u-1' });
        const { data } = await violations(`?source_id=${sourceId}`);
        const find = (trait: string) => data.find((v) => v.trait === trait);
        assert.deepEqual(
          { ...find('favoriteColor'), first_seen: undefined, last_seen: undefined },
          { source_id: sourceId, trait: 'favoriteColor', property: null, problem: 'unknown', message: 'matches no property name or import alias of this workspace', count: 1, first_seen: undefined, last_seen: undefined, sample: '"g***" (5 characters)' },
        );
        assert.deepEqual([find('age')?.problem, find('age')?.property, find('age')?.message], ['invalid_value', 'age', 'must be an integer']);
        assert.deepEqual([find('internal_note')?.problem, find('id')?.problem], ['not_importable', 'reserved']);
      });

      test('a trait that reaches a property the id or another trait already writes is refused as a duplicate', async () => {
        expectSegment(await segment('/v1/identify', { userId: 'u-dup', traits: { user_id: 'u-other', plan: 'pro', planName: 'free' } }), 200);
        const [profile] = await byUser('u-dup');
        assert.deepEqual(profile.properties, { plan: 'pro', user_id: 'u-dup' });
        const { data } = await violations(`?source_id=${sourceId}&problem=duplicate`);
        assert.deepEqual(
          data.map((v) => [v.trait, v.property, v.message]).sort(),
          [
            ['planName', 'plan', 'reaches a property an earlier trait already writes'],
            ['user_id', 'user_id', 'reaches user_id, which userId already writes'],
          ],
          JSON.stringify(data),
        );
      });

      test('the source priority applies: its values do not replace those of a higher-priority source', async () => {
        expectStatus(await native('POST', '/sources', { name: 'crm', priority: 1 }), 201);
        const batch = await native('POST', '/profiles/batch', { inputs: [{ properties: { user_id: 'u-prio', plan: 'pro' }, source: 'crm' }] });
        expectStatus(batch, 200);
        expectSegment(await segment('/v1/identify', { userId: 'u-prio', traits: { plan: 'free' } }), 200);
        assert.equal((await byUser('u-prio'))[0].properties.plan, 'pro');
      });

      test('anonymous then identified: a call carrying both ids merges the two profiles', async () => {
        expectSegment(await segment('/v1/identify', { anonymousId: 'anon-7', traits: { age: 30, visits: 2 } }), 200);
        expectSegment(await segment('/v1/identify', { userId: 'u-7', traits: { visits: 3 } }), 200);
        assert.equal((await native('GET', '/profiles?filter[anon_id][eq]=anon-7')).body.data.length, 1);
        expectSegment(await segment('/v1/track', { userId: 'u-7', anonymousId: 'anon-7', event: 'Signed Up' }), 200);
        const [merged] = await byUser('u-7');
        assert.deepEqual(merged.properties, { age: 30, anon_id: 'anon-7', user_id: 'u-7', visits: 5 });
      });

      // alias(previousId, userId): the profiles holding previousId merge into the one holding
      // userId; a former user id keeps naming the survivor. `before`: calls made first; `alias`:
      // the call under test; `properties`: the survivor's after it; `gone`: user ids no profile
      // holds any more; `after`: calls then made with the old ids, and what the survivor holds then.
      const aliasRules: {
        title: string;
        before: [string, object][];
        alias: [string, object];
        user: string;
        properties: Record<string, unknown>;
        gone?: string[];
        after?: { calls: [string, object][]; properties: Record<string, unknown> };
      }[] = [
        {
          title: 'previousId held as an anonymous id',
          before: [['/v1/identify', { anonymousId: 'al-a1', traits: { planName: 'free', visits: 1 } }], ['/v1/identify', { userId: 'al-u1', traits: { age: 41 } }]],
          alias: ['/v1/alias', { previousId: 'al-a1', userId: 'al-u1' }],
          user: 'al-u1',
          properties: { age: 41, anon_id: 'al-a1', plan: 'free', user_id: 'al-u1', visits: 1 },
          after: { calls: [['/v1/identify', { anonymousId: 'al-a1', traits: { visits: 1 } }]], properties: { age: 41, anon_id: 'al-a1', plan: 'free', user_id: 'al-u1', visits: 2 } },
        },
        {
          title: 'previousId held as a user id (the older profile merges into the newer one holding userId)',
          before: [['/v1/identify', { userId: 'al-old', traits: { planName: 'pro', visits: 2 } }], ['/v1/identify', { userId: 'al-new', traits: { age: 30, visits: 3 } }]],
          alias: ['/v1/alias', { previousId: 'al-old', userId: 'al-new' }],
          user: 'al-new',
          properties: { age: 30, plan: 'pro', user_id: 'al-new', visits: 5 },
          gone: ['al-old'],
          after: { calls: [['/v1/identify', { userId: 'al-old', traits: { visits: 1, age: 31 } }]], properties: { age: 31, plan: 'pro', user_id: 'al-new', visits: 6 } },
        },
        {
          title: 'previousId held as a user id, userId held by no profile: that profile takes userId',
          before: [['/v1/identify', { userId: 'al-old2', traits: { visits: 1 } }]],
          alias: ['/v1/alias', { previousId: 'al-old2', userId: 'al-new2' }],
          user: 'al-new2',
          properties: { user_id: 'al-new2', visits: 1 },
          gone: ['al-old2'],
          after: { calls: [['/v1/identify', { userId: 'al-old2', traits: { visits: 1 } }], ['/v1/identify', { userId: 'al-new2', traits: { visits: 1 } }]], properties: { user_id: 'al-new2', visits: 3 } },
        },
        {
          title: 'a user id the merged profile held besides an anonymous previousId is retired too',
          before: [['/v1/identify', { userId: 'al-b5', anonymousId: 'al-a5', traits: { visits: 1 } }], ['/v1/identify', { userId: 'al-u5', traits: { visits: 1 } }]],
          alias: ['/v1/alias', { previousId: 'al-a5', userId: 'al-u5' }],
          user: 'al-u5',
          properties: { anon_id: 'al-a5', user_id: 'al-u5', visits: 2 },
          gone: ['al-b5'],
          after: { calls: [['/v1/identify', { userId: 'al-b5', traits: { visits: 1 } }]], properties: { anon_id: 'al-a5', user_id: 'al-u5', visits: 3 } },
        },
        {
          title: 'an unknown previousId is written as an anonymous id beside userId',
          before: [],
          alias: ['/v1/alias', { previousId: 'al-unknown', userId: 'al-u6' }],
          user: 'al-u6',
          properties: { anon_id: 'al-unknown', user_id: 'al-u6' },
          after: { calls: [['/v1/identify', { anonymousId: 'al-unknown', traits: { visits: 1 } }]], properties: { anon_id: 'al-unknown', user_id: 'al-u6', visits: 1 } },
        },
        {
          title: 'previousId equal to userId names one profile and writes no anonymous id',
          before: [['/v1/identify', { userId: 'al-same', traits: { visits: 1 } }]],
          alias: ['/v1/alias', { previousId: 'al-same', userId: 'al-same' }],
          user: 'al-same',
          properties: { user_id: 'al-same', visits: 1 },
        },
        {
          title: 'an alias already merged changes nothing',
          before: [['/v1/identify', { userId: 'al-old7', traits: { visits: 2 } }], ['/v1/identify', { userId: 'al-new7', traits: { visits: 3 } }], ['/v1/alias', { previousId: 'al-old7', userId: 'al-new7' }]],
          alias: ['/v1/alias', { previousId: 'al-old7', userId: 'al-new7' }],
          user: 'al-new7',
          properties: { user_id: 'al-new7', visits: 5 },
          gone: ['al-old7'],
          after: { calls: [['/v1/identify', { userId: 'al-old7', traits: { visits: 1 } }]], properties: { user_id: 'al-new7', visits: 6 } },
        },
        {
          title: 'in a batch, an alias applies after the calls before it',
          before: [],
          alias: ['/v1/batch', { batch: [{ type: 'identify', userId: 'al-old8', traits: { visits: 1 } }, { type: 'alias', previousId: 'al-old8', userId: 'al-new8' }, { type: 'identify', userId: 'al-new8', traits: { visits: 2 } }] }],
          user: 'al-new8',
          properties: { user_id: 'al-new8', visits: 3 },
          gone: ['al-old8'],
        },
      ];
      for (const rule of aliasRules) {
        test(`alias: ${rule.title}`, async () => {
          for (const [path, body] of rule.before) expectSegment(await segment(path, body), 200);
          // The profiles the ids of the calls before name: afterwards each id answers with the survivor.
          const named = new Map<string, string>();
          for (const [, body] of rule.before) {
            for (const [field, property] of [['userId', 'user_id'], ['anonymousId', 'anon_id']] as const) {
              const value = (body as Record<string, string>)[field];
              if (value === undefined) continue;
              const found = await native('GET', `/profiles?filter[${property}][eq]=${value}`);
              expectStatus(found, 200);
              for (const p of found.body.data) named.set(value, p.id);
            }
          }
          const count = await profileCount();
          expectSegment(await segment(...rule.alias), 200);
          const holders = await byUser(rule.user);
          assert.equal(holders.length, 1, JSON.stringify(holders));
          const [survivor] = holders;
          assert.deepEqual(survivor.properties, rule.properties);
          if (named.has(rule.user)) assert.equal(survivor.id, named.get(rule.user), 'the profile holding userId survives');
          for (const id of new Set(named.values())) {
            const res = await native('GET', `/profiles/${id}`);
            expectStatus(res, 200);
            assert.equal(res.body.id, survivor.id, `profile ${id} answers with the survivor`);
          }
          for (const user of rule.gone ?? []) assert.deepEqual(await byUser(user), [], `no profile holds ${user}`);
          const afterAlias = await profileCount();
          if (rule.before.length > 0) assert.equal(afterAlias, count - new Set(named.values()).size + 1);
          if (rule.after) {
            for (const [path, body] of rule.after.calls) expectSegment(await segment(path, body), 200);
            assert.equal(await profileCount(), afterAlias, 'calls with the old ids created no profile');
            const [later] = await byUser(rule.user);
            assert.equal(later.id, survivor.id);
            assert.deepEqual(later.properties, rule.after.properties);
            for (const user of rule.gone ?? []) assert.deepEqual(await byUser(user), [], `${user} is still retired`);
          }
        });
      }

      test('a source without an anonymous id property merges former user ids, and refuses only an unknown previousId', async () => {
        const source = await native('POST', '/sources', { name: 'server', user_id_property: 'user_id' });
        expectStatus(source, 201);
        const made = await native('POST', `/sources/${source.body.id}/write-keys`);
        expectStatus(made, 201);
        const server = (path: string, body: object) => segment(path, body, { key: made.body.key });
        expectSegment(await server('/v1/identify', { userId: 'sv-old', traits: { visits: 1 } }), 200);
        expectSegment(await server('/v1/identify', { userId: 'sv-new', traits: { visits: 2 } }), 200);
        expectSegment(await server('/v1/alias', { previousId: 'sv-old', userId: 'sv-new' }), 200);
        assert.deepEqual((await byUser('sv-new')).map((p) => p.properties), [{ user_id: 'sv-new', visits: 3 }]);
        assert.deepEqual((await violations(`?source_id=${source.body.id}&trait=previousId`)).data, []);
        expectSegment(await server('/v1/alias', { previousId: 'sv-nobody', userId: 'sv-new' }), 200);
        const refused = (await violations(`?source_id=${source.body.id}&trait=previousId`)).data;
        assert.deepEqual(refused.map((v) => [v.problem, v.count]), [['no_identity_property', 1]], JSON.stringify(refused));
      });

      test('erasing the survivor forgets the user ids retired into it', async () => {
        expectSegment(await segment('/v1/identify', { userId: 'al-old9', traits: { visits: 1 } }), 200);
        const [old] = await byUser('al-old9');
        expectSegment(await segment('/v1/identify', { userId: 'al-new9' }), 200);
        expectSegment(await segment('/v1/alias', { previousId: 'al-old9', userId: 'al-new9' }), 200);
        const [survivor] = await byUser('al-new9');
        const retired = () => t.db.selectFrom('profile_former_keys').select('profile_id').where('workspace_id', '=', a.workspaceId).where('profile_id', 'in', [old.id, survivor.id]).execute();
        assert.equal((await retired()).length, 1);
        expectStatus(await native('DELETE', `/profiles/${survivor.id}`), 204);
        assert.deepEqual(await retired(), []);
        expectSegment(await segment('/v1/identify', { userId: 'al-old9', traits: { visits: 1 } }), 200);
        const [again] = await byUser('al-old9');
        assert.ok(again && again.id !== old.id && again.id !== survivor.id, JSON.stringify(again));
        assert.deepEqual(again.properties, { user_id: 'al-old9', visits: 1 });
      });

      test('a user id property that stops being an identity forgets its retired ids; purged, it leaves none', async () => {
        expectStatus(await native('POST', '/properties', { name: 'member_id', data_type: 'string', identity: { role: 'primary' } }), 201);
        const source = await native('POST', '/sources', { name: 'members', user_id_property: 'member_id' });
        expectStatus(source, 201);
        const made = await native('POST', `/sources/${source.body.id}/write-keys`);
        expectStatus(made, 201);
        const members = (path: string, body: object) => segment(path, body, { key: made.body.key });
        const byMember = async (id: string) => {
          const res = await native('GET', `/profiles?filter[member_id][eq]=${id}`);
          expectStatus(res, 200);
          return res.body.data as { id: string; properties: Record<string, unknown> }[];
        };
        const property = await native('GET', '/properties/member_id');
        expectStatus(property, 200);
        const retired = () => t.db.selectFrom('profile_former_keys').select('value_key').where('workspace_id', '=', a.workspaceId).where('property_id', '=', property.body.id).execute().then((rows) => rows.map((r) => r.value_key));
        /** Applies a change of member_id through the change flow and waits for it to land. */
        const change = async (fields: object) => {
          const current = await native('GET', '/properties/member_id');
          expectStatus(current, 200);
          const started = await t.request({ method: 'POST', url: `${ws}/properties/member_id/changes`, token: a.token, headers: { 'if-match': `"${current.body.version}"` }, payload: { ...fields, on_failure: 'abort' } });
          expectStatus(started, 202);
          await t.jobRunner.drain();
          const job = await native('GET', `/jobs/${started.body.job.id}`);
          expectStatus(job, 200);
          assert.equal(job.body.status, 'done', job.raw);
        };

        expectSegment(await members('/v1/identify', { userId: 'm-old', traits: { visits: 1 } }), 200);
        expectSegment(await members('/v1/identify', { userId: 'm-new', traits: { visits: 2 } }), 200);
        expectSegment(await members('/v1/alias', { previousId: 'm-old', userId: 'm-new' }), 200);
        const [survivor] = await byMember('m-new');
        assert.deepEqual(await retired(), ['m-old']);

        // Off: the retired id goes with the keys. On again (a change: a profile holds a value),
        // the id finds only what holds it now, so a call with it makes a profile of its own.
        const off = await native('PATCH', '/properties/member_id', { identity: { role: 'none' } });
        expectStatus(off, 200);
        assert.deepEqual(await retired(), []);
        await change({ identity: { role: 'primary' } });
        expectSegment(await members('/v1/identify', { userId: 'm-old', traits: { visits: 5 } }), 200);
        const [again] = await byMember('m-old');
        assert.ok(again && again.id !== survivor.id, JSON.stringify(again));
        assert.deepEqual(again.properties, { member_id: 'm-old', visits: 5 });

        // Retired again, then off by a change: forgotten the same way.
        expectSegment(await members('/v1/alias', { previousId: 'm-old', userId: 'm-new' }), 200);
        assert.deepEqual(await retired(), ['m-old']);
        await change({ identity: { role: 'none' } });
        assert.deepEqual(await retired(), []);

        // On again, retired again, then the property purged (its source deleted first): nothing of it is left.
        await change({ identity: { role: 'primary' } });
        expectSegment(await members('/v1/identify', { userId: 'm-old' }), 200);
        expectSegment(await members('/v1/alias', { previousId: 'm-old', userId: 'm-new' }), 200);
        assert.deepEqual(await retired(), ['m-old']);
        expectStatus(await native('DELETE', `/sources/${source.body.id}`), 204);
        expectStatus(await native('DELETE', '/properties/member_id?purge=true'), 202);
        await t.jobRunner.drain();
        assert.deepEqual(await retired(), []);
        const keys = await t.db.selectFrom('profile_keys').select('value_key').where('workspace_id', '=', a.workspaceId).where('property_id', '=', property.body.id).execute();
        assert.deepEqual(keys, []);
      });

      test('timestamps date the values: an older call does not replace a newer value', async () => {
        expectSegment(await segment('/v1/identify', { userId: 'u-9', traits: { age: 40 }, timestamp: '2026-11-29T11:00:00Z' }), 200);
        expectSegment(await segment('/v1/identify', { userId: 'u-9', traits: { age: 39 }, timestamp: '2026-11-29T10:00:00Z' }), 200);
        assert.equal((await byUser('u-9'))[0].properties.age, 40);
        expectSegment(await segment('/v1/identify', { userId: 'u-9', traits: { age: 41 }, timestamp: '2026-11-29T11:30:00Z' }), 200);
        assert.equal((await byUser('u-9'))[0].properties.age, 41);
      });

      test('a timestamp is moved by the sender clock skew (receivedAt − sentAt)', async () => {
        // The sender's clock is two hours behind ours: its 10:30 is our 12:30, later than the stored 11:30.
        expectSegment(await segment('/v1/identify', { userId: 'u-9', traits: { age: 42 }, timestamp: '2026-11-29T09:59:00Z', sentAt: '2026-11-29T10:00:00Z' }), 200);
        const res = await native('GET', `/profiles/${(await byUser('u-9'))[0].id}?include=provenance`);
        expectStatus(res, 200);
        assert.deepEqual([res.body.properties.age, res.body.provenance.age], [42, { source: 'web-app', updated_at: '2026-11-29T11:59:00.000Z' }]);
      });

      test('context.traits of track, page, screen and group are applied; group traits are not the user’s', async () => {
        for (const [type, extra] of [['track', { event: 'x' }], ['page', { name: 'Home' }], ['screen', { name: 'Main' }], ['group', { groupId: 'g1', traits: { plan: 'free' } }]] as const) {
          expectSegment(await segment(`/v1/${type}`, { userId: `u-ctx-${type}`, context: { traits: { age: 20 } }, ...extra }), 200);
          assert.deepEqual((await byUser(`u-ctx-${type}`))[0].properties, { age: 20, user_id: `u-ctx-${type}` }, type);
        }
      });

      test('messageId makes a call idempotent for 24 hours', async () => {
        const call = { userId: 'u-dup', traits: { visits: 1 }, messageId: 'dup-1' };
        expectSegment(await segment('/v1/identify', call), 200);
        expectSegment(await segment('/v1/identify', call), 200);
        expectSegment(await segment('/v1/batch', { batch: [{ ...call, type: 'identify' }, { ...call, type: 'identify', messageId: 'dup-2' }, { ...call, type: 'identify', messageId: 'dup-2' }] }), 200);
        assert.equal((await byUser('u-dup'))[0].properties.visits, 2);
        clock.advance(24 * 60 * 60 * 1000 + 1);
        expectSegment(await segment('/v1/identify', call), 200);
        assert.equal((await byUser('u-dup'))[0].properties.visits, 3);
      });
    });

    describe('batch', () => {
      test('a batch is one unit of work: a call the store refuses never sinks the others', async () => {
        expectStatus(await native('PUT', '/profiles/holder', { properties: { email: 'held@example.com', user_id: 'u-holder' } }), 201);
        const res = await segment('/v1/batch', {
          batch: [
            { type: 'identify', userId: 'b-1', traits: { age: 1 } },
            // email is unique and a primary identity: this one merges with "holder"... unless age breaks its rule:
            { type: 'identify', userId: 'b-2', traits: { age: 500, plan: 'pro' } },
            { type: 'identify', userId: 'b-3', traits: { visits: 9007199254740991 } },
            { type: 'identify', userId: 'b-3', traits: { visits: 5 } },
            { type: 'identify', traits: { age: 3 } },
            { type: 'launch', userId: 'b-4' },
            'not a call',
          ],
        });
        expectSegment(res, 200);
        assert.equal((await byUser('b-1'))[0].properties.age, 1);
        assert.deepEqual((await byUser('b-2'))[0].properties, { plan: 'pro', user_id: 'b-2' });
        // The sum past the largest safe integer is refused by the store; the call is written without it.
        assert.deepEqual((await byUser('b-3'))[0].properties, { user_id: 'b-3', visits: 9007199254740991 });
        const { data } = await violations('?problem=rejected');
        assert.ok(data.some((v) => v.trait === 'visits' && v.property === 'visits'), JSON.stringify(data));
        const invalid = await violations('?problem=invalid_call');
        assert.deepEqual(invalid.data.map((v) => v.message).sort(), ['a call must be a JSON object', 'type must be one of identify, track, page, screen, group, alias']);
        assert.equal((await violations('?problem=no_identifier')).data[0].message, 'a call needs a userId or an anonymousId');
      });

      test('batch context traits and /v1/import; writeKey in the body', async () => {
        const res = await segment('/v1/import', { writeKey: key, context: { traits: { plan: 'free' } }, batch: [{ type: 'identify', userId: 'imp-1', traits: { age: 5 } }] }, { key: null });
        expectSegment(res, 200);
        assert.deepEqual((await byUser('imp-1'))[0].properties, { age: 5, plan: 'free', user_id: 'imp-1' });
      });

      test('gzip bodies labelled as a form are read as JSON', async () => {
        const body = gzipSync(JSON.stringify({ batch: [{ type: 'identify', userId: 'gz-1', traits: { age: 7 } }] }));
        const res = await segment('/v1/batch', undefined, { raw: body, headers: { 'content-encoding': 'gzip', 'content-type': 'application/x-www-form-urlencoded' } });
        expectSegment(res, 200);
        assert.equal((await byUser('gz-1'))[0].properties.age, 7);
      });

      test('a body is read as JSON whatever its Content-Type, or without one', async () => {
        expectSegment(await segment('/v1/identify', { userId: 'ct-1' }, { headers: { 'content-type': 'text/plain' } }), 200);
        const bare = await t.app.inject({ method: 'POST', url: '/segment/v1/identify', headers: { authorization: basic(key) }, payload: Buffer.from('{"userId": "ct-2"}') });
        assert.deepEqual([bare.statusCode, bare.json()], [200, { success: true }]);
        assert.equal((await byUser('ct-1')).length + (await byUser('ct-2')).length, 2);
      });

      test('an oversized call in a batch is refused alone', async () => {
        const res = await segment('/v1/batch', {
          batch: [
            { type: 'identify', userId: 'big-1', traits: { note: 'x'.repeat(40_000) } },
            { type: 'identify', userId: 'big-2', traits: { age: 2 } },
          ],
        });
        expectSegment(res, 200);
        assert.equal((await byUser('big-1')).length, 0);
        assert.equal((await byUser('big-2')).length, 1);
        assert.equal((await violations('?problem=call_too_large')).data[0].count, 1);
      });
    });

    test('the surface has its own OpenAPI document, with the write key; the native one keeps write keys and violations', async () => {
      const res = await t.request({ method: 'GET', url: '/segment/openapi.json', token: null });
      expectStatus(res, 200);
      assert.deepEqual(res.body.servers, [{ url: '/segment', description: 'This server, in place of https://api.segment.io' }]);
      assert.deepEqual(res.body.security, [{ writeKey: [] }]);
      assert.equal(res.body.components.securitySchemes.writeKey.scheme, 'basic');
      const paths = res.body.paths as Record<string, Record<string, { operationId?: string }>>;
      for (const call of ['identify', 'track', 'page', 'screen', 'group', 'alias', 'batch', 'import']) {
        assert.equal(paths[`/v1/${call}`]?.post?.operationId, call, res.raw);
      }
      const native = await t.request({ method: 'GET', url: '/openapi.json', token: null });
      expectStatus(native, 200);
      assert.ok(native.body.paths['/v1/workspaces/{ws}/violations']?.get);
      assert.ok(native.body.paths['/v1/workspaces/{ws}/sources/{id}/write-keys']?.post);
      assert.deepEqual(Object.keys(native.body.paths).filter((p) => p.startsWith('/segment')), [], 'the native document leaves /segment out');
    });

    describe('violations list', () => {
      test('filtered by trait, property and problem; paged with a cursor; counts grow', async () => {
        for (let i = 0; i < 3; i++) expectSegment(await segment('/v1/identify', { userId: `vl-${i}`, traits: { shoeSize: 40 + i, hatSize: i } }), 200);
        const shoe = await violations('?trait=shoeSize');
        assert.equal(shoe.data.length, 1);
        assert.deepEqual([shoe.data[0].count, shoe.data[0].sample], [3, 'a number']);
        const page1 = await violations('?problem=unknown&limit=1');
        assert.equal(page1.data.length, 1);
        assert.ok(page1.next_cursor);
        const page2 = await violations(`?problem=unknown&limit=1&cursor=${page1.next_cursor}`);
        assert.notEqual(page2.data[0].trait, page1.data[0].trait);
        assert.equal((await violations('?property=age&problem=invalid_value')).data[0].trait, 'age');
        expectError(await native('GET', '/violations?problem=weird'), 400, 'VALIDATION_FAILED');
      });
    });

    describe('bad input answers as Segment would, never 5xx, nothing half-written', () => {
      const rules: { title: string; path: string; method?: 'GET' | 'PUT' | 'DELETE'; body?: unknown; raw?: Buffer | string; headers?: Record<string, string>; key?: string | null; status: number; message?: RegExp }[] = [
        { title: 'malformed JSON', path: '/v1/identify', raw: '{"userId": "x", ', status: 400, message: /not valid JSON/ },
        { title: 'an empty body', path: '/v1/batch', raw: '', status: 400, message: /empty/ },
        { title: 'a JSON array', path: '/v1/identify', raw: '[1]', status: 400 },
        { title: 'corrupt gzip', path: '/v1/batch', raw: Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5]), headers: { 'content-encoding': 'gzip' }, status: 400, message: /gzip/ },
        { title: 'a gzip bomb (1 KB inflating to 10 MB)', path: '/v1/batch', raw: gzipSync(`{"batch": [], "pad": "${' '.repeat(10_000_000)}"}`), headers: { 'content-encoding': 'gzip' }, status: 400, message: /500 KB/ },
        { title: 'an unknown content encoding', path: '/v1/batch', raw: '{}', headers: { 'content-encoding': 'br' }, status: 400, message: /br/ },
        { title: 'no identifiers', path: '/v1/identify', body: { traits: { age: 3 } }, status: 400, message: /userId or an anonymousId/ },
        { title: 'an alias without previousId', path: '/v1/alias', body: { userId: 'x' }, status: 400 },
        { title: 'an oversized call', path: '/v1/identify', body: { userId: 'x', traits: { a: 'x'.repeat(33_000) } }, status: 400, message: /32 KB/ },
        { title: 'an oversized batch', path: '/v1/batch', body: { batch: [{ type: 'identify', userId: 'x', traits: { a: 'x'.repeat(520_000) } }] }, status: 400, message: /500 KB/ },
        { title: 'batch not an array', path: '/v1/batch', body: { batch: { type: 'identify' } }, status: 400 },
        { title: 'a wrong write key', path: '/v1/identify', body: { userId: 'x' }, key: 'pdw_1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', status: 401 },
        { title: 'no write key', path: '/v1/identify', body: { userId: 'x' }, key: null, status: 401 },
        { title: 'an unknown endpoint', path: '/v1/purchase', body: {}, status: 404 },
        { title: 'an unknown path outside /v1', path: '/nothing/here', body: {}, status: 404, message: /No endpoint POST \/segment\/nothing\/here/ },
        { title: 'a wrong method', path: '/v1/identify', method: 'GET', status: 405, message: /GET is not allowed here; use POST/ },
        { title: 'a wrong method on the document', path: '/openapi.json', method: 'DELETE', status: 405, message: /use GET/ },
        { title: 'a URL that cannot be decoded', path: '/v1/%E0%A4%A', body: { userId: 'x' }, status: 400, message: /URL is not valid: url cannot be decoded/ },
        { title: 'a NUL character in the URL', path: '/v1/identify%00', body: { userId: 'x' }, status: 400, message: /URL is not valid: url holds a NUL character/ },
        { title: 'a NUL character in the query', path: '/v1/identify?x=%00', body: { userId: 'x' }, status: 400, message: /URL is not valid: x holds a NUL character/ },
        { title: 'a deflate content encoding', path: '/v1/identify', body: { userId: 'x' }, headers: { 'content-encoding': 'deflate' }, status: 400, message: /deflate/ },
      ];
      for (const rule of rules) {
        test(rule.title, async () => {
          const before = await profileCount();
          const res = await segment(rule.path, rule.body, { raw: rule.raw, headers: rule.headers, key: rule.key, method: rule.method });
          const message = expectSegment(res, rule.status);
          if (rule.message) assert.match(message!, rule.message);
          assert.equal(await profileCount(), before, 'nothing written');
        });
      }

      test('a key of another workspace writes to that workspace only; a key with another workspace id forged in is refused', async () => {
        const b = await createTenancy(t, 'Other');
        const bws = `/v1/workspaces/${b.workspaceId}`;
        expectStatus(await t.request({ method: 'POST', url: `${bws}/properties`, token: b.token, payload: { name: 'user_id', data_type: 'string', identity: { role: 'primary' } } }), 201);
        const src = await t.request({ method: 'POST', url: `${bws}/sources`, token: b.token, payload: { name: 'b-app', user_id_property: 'user_id' } });
        expectStatus(src, 201);
        const made = await t.request({ method: 'POST', url: `${bws}/sources/${src.body.id}/write-keys`, token: b.token });
        expectStatus(made, 201);
        expectSegment(await segment('/v1/identify', { userId: 'other-1' }, { key: made.body.key }), 200);
        assert.equal((await byUser('other-1')).length, 0);
        const inB = await t.request({ method: 'GET', url: `${bws}/profiles?filter[user_id][eq]=other-1`, token: b.token });
        expectStatus(inB, 200);
        assert.equal(inB.body.data.length, 1);
        const forged = made.body.key.replace(`pdw_${b.workspaceId}_`, `pdw_${a.workspaceId}_`);
        expectSegment(await segment('/v1/identify', { userId: 'other-2' }, { key: forged }), 401);
        // A tenant API key is not a write key either.
        expectSegment(await segment('/v1/identify', { userId: 'other-3' }, { key: a.token }), 401);
      });

      test('a batch of 10,000 tiny calls', async () => {
        const batch = Array.from({ length: 10_000 }, (_, i) => ({ type: 'identify', userId: `tiny-${i}` }));
        expectSegment(await segment('/v1/batch', { batch }), 200);
        assert.equal((await byUser('tiny-9999')).length, 1);
      });

      test('deep JSON in traits is refused as a value, not a crash', async () => {
        const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
        const raw = `{"batch": [{"type": "identify", "userId": "deep-1", "traits": {"settings": ${deep}, "age": 4}}], "context": {"x": ${deep}}}`;
        expectSegment(await segment('/v1/batch', undefined, { raw }), 200);
        const single = `{"userId": "deep-2", "traits": {"settings": ${'['.repeat(5_000)}${']'.repeat(5_000)}, "age": 4}}`;
        expectSegment(await segment('/v1/identify', undefined, { raw: single }), 200);
        assert.deepEqual((await byUser('deep-2'))[0].properties, { age: 4, user_id: 'deep-2' });
        const v = (await violations('?trait=settings')).data[0];
        assert.deepEqual([v.problem, v.message, v.sample], ['invalid_value', 'must nest at most 32 levels deep', 'an array of 1 items']);
        // The batch's call is over 32 KB (100,000 levels): refused alone.
        assert.equal((await byUser('deep-1')).length, 0);
      });

      test('a trait named __proto__ is an unknown trait, and pollutes nothing', async () => {
        const raw = '{"userId": "proto-1", "traits": {"__proto__": {"admin": true}, "constructor": {"prototype": {"admin": true}}, "age": 6}}';
        expectSegment(await segment('/v1/identify', undefined, { raw }), 200);
        assert.deepEqual((await byUser('proto-1'))[0].properties, { age: 6, user_id: 'proto-1' });
        assert.equal(({} as { admin?: boolean }).admin, undefined);
        assert.deepEqual((await violations('?trait=__proto__')).data.map((v) => v.problem), ['unknown']);
      });

      test('NUL characters in ids and values are refused, not stored', async () => {
        expectSegment(await segment('/v1/identify', { userId: 'nul\u0000id' }), 400);
        expectSegment(await segment('/v1/identify', { userId: 'nul-1', traits: { planName: 'pro\u0000', 'bad\u0000name': 1 } }), 200);
        assert.deepEqual((await byUser('nul-1'))[0].properties, { user_id: 'nul-1' });
      });
    });
  });
}
