// Profiles and how a new value combines with the stored one. Pure: no database, no HTTP.
import type { MergeFunction } from '../properties/property.ts';

export interface Provenance {
  source: string | null;
  updated_at: string;
}

export interface Profile {
  id: string;
  properties: Record<string, unknown>;
  identities: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  provenance?: Record<string, Provenance>;
}

/** A stored value with what wrote it. */
export interface StoredValue {
  value: unknown;
  source: string | null;
  /** The record's timestamp when it carried one, else the time of the write. */
  written_at: string;
}

/** A value arriving for a property, already checked and normalised. */
export interface IncomingValue {
  value: unknown;
  source: string | null;
  written_at: string;
  /** Whether the writer dated the value itself (a record `timestamp`). */
  dated: boolean;
}

export const PROFILE_ID_PATTERN = '^[A-Za-z0-9._:@-]{1,128}$';

/** Orders dates, datetimes (normalised ISO text) and numbers alike. */
function less(a: unknown, b: unknown): boolean {
  return typeof a === 'number' && typeof b === 'number' ? a < b : String(a) < String(b);
}

/**
 * The value to store after `incoming` meets `stored` under `fn`. `priorities` gives source
 * priorities (1 is highest); a value from a higher-priority source is not replaced under update.
 * Returns undefined when the stored value stays as it is.
 */
export function mergeValue(
  fn: MergeFunction,
  stored: StoredValue | undefined,
  incoming: IncomingValue,
  priorities: ReadonlyMap<string, number>,
): unknown {
  // null is an explicit clear, whatever the merge function.
  if (incoming.value === null) return stored === undefined ? undefined : null;
  if (stored === undefined || stored.value === null) return incoming.value;
  switch (fn) {
    case 'update': {
      if (incoming.dated && incoming.written_at < stored.written_at) return undefined;
      const storedPriority = stored.source === null ? undefined : priorities.get(stored.source);
      const incomingPriority = incoming.source === null ? undefined : priorities.get(incoming.source);
      if (storedPriority !== undefined && incomingPriority !== undefined && incomingPriority > storedPriority) return undefined;
      return incoming.value;
    }
    case 'keep':
      return undefined;
    case 'append': {
      const items = [...(stored.value as unknown[])];
      for (const item of incoming.value as unknown[]) {
        if (!items.some((seen) => JSON.stringify(seen) === JSON.stringify(item))) items.push(item);
      }
      return items;
    }
    case 'sum':
      return (stored.value as number) + (incoming.value as number);
    case 'min':
      return less(incoming.value, stored.value) ? incoming.value : undefined;
    case 'max':
      return less(stored.value, incoming.value) ? incoming.value : undefined;
  }
}
