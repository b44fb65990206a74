// The search operators and which ones a property takes. Pure, and free of server imports: the
// console offers the same operators from this file.
import type { Property } from '../properties/property.ts';

export const FILTER_OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'contains', 'prefix', 'exists'] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

const NUMBER_OPS: readonly FilterOp[] = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'exists'];
const EQUALITY_OPS: readonly FilterOp[] = ['eq', 'ne', 'in', 'exists'];

/**
 * The operators a property's values can be searched with: json only by presence; PII (compared
 * through a blind index), booleans and enums by equality; numbers by order; text by everything.
 */
export function filterOpsFor(def: Pick<Property, 'data_type' | 'pii'>): readonly FilterOp[] {
  if (def.data_type === 'json') return ['exists'];
  if (def.pii || def.data_type === 'boolean' || def.data_type === 'enum') return EQUALITY_OPS;
  return def.data_type === 'number' || def.data_type === 'integer' ? NUMBER_OPS : FILTER_OPS;
}
