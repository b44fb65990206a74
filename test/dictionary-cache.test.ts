// The dictionary cache holds at most its share of memory: counted in properties, the least
// recently used entries leave first; a change hides a workspace's entries at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
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
