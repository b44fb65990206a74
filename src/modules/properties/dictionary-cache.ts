// Reads of a workspace's dictionary (list pages, single properties), kept until it changes.
// Reads far outnumber writes to a dictionary, and a read costs a query, row conversions and
// their serialisation. A change drops the workspace's entries here at once and, through the broadcast
// (Redis when configured), on every other server; entries also expire, as a last resort.
// The cache is bounded by what it holds, counted in properties (a page of 100 counts 100), so a
// few whole dictionaries of large workspaces cannot grow it past its share of memory.
import { LRUCache } from 'lru-cache';
import type { Clock } from '../../shared/clock.ts';
import type { Broadcast } from '../../shared/broadcast.ts';
import { cacheStats, counted } from '../../shared/cache-stats.ts';

const CHANNEL = 'dictionary-changed';
const TTL_MS = 5_000;
/** Properties held across every entry (about 1 KiB each); past it the least recently used go. */
const MAX_PROPERTIES = 50_000;

/** How many properties a cached read holds. */
function sizeOf(value: unknown): number {
  if (Array.isArray(value)) return Math.max(1, value.length);
  const v = value as { data?: unknown[]; items?: unknown[] };
  return Math.max(1, v.data?.length ?? v.items?.length ?? 1);
}

export function createDictionaryCache<T extends {}>({ clock, broadcast }: { clock: Clock; broadcast: Broadcast }) {
  const entries = new LRUCache<string, T>({
    maxSize: MAX_PROPERTIES,
    sizeCalculation: (value) => Math.min(sizeOf(value), MAX_PROPERTIES),
    ttl: TTL_MS,
    perf: { now: () => clock.now().getTime() },
    // Staleness is judged by the clock each time, not by a reading kept for a millisecond.
    ttlResolution: 0,
  });
  // A change moves the workspace to a new generation: its older entries are never read again
  // and leave as the cache evicts them.
  const generations = new Map<number, number>();
  const keyOf = (workspaceId: number, key: string) => `${workspaceId}:${generations.get(workspaceId) ?? 0}:${key}`;
  const forget = (workspaceId: number) => generations.set(workspaceId, (generations.get(workspaceId) ?? 0) + 1);
  broadcast.subscribe(CHANNEL, (message) => forget(Number(message)));
  const stats = { ...cacheStats(), revalidated: 0 };
  // The fingerprint each revalidated entry was read under.
  const prints = new WeakMap<T, string>();
  // Reads in flight, by entry key.
  const loading = new Map<string, Promise<T>>();

  return {
    /** Reads answered from memory, and read from the database (of those misses, `revalidated` only checked a fingerprint). */
    stats,
    get(workspaceId: number, key: string): T | undefined {
      return counted(stats, entries.get(keyOf(workspaceId, key)));
    },
    set(workspaceId: number, key: string, value: T): void {
      entries.set(keyOf(workspaceId, key), value);
    },
    /**
     * The entry, or what `read` gives, kept. Requests that miss while a read is in flight wait
     * for it rather than read again (`shared`: false for a read in a caller's transaction,
     * which must go through that connection). What is read is kept under the generation it
     * started in: a change landing meanwhile hides it, as the read may predate the change.
     * With `fingerprint` (a cheap summary of what `read` reads), an entry past its time is
     * kept for another while when the summary has not moved since it was read, instead of
     * being read again: a whole dictionary of 10,000 definitions costs over 100 ms to read.
     */
    async load(workspaceId: number, key: string, read: () => Promise<T>, shared = true, fingerprint?: () => Promise<string>): Promise<T> {
      const k = keyOf(workspaceId, key);
      const status: LRUCache.Status<string, T> = {};
      const found = entries.get(k, { allowStale: fingerprint !== undefined, status });
      if (found !== undefined && status.get === 'hit') {
        stats.hits++;
        return found;
      }
      stats.misses++;
      let pending = shared ? loading.get(k) : undefined;
      if (pending === undefined) {
        pending = (async () => {
          // Taken before the read: a change between the two moves the summary, so the next check reads again.
          const print = fingerprint && (await fingerprint());
          const unchanged = found !== undefined && print !== undefined && prints.get(found) === print;
          const value = unchanged ? found : await read();
          if (unchanged) stats.revalidated++;
          else if (print !== undefined) prints.set(value, print);
          entries.set(k, value);
          return value;
        })();
        if (shared) {
          loading.set(k, pending);
          const done = () => loading.delete(k);
          pending.then(done, done);
        }
      }
      return pending;
    },
    /** After a committed change: this server forgets at once, the others when the message arrives. */
    async changed(workspaceId: number): Promise<void> {
      forget(workspaceId);
      await broadcast.publish(CHANNEL, String(workspaceId));
    },
  };
}
