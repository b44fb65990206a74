// Counters shared through Redis, so every server behind one balancer enforces one limit.
import { Redis } from 'ioredis';
import type { CounterStore } from './rate-limiter.ts';

// Checks every window and increments all of them only if each has room, atomically.
const TAKE = `
local room = 1
local counts = {}
for i = 1, #KEYS do
  counts[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  if counts[i] >= tonumber(ARGV[i * 2 - 1]) then room = 0 end
end
if room == 1 then
  for i = 1, #KEYS do
    counts[i] = redis.call('INCR', KEYS[i])
    if counts[i] == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[i * 2]) end
  end
end
table.insert(counts, 1, room)
return counts
`;

/** Keys are `<prefix>rl:...` (PROPDICT_REDIS_PREFIX), so deployments sharing a Redis keep their own counts. */
export function createRedisStore(url: string, prefix: string): CounterStore {
  const redis = new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
  redis.defineCommand('propdictTake', { lua: TAKE });
  const take = redis as Redis & { propdictTake(numKeys: number, ...args: (string | number)[]): Promise<number[]> };
  return {
    async take(slots) {
      const [taken, ...counts] = await take.propdictTake(
        slots.length,
        ...slots.map((s) => prefix + s.key),
        ...slots.flatMap((s) => [s.limit, Math.ceil(s.ttlMs)]),
      );
      return { taken: taken === 1, counts };
    },
    async close() {
      await redis.quit();
    },
  };
}
