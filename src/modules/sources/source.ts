// A data source: a named producer of profile data, with a priority and the mappings from its
// records' JSON paths to properties.
import type { MergeFunction } from '../properties/property.ts';

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
