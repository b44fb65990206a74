// The dictionary cache holds at most its share of memory: counted in properties, the least
// recently used entries leave first; a change hides a workspace's entries at once; an entry past
// its time is read again only when the definitions have moved. Then, through the API, a second
// server that never hears of a change.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createTenancy, createTestApp, expectStatus, OPERATOR_TOKEN, TEST_ENCRYPTION_KEY } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';
import { createDictionaryCache } from '../src/modules/properties/dictionary-cache.ts';
import { createLocalBroadcast } from '../src/shared/broadcast.ts';
import type { Clock } from '../src/shared/clock.ts';

const clock: Clock = { now: () => new Date(0) };
const page = (n: number) => ({ data: Array.from({ length: n }, (_, i) => ({ i })), next_cursor: null });

test('bounded by the properties it holds: the least recently used pages leave first', () => {
  const cache = createDictionaryCache<ReturnType<typeof page>>({ clock, broadcast: createLocalBroadcast() });
  // 600 pages of 100 properties: 60,000, over the bound of 50,000.
  for (let i = 0; i < 600; i++) cache.set(1, `page ${i}`, page(100));
  assert.equal(cache.get(1, 'page 0'), undefined);
  assert.equal(cache.get(1, 'page 99'), undefined);
  assert.equal(cache.get(1, 'page 100')?.data.length, 100);
  assert.equal(cache.get(1, 'page 599')?.data.length, 100);
});

test('a change hides the workspace entries, and only that workspace', async () => {
  const cache = createDictionaryCache<ReturnType<typeof page>>({ clock, broadcast: createLocalBroadcast() });
  cache.set(1, 'list', page(3));
  cache.set(2, 'list', page(4));
  await cache.changed(1);
  assert.equal(cache.get(1, 'list'), undefined);
  assert.equal(cache.get(2, 'list')?.data.length, 4);
});

test('requests that miss while a read is in flight share it; a change during the read hides what it read', async () => {
  const cache = createDictionaryCache<ReturnType<typeof page>>({ clock, broadcast: createLocalBroadcast() });
  let reads = 0;
  const pending: ((value: ReturnType<typeof page>) => void)[] = [];
  const finish = (value: ReturnType<typeof page>) => pending.splice(0).forEach((resolve) => resolve(value));
  const read = () => {
    reads++;
    return new Promise<ReturnType<typeof page>>((resolve) => pending.push(resolve));
  };
  const waiting = Array.from({ length: 50 }, () => cache.load(1, 'dictionary', read));
  assert.equal(reads, 1);
  finish(page(2));
  const values = await Promise.all(waiting);
  assert.ok(values.every((v) => v === values[0] && v.data.length === 2));
  assert.equal(cache.get(1, 'dictionary'), values[0]);

  // A read in a caller's transaction is its own.
  await cache.changed(1);
  const own = [cache.load(1, 'dictionary', read, false), cache.load(1, 'dictionary', read, false)];
  assert.equal(reads, 3);
  finish(page(3));
  assert.deepEqual((await Promise.all(own)).map((v) => v.data.length), [3, 3]);

  // The read started before the change: what it read is not kept for later requests.
  await cache.changed(1);
  const stale = cache.load(1, 'dictionary', read);
  await cache.changed(1);
  finish(page(4));
  assert.equal((await stale).data.length, 4);
  assert.equal(cache.get(1, 'dictionary'), undefined);
});

