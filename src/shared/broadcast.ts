// Messages to every server process: through Redis when REDIS_URL is set, else within this
// process only. Used to drop cached state (a revoked key) everywhere at once.
import { Redis } from 'ioredis';

export interface Broadcast {
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, handler: (message: string) => void): void;
  close(): Promise<void>;
}

export function createLocalBroadcast(): Broadcast {
  const handlers = new Map<string, ((message: string) => void)[]>();
  return {
    async publish(channel, message) {
      for (const handler of handlers.get(channel) ?? []) handler(message);
    },
    subscribe(channel, handler) {
      handlers.set(channel, [...(handlers.get(channel) ?? []), handler]);
    },
    async close() {
      handlers.clear();
    },
  };
}

/** Channels are named `<prefix><channel>` (PROPDICT_REDIS_PREFIX), so deployments sharing a Redis stay apart. */
export function createRedisBroadcast(url: string, prefix: string): Broadcast {
  const local = createLocalBroadcast();
  const publisher = new Redis(url, { maxRetriesPerRequest: 2 });
  // A connection in subscriber mode can do nothing else, hence a second one.
  const subscriber = new Redis(url, { maxRetriesPerRequest: 2 });
  const channels = new Set<string>();
  subscriber.on('message', (channel: string, message: string) => void local.publish(channel, message));
  return {
    async publish(channel, message) {
      await publisher.publish(`${prefix}${channel}`, message);
    },
    subscribe(channel, handler) {
      local.subscribe(`${prefix}${channel}`, handler);
      if (!channels.has(channel)) {
        channels.add(channel);
        void subscriber.subscribe(`${prefix}${channel}`);
      }
    },
    async close() {
      await Promise.all([publisher.quit(), subscriber.quit()]);
      await local.close();
    },
  };
}
