// A profile search as the service checks it and the repository plans it: the operators, the
// typed filters and the sort. Pure: no database, no HTTP.
import { AppError, type ErrorDetail, validationFailed } from '../../shared/errors.ts';
import type { Property } from '../properties/property.ts';
import type { ValueCodec } from './value-codec.ts';

import { FILTER_OPS, type FilterOp } from './filter-ops.ts';

export { FILTER_OPS, filterOpsFor, type FilterOp } from './filter-ops.ts';

export interface SearchQuery {
  filters: { property: string; op: FilterOp; value: string }[];
  sort?: { property: string; desc: boolean };
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
}

export interface ProfileSort {
  property_id: number;
  column: ValueColumn;
  desc: boolean;
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
): { filters: ValueFilter[]; sort?: ProfileSort } {
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
    else filters.push({ property_id: def.id, column: codec.columnOf(def), op: f.op, value: typed.value, single: !def.multi_valued || def.data_type === 'json' });
  }
  const sortDef = query.sort && byName.get(query.sort.property.toLowerCase());
  if (query.sort && !sortDef) problems.push({ field: 'sort', problem: `names no property of this workspace: ${query.sort.property}` });
  else if (sortDef && (sortDef.data_type === 'json' || sortDef.pii)) problems.push({ field: 'sort', problem: `${sortDef.name} cannot be sorted by` });
  if (problems.length > 0) throw validationFailed(problems);
  return { filters, ...(sortDef && query.sort ? { sort: { property_id: sortDef.id, column: codec.columnOf(sortDef), desc: query.sort.desc } } : {}) };
}
