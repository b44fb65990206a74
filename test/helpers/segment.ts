// A clock the tests move by hand (message ids expire after 24 hours).
import type { Clock } from '../../src/shared/clock.ts';

export function manualClock(start: string): Clock & { advance(ms: number): void } {
  let now = Date.parse(start);
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
  };
}