test('with a fingerprint, an entry past its time is read again only when the fingerprint has moved', async () => {
  // Not 0: the cache takes an entry set at time 0 for one without a time.
  let now = 1_000_000;
  const ticking: Clock = { now: () => new Date(now) };
  const cache = createDictionaryCache<ReturnType<typeof page>>({ clock: ticking, broadcast: createLocalBroadcast() });
  let reads = 0;
  let print = 'v1';
  const read = async () => page(++reads);
  const load = () => cache.load(1, 'dictionary', read, true, async () => print);
  const rows: { title: string; advanceMs: number; print: string; reads: number; same: boolean }[] = [
    { title: 'fresh: from memory', advanceMs: 1_000, print: 'v1', reads: 1, same: true },
    { title: 'past its time, unchanged: kept, not read', advanceMs: 10_000, print: 'v1', reads: 1, same: true },
    { title: 'past its time again, unchanged: still kept', advanceMs: 10_000, print: 'v1', reads: 1, same: true },
    { title: 'within its renewed time, changed elsewhere: from memory until it expires', advanceMs: 1_000, print: 'v2', reads: 1, same: true },
    { title: 'past its time, changed: read again', advanceMs: 10_000, print: 'v2', reads: 2, same: false },
    { title: 'the new read is kept under its own fingerprint', advanceMs: 10_000, print: 'v2', reads: 2, same: true },
  ];
  let last = await load();
  assert.equal(reads, 1);
  for (const row of rows) {
    now += row.advanceMs;
    print = row.print;
    const value = await load();
    assert.equal(reads, row.reads, row.title);
    assert.equal(value === last, row.same, row.title);
    last = value;
  }
  assert.equal(cache.stats.revalidated, 3);

  // A change still hides the entry at once, whatever the fingerprint says.
  await cache.changed(1);
  await load();
  assert.equal(reads, 3);
});

for (const dialect of dialects) {
  describe(`a server that misses a change's broadcast [${dialect.name}]`, () => {
    test('past the cache\'s time it sees the change, and reads every definition again only then', async () => {
      // Reads of every definition of a workspace (the dictionary), by either server.
      let dictionaryReads = 0;
      const t = await createTestApp(dialect, { onQuery: (sql) => void (/^select .* from "properties" where "workspace_id" = \S+ order by/.test(sql) && dictionaryReads++) });
      let now = Date.parse('2026-11-30T10:00:00Z');
      // The second server: same database, its own caches and clock, no broadcast from the first.
      const other = await buildApp({ db: t.db, runJobs: false, clock: { now: () => new Date(now) }, config: { ...loadConfig({}), adminToken: OPERATOR_TOKEN, encryptionKey: TEST_ENCRYPTION_KEY } });
      try {
        const a = await createTenancy(t, 'Missed');
        const ws = `/v1/workspaces/${a.workspaceId}`;
        expectStatus(await t.request({ method: 'POST', url: `${ws}/properties`, token: a.token, payload: { name: 'nickname', data_type: 'string' } }), 201);
        expectStatus(await t.request({ method: 'PUT', url: `${ws}/profiles/m-1`, token: a.token, payload: { properties: { nickname: 'Ace' } } }), 201);
        const read = async () => {
          const res = await other.app.inject({ method: 'GET', url: `${ws}/profiles/m-1`, headers: { authorization: `Bearer ${a.token}` } });
          assert.equal(res.statusCode, 200, res.body);
          return JSON.parse(res.body).properties as Record<string, unknown>;
        };
        // `reads`: the dictionary reads this GET makes.
        const rows: { title: string; before?: () => Promise<void>; advanceMs: number; properties: Record<string, unknown>; reads: 0 | 1 }[] = [
          { title: 'first read: the dictionary is read', advanceMs: 0, properties: { nickname: 'Ace' }, reads: 1 },
          { title: 'past its time, nothing changed: not read again', advanceMs: 6_000, properties: { nickname: 'Ace' }, reads: 0 },
          {
            title: 'archived on the first server, within the time: the old definition still shows',
            before: async () => expectStatus(await t.request({ method: 'DELETE', url: `${ws}/properties/nickname`, token: a.token }), 204),
            advanceMs: 1_000,
            properties: { nickname: 'Ace' },
            reads: 0,
          },
          { title: 'past its time: the change is seen, the dictionary read again', advanceMs: 6_000, properties: {}, reads: 1 },
        ];
        for (const row of rows) {
          await row.before?.();
          now += row.advanceMs;
          const before = dictionaryReads;
          assert.deepEqual(await read(), row.properties, row.title);
          assert.equal(dictionaryReads - before, row.reads, row.title);
        }
      } finally {
        await other.app.close();
        await t.close();
      }
    });
  });
}
