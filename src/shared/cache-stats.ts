/** Lookups of an in-process cache: found, or read from the database. Read by /metrics. */
export interface CacheStats {
  hits: number;
  misses: number;
}

export const cacheStats = (): CacheStats => ({ hits: 0, misses: 0 });

/** Counts a lookup's outcome and passes the value on. */
export function counted<T>(stats: CacheStats, value: T | undefined): T | undefined {
  if (value === undefined) stats.misses++;
  else stats.hits++;
  return value;
}
