// Reads of a workspace's dictionary (list pages, single properties), kept until it changes.
// Reads far outnumber writes to a dictionary, and a read costs a query, row conversions and
// their serialisation. A change drops the workspace's entries here at once and, through the broadcast
// (Redis when configured), on every other server; entries also expire, as a last resort.
import type { Clock } from '../../shared/clock.ts';
import type { Broadcast } from '../../shared/broadcast.ts';

const CHANNEL = 'dictionary-changed';
const TTL_MS = 5_000;
/** Entries across every workspace; reaching it starts the cache afresh. */
const MAX_ENTRIES = 20_000;

export function createDictionaryCache<T>({ clock, broadcast }: { clock: Clock; broadcast: Broadcast }) {
  const byWorkspace = new Map<number, Map<string, { value: T; until: number }>>();
  let size = 0;
  const forget = (workspaceId: number) => {
    size -= byWorkspace.get(workspaceId)?.size ?? 0;
    byWorkspace.delete(workspaceId);
  };
  broadcast.subscribe(CHANNEL, (message) => forget(Number(message)));

  return {
    get(workspaceId: number, key: string): T | undefined {
      const hit = byWorkspace.get(workspaceId)?.get(key);
      return hit && hit.until > clock.now().getTime() ? hit.value : undefined;
    },
    set(workspaceId: number, key: string, value: T): void {
      if (size >= MAX_ENTRIES) {
        byWorkspace.clear();
        size = 0;
      }
      let entries = byWorkspace.get(workspaceId);
      if (!entries) {
        entries = new Map();
        byWorkspace.set(workspaceId, entries);
      }
      if (!entries.has(key)) size++;
      entries.set(key, { value, until: clock.now().getTime() + TTL_MS });
    },
    /** After a committed change: this server forgets at once, the others when the message arrives. */
    async changed(workspaceId: number): Promise<void> {
      forget(workspaceId);
      await broadcast.publish(CHANNEL, String(workspaceId));
    },
  };
}
