// Profiles and how a new value combines with the stored one. Pure: no database, no HTTP.
import { nameIndex } from '../properties/column-mapping.ts';
import type { MergeFunction, Property } from '../properties/property.ts';

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

/** Most records one batch or one ingestion call takes. */
export const MAX_BATCH_RECORDS = 1000;

/** A workspace's dictionary as profile reads and writes look it up. */
export interface DictionaryView {
  /** Every definition by id, archived ones included. */
  byId: ReadonlyMap<number, Property>;
  /** Every definition by lower-cased name and import alias (column-mapping.ts's nameIndex). */
  index: ReadonlyMap<string, Property>;
  /** Live definitions by lower-cased name: what a search may name. */
  live: ReadonlyMap<string, Property>;
  /** Live definitions by id with their rank in name order: what a read shows, in that order. */
  visible: ReadonlyMap<number, { def: Property; rank: number }>;
}

export function dictionaryView(defs: readonly Property[]): DictionaryView {
  const live = defs.filter((d) => !d.archived);
  const byName = [...live].sort((a, b) => a.name.localeCompare(b.name));
  return {
    byId: new Map(defs.map((d) => [d.id, d])),
    index: nameIndex(defs),
    live: new Map(live.map((d) => [d.name.toLowerCase(), d])),
    visible: new Map(byName.map((def, rank) => [def.id, { def, rank }])),
  };
}

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

/** A PII value as a caller without pii:read sees it. */
export const MASK = '***';

/**
 * A profile as callers see it, from its row and stored values. `visible` holds the live
 * definitions by id with their rank in name order (archived properties are hidden from reads;
 * names order the keys).
 */
export function profileOf(
  row: { id: string; created_at: string; updated_at: string },
  stored: ReadonlyMap<number, StoredValue>,
  visible: ReadonlyMap<number, { def: Property; rank: number }>,
  opts: { provenance?: boolean; piiReadable: boolean },
): Profile {
  const profile: Profile = { id: row.id, properties: {}, identities: {}, created_at: row.created_at, updated_at: row.updated_at };
  if (opts.provenance) profile.provenance = {};
  const shown: { def: Property; rank: number; held: StoredValue }[] = [];
  for (const [id, held] of stored) {
    const seen = visible.get(id);
    if (seen) shown.push({ ...seen, held });
  }
  shown.sort((a, b) => a.rank - b.rank);
  for (const { def, held } of shown) {
    const value = def.pii && !opts.piiReadable ? MASK : held.value;
    profile.properties[def.name] = value;
    if (def.identity.role !== 'none') profile.identities[def.name] = value;
    if (profile.provenance) profile.provenance[def.name] = { source: held.source, updated_at: held.written_at };
  }
  return profile;
}
