// Fixed-window rate limiting with several windows at once (say 10 per second and 150 per
// minute). A request is counted only when every window still has room, so requests refused
// by the short window do not eat the long window's budget.
import type { Clock } from '../../shared/clock.ts';

export interface Window {
  /** A short label, used in keys and in the IETF `RateLimit` headers. */
  name: string;
  limit: number;
  ms: number;
}

export interface WindowState {
  name: string;
  limit: number;
  remaining: number;
  /** Milliseconds until this window starts over. */
  resetMs: number;
  windowMs: number;
}

export interface Decision {
  allowed: boolean;
  windows: WindowState[];
  /** The window with the least room left: the one headers describe. */
  tightest: WindowState;
  /** When refused: milliseconds until the refusing windows all have room again. */
  retryAfterMs: number;
}

/** Counts in fixed windows. `take` increments every key only if none is at its limit. */
export interface CounterStore {
  take(slots: { key: string; limit: number; ttlMs: number }[]): Promise<{ taken: boolean; counts: number[] }>;
  close(): Promise<void>;
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;

export function createRateLimiter({ store, clock }: { store: CounterStore; clock: Clock }) {
  /** Requests refused, by what starts the subject (the surface: `native`, `ocamba`, ...). */
  const refusals = new Map<string, number>();
  return {
    refusals: refusals as ReadonlyMap<string, number>,

    async hit(subject: string, windows: readonly Window[]): Promise<Decision> {
      const now = clock.now().getTime();
      const slots = windows.map((w) => {
        const start = Math.floor(now / w.ms) * w.ms;
        return { key: `rl:${subject}:${w.name}:${start}`, limit: w.limit, ttlMs: start + w.ms - now + 1000, resetMs: start + w.ms - now };
      });
      const { taken, counts } = await store.take(slots);
      const states: WindowState[] = windows.map((w, i) => ({
        name: w.name,
        limit: w.limit,
        remaining: Math.max(0, w.limit - counts[i]),
        resetMs: slots[i].resetMs,
        windowMs: w.ms,
      }));
      const tightest = states.reduce((a, b) => (b.remaining < a.remaining || (b.remaining === a.remaining && b.resetMs > a.resetMs) ? b : a));
      const refusing = states.filter((s) => s.remaining === 0 && !taken);
      if (!taken) {
        const surface = subject.slice(0, subject.indexOf(':'));
        refusals.set(surface, (refusals.get(surface) ?? 0) + 1);
      }
      return {
        allowed: taken,
        windows: states,
        tightest,
        retryAfterMs: taken ? 0 : Math.max(...refusing.map((s) => s.resetMs)),
      };
    },
  };
}

/** Counters one process keeps at most; past it expired ones go at once, then the oldest. */
const MAX_COUNTERS = 100_000;

/** One process's counters; expired windows are dropped as they are passed. */
export function createMemoryStore(clock: Clock): CounterStore {
  const counters = new Map<string, { count: number; expiresAt: number }>();
  let lastSweep = 0;
  return {
    async take(slots) {
      const now = clock.now().getTime();
      if (now - lastSweep > 10_000 || counters.size > MAX_COUNTERS) {
        for (const [key, c] of counters) if (c.expiresAt <= now) counters.delete(key);
        lastSweep = now;
        // Still too many (a flood of subjects): the oldest windows go first (insertion order).
        for (const key of counters.keys()) {
          if (counters.size <= MAX_COUNTERS) break;
          counters.delete(key);
        }
      }
      const current = slots.map((s) => {
        const c = counters.get(s.key);
        return c && c.expiresAt > now ? c.count : 0;
      });
      const taken = slots.every((s, i) => current[i] < s.limit);
      if (!taken) return { taken, counts: current };
      slots.forEach((s, i) => counters.set(s.key, { count: current[i] + 1, expiresAt: now + s.ttlMs }));
      return { taken, counts: current.map((c) => c + 1) };
    },
    async close() {
      counters.clear();
    },
  };
}
