// A profile search as the service checks it and the repository plans it: the operators, the
// typed filters and the sort. Pure: no database, no HTTP.
import { AppError, type ErrorDetail, validationFailed } from '../../shared/errors.ts';
import type { Property } from '../properties/property.ts';
import type { ValueCodec } from './value-codec.ts';

import { FILTER_OPS, type FilterOp } from './filter-ops.ts';

export { FILTER_OPS, filterOpsFor, type FilterOp } from './filter-ops.ts';

/** Most keys a search sorts by: each key past the first costs a lookup per profile walked. */
export const MAX_SORT_KEYS = 3;

export interface SortKey {
  property: string;
  desc: boolean;
}

export interface SearchQuery {
  filters: { property: string; op: FilterOp; value: string }[];
  /** Keys in order: ties on one are broken by the next, then by id. */
  sort: SortKey[];
  limit: number;
  cursor?: string;
}

export type ValueColumn = 'v_text' | 'v_num';

export interface ValueFilter {
  property_id: number;
  column: ValueColumn;
  op: FilterOp;
  /** Already in the column's stored form; an array for `in`, a boolean for `exists`. */
  value: string | number | boolean | (string | number)[];
  /** The property holds at most one value per profile. */
  single: boolean;
  /** Each value is held by one profile at most (an identity or unique property): an equality matches few. */
  unique?: boolean;
}

export interface ProfileSort {
  property_id: number;
  column: ValueColumn;
  desc: boolean;
  /** The property holds at most one value per profile. */
  single: boolean;
}

/**
 * `sort=<p>,-<q>` as keys (`-` descending; `sort=` is none); problems when a key is empty, named twice (in any
 * case or direction) or past MAX_SORT_KEYS. Whether the names are properties is typeSearch's.
 */
export function parseSort(text: string | undefined): { keys: SortKey[]; problems: ErrorDetail[] } {
  if (text === undefined || text === '') return { keys: [], problems: [] };
  const parts = text.split(',');
  const problem = (p: string) => ({ keys: [], problems: [{ field: 'sort', problem: p }] });
  const form = `write sort=<property> or -<property> for descending, up to ${MAX_SORT_KEYS} of them separated by commas, e.g. sort=-points,last_name`;
  if (parts.length > MAX_SORT_KEYS) return problem(`takes at most ${MAX_SORT_KEYS} keys; this one has ${parts.length}`);
  const keys = parts.map((part) => ({ property: part.replace(/^-/, ''), desc: part.startsWith('-') }));
  if (keys.some((k) => k.property === '')) return problem(`has an empty key; ${form}`);
  const names = keys.map((k) => k.property.toLowerCase());
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) return problem(`names ${keys[names.indexOf(twice)].property} twice; each property may be a key once`);
  return { keys, problems: [] };
}

/** ne and exists=false keep the profiles that hold no matching value. */
export const excludes = (f: ValueFilter) => f.op === 'ne' || (f.op === 'exists' && f.value === false);

/**
 * A query's filters and sort typed by their properties (live definitions, by lower-cased name),
 * in the stored form of their values; every problem at once. Filtering on a PII property's
 * values needs `piiReadable`.
 */
export function typeSearch(
  byName: ReadonlyMap<string, Property>,
  query: Pick<SearchQuery, 'filters' | 'sort'>,
  piiReadable: boolean,
  codec: Pick<ValueCodec, 'filterValue' | 'columnOf'>,
): { filters: ValueFilter[]; sort: ProfileSort[] } {
  const problems: ErrorDetail[] = [];
  const filters: ValueFilter[] = [];
  for (const f of query.filters) {
    const field = `filter[${f.property}][${f.op}]`;
    const def = byName.get(f.property.toLowerCase());
    if (!def) {
      problems.push({ field, problem: 'names no property of this workspace' });
      continue;
    }
    if (def.pii && !piiReadable && f.op !== 'exists') {
      throw new AppError('FORBIDDEN', `Filtering on the values of PII property "${def.name}" needs the pii:read scope.`);
    }
    const typed = codec.filterValue(def, f.op, f.value);
    if ('problem' in typed) problems.push({ field, problem: typed.problem, ...(typed.allowed ? { allowed: typed.allowed } : {}) });
    else filters.push({ property_id: def.id, column: codec.columnOf(def), op: f.op, value: typed.value, single: !def.multi_valued || def.data_type === 'json', unique: def.unique || def.identity.role !== 'none' });
  }
  const sort: ProfileSort[] = [];
  const unsortable: string[] = [];
  for (const key of query.sort) {
    const def = byName.get(key.property.toLowerCase());
    if (!def) unsortable.push(`names no property of this workspace: ${key.property}`);
    else if (def.data_type === 'json') unsortable.push(`${def.name} cannot be sorted by: json values have no order`);
    else if (def.pii) unsortable.push(`${def.name} cannot be sorted by: PII values are stored encrypted`);
    else sort.push({ property_id: def.id, column: codec.columnOf(def), desc: key.desc, single: !def.multi_valued });
  }
  if (unsortable.length > 0) problems.push({ field: 'sort', problem: unsortable.join('; ') });
  if (problems.length > 0) throw validationFailed(problems);
  return { filters, sort };
}
