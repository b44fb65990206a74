// How outside names (CSV headers, NDJSON keys, Segment traits) find their property: by name, then
// by import alias, case-insensitively. Pure: imports and ingestion share it, and report its reasons.
import type { Property } from './property.ts';

/** Why a column writes nothing; `id` is the profile id column, not a problem. */
export const COLUMN_REASONS = ['id', 'unknown', 'archived', 'not_importable', 'duplicate_column', 'same_property'] as const;
export type ColumnReason = (typeof COLUMN_REASONS)[number];

export interface ColumnMapping {
  column: string;
  /** The property the column writes; also set, for the message, when the column is refused as `same_property`. */
  property: Property | null;
  reason?: ColumnReason;
}

export const COLUMN_REASON_TEXT: Record<ColumnReason, string> = {
  id: 'the profile id',
  unknown: 'matches no property name or import alias of this workspace',
  archived: 'names an archived property',
  not_importable: 'names a property that is not importable',
  duplicate_column: 'appears more than once in the header',
  same_property: 'maps to a property an earlier column already writes',
};

// Kept per list of definitions: the dictionary hands out one list while it is unchanged, and a
// Segment batch maps each of its calls, an NDJSON import each of its rows, against the same list.
const indexes = new WeakMap<readonly Property[], ReadonlyMap<string, Property>>();

/** A lookup of a workspace's definitions by lower-cased name and import alias. */
export function nameIndex(defs: readonly Property[]): ReadonlyMap<string, Property> {
  let index = indexes.get(defs);
  if (index) return index;
  const built = new Map<string, Property>();
  for (const def of defs) {
    for (const alias of def.import_aliases) built.set(alias.toLowerCase(), def);
  }
  // Names win over aliases (both are unique in a workspace, so this only guards the order).
  for (const def of defs) built.set(def.name.toLowerCase(), def);
  indexes.set(defs, (index = built));
  return index;
}

/** Maps each column in order; the first column to reach a property writes it. */
export function mapColumns(defs: readonly Property[], columns: readonly string[]): ColumnMapping[] {
  const index = nameIndex(defs);
  const seenColumns = new Set<string>();
  const written = new Set<number>();
  return columns.map((column): ColumnMapping => {
    const key = column.trim().toLowerCase();
    if (seenColumns.has(key)) return { column, property: null, reason: 'duplicate_column' };
    seenColumns.add(key);
    if (key === 'id') return { column, property: null, reason: 'id' };
    const property = index.get(key);
    if (!property) return { column, property: null, reason: 'unknown' };
    if (property.archived) return { column, property, reason: 'archived' };
    if (!property.importable) return { column, property, reason: 'not_importable' };
    if (written.has(property.id)) return { column, property, reason: 'same_property' };
    written.add(property.id);
    return { column, property };
  });
}
