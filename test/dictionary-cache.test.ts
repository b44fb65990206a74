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
