// The Redis that tests of servers sharing one use: TEST_REDIS_URL, else one on this machine.
// Those tests are skipped, saying why, when none answers.
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** False when a Redis answers PING at REDIS_URL within a second; else why not (a test's `skip`). */
export async function redisMissing(): Promise<false | string> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  try {
    await probe.connect();
    if ((await probe.ping()) === 'PONG') return false;
  } catch {
    // Unreachable: said below.
  } finally {
    probe.disconnect();
  }
  return `no Redis answers at ${REDIS_URL}`;
}
