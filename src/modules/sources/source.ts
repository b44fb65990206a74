// A data source: a named producer of profile data, with a priority and the mappings from its
// records' JSON paths to properties.
import type { MergeFunction } from '../properties/property.ts';
import type { ErrorDetail } from '../../shared/errors.ts';

export interface SourceMapping {
  property: string;
  input_path: string;
  alternate_paths: string[];
  mandatory: boolean;
  /** Overrides the property's own merge function for values from this source. */
  merge_function: MergeFunction | null;
}

export interface Source {
  id: number;
  name: string;
  /** 1 is the highest: its values are not replaced by a source with a larger number. */
  priority: number;
  mappings: SourceMapping[];
  /** The identity property that Segment calls' userId is written to; null: none. */
  user_id_property: string | null;
  /** The identity property that Segment calls' anonymousId (and an alias's previousId) is written to. */
  anonymous_id_property: string | null;
  created_at: string;
  updated_at: string;
}

export type MappingInput = Pick<SourceMapping, 'property' | 'input_path'> & Partial<SourceMapping>;

export interface SourceInput {
  name: string;
  priority?: number;
  mappings?: MappingInput[];
  user_id_property?: string | null;
  anonymous_id_property?: string | null;
}

export type SourcePatch = Partial<SourceInput>;

/** `properties.customer_id`, `otherIds.ids[0]`: dot-separated keys with optional indexes. */
export const INPUT_PATH_PATTERN = '^[A-Za-z0-9_$@-]+(\\[\\d+\\])*(\\.[A-Za-z0-9_$@-]+(\\[\\d+\\])*)*$';

export function mappingWithDefaults(m: MappingInput): SourceMapping {
  return {
    property: m.property,
    input_path: m.input_path,
    alternate_paths: m.alternate_paths ?? [],
    mandatory: m.mandatory ?? false,
    merge_function: m.merge_function ?? null,
  };
}

/** The value at a dot path such as `properties.customer_id` or `ids[0].value`; undefined when absent. */
export function readPath(record: unknown, path: string): unknown {
  let current: unknown = record;
  for (const part of path.split('.')) {
    const [, key, indexes] = /^([^[]+)((?:\[\d+\])*)$/.exec(part) ?? [];
    if (key === undefined || current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
    for (const index of indexes.match(/\d+/g) ?? []) {
      if (!Array.isArray(current)) return undefined;
      current = current[Number(index)];
    }
  }
  return current;
}

/**
 * A raw JSON record read through a source's mappings: each property's value at its input path,
 * else at its alternate paths in order; a mandatory one missing is a problem of the record. The
 * source's name and its mappings' merge functions go with the values.
 */
export function recordOf(source: Source, raw: unknown): { properties: Record<string, unknown>; source: string; mergeFunctions: Record<string, MergeFunction>; problems: ErrorDetail[] } {
  const properties: Record<string, unknown> = {};
  const problems: ErrorDetail[] = [];
  for (const m of source.mappings) {
    const value = [m.input_path, ...m.alternate_paths].map((path) => readPath(raw, path)).find((v) => v !== undefined);
    if (value !== undefined) properties[m.property] = value;
    else if (m.mandatory) problems.push({ field: m.input_path, problem: `is required by the mapping to ${m.property} (also tried: ${m.alternate_paths.join(', ') || 'no alternate path'})` });
  }
  const mergeFunctions = Object.fromEntries(source.mappings.flatMap((m) => (m.merge_function === null ? [] : [[m.property, m.merge_function]])));
  return { properties, source: source.name, mergeFunctions, problems };
}
