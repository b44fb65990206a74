// Violations: what an ingested call brought that the dictionary refused, grouped by source, trait,
// property and problem, so that a team sees what its apps send and fixes either side. Pure.
import { createHash } from 'node:crypto';

export const VIOLATION_PROBLEMS = [
  /** No property has this name or import alias. */
  'unknown',
  'archived',
  'not_importable',
  /** Two traits reach one property (same name in two cases, or a name and its alias). */
  'duplicate',
  /** A trait the protocol reserves for something else (`id`). */
  'reserved',
  /** The value breaks its property's rules. */
  'invalid_value',
  /** The profile store refused the value (another profile holds it, a sum past the maximum). */
  'rejected',
  /** userId, anonymousId or previousId came but the source names no identity property for it. */
  'no_identity_property',
  /** Nothing in the call identifies a profile: the call wrote nothing. */
  'no_identifier',
  /** A call in a batch over the size limit: refused whole. */
  'call_too_large',
  /** A call in a batch that is not an object, or of no known type: refused whole. */
  'invalid_call',
  /** A timestamp that is not a date: the values are dated at receipt. */
  'invalid_timestamp',
] as const;
export type ViolationProblem = (typeof VIOLATION_PROBLEMS)[number];

/** One refusal as it happens. */
export interface ViolationEvent {
  source_id: number;
  /** The trait (or field, such as `userId`) as the call named it. */
  trait: string;
  property: string | null;
  problem: ViolationProblem;
  message: string;
  value: unknown;
}

/** A group as listed. */
export interface Violation {
  source_id: number;
  trait: string;
  property: string | null;
  problem: ViolationProblem;
  message: string;
  count: number;
  first_seen: string;
  last_seen: string;
  sample: string;
}

/** Longest trait name kept; longer ones are cut (the group key is taken before the cut). */
export const MAX_TRAIT_LENGTH = 200;

/** Text a database column can hold: no NUL character, bounded length. */
export const storable = (text: string, max = MAX_TRAIT_LENGTH) => (text.length > max ? `${text.slice(0, max)}…` : text).replaceAll('\u0000', '\uFFFD');

export function groupKey(e: Pick<ViolationEvent, 'source_id' | 'trait' | 'property' | 'problem' | 'message'>): string {
  return createHash('sha256').update(JSON.stringify([e.source_id, e.trait, e.property, e.problem, e.message])).digest('hex');
}

/**
 * A refused value shown without giving it away: a string keeps its first few characters and its
 * length, anything else only its kind. Never walks into the value (it may nest thousands deep).
 */
export function maskSample(value: unknown): string {
  if (typeof value === 'string') {
    const kept = storable(value.slice(0, Math.min(3, Math.floor(value.length / 4))), 3);
    return `"${kept}***" (${value.length} characters)`;
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  if (typeof value === 'object') return `an object with ${Object.keys(value).length} keys`;
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return 'nothing';
}
