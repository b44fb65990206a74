// Pages of property lists, kept until the workspace's dictionary changes. Reads far outnumber
// writes to a dictionary, and a page costs a query, a hundred row conversions and their
// serialisation. A change drops the workspace's pages here at once and, through the broadcast
// (Redis when configured), on every other server; entries also expire, as a last resort.
import type { Clock } from '../../shared/clock.ts';
import type { Broadcast } from '../../shared/broadcast.ts';

const CHANNEL = 'dictionary-changed';
const TTL_MS = 5_000;
const MAX_WORKSPACES = 1_000;

export type ListCache<T> = ReturnType<typeof createListCache<T>>;

export function createListCache<T>({ clock, broadcast }: { clock: Clock; broadcast: Broadcast }) {
  const byWorkspace = new Map<number, Map<string, { value: T; until: number }>>();
  broadcast.subscribe(CHANNEL, (message) => byWorkspace.delete(Number(message)));

  return {
    get(workspaceId: number, key: string): T | undefined {
      const hit = byWorkspace.get(workspaceId)?.get(key);
      return hit && hit.until > clock.now().getTime() ? hit.value : undefined;
    },
    set(workspaceId: number, key: string, value: T): void {
      let pages = byWorkspace.get(workspaceId);
      if (!pages) {
        if (byWorkspace.size >= MAX_WORKSPACES) byWorkspace.clear();
        pages = new Map();
        byWorkspace.set(workspaceId, pages);
      }
      if (pages.size >= 100) pages.clear();
      pages.set(key, { value, until: clock.now().getTime() + TTL_MS });
    },
    /** After a committed change: this server forgets at once, the others when the message arrives. */
    async changed(workspaceId: number): Promise<void> {
      byWorkspace.delete(workspaceId);
      await broadcast.publish(CHANNEL, String(workspaceId));
    },
  };
}
