export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** RFC 3339 in UTC with milliseconds; sorts lexicographically, so it is stored as text. */
export const isoNow = (clock: Clock) => clock.now().toISOString();
