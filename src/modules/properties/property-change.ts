// A definition change with data, as a definition rule: which types a type's values may become,
// which changes may break stored values (and so go through the change flow), and the definition
// a change asks for. Pure: no database; the values themselves are converted by the
// property-changes module (property-changes/conversion.ts), whose table a test holds to the same
// pairs as this one.
import type { ErrorDetail } from '../../shared/errors.ts';
import { applyPatch, checkDefinition, mergeFunctionsFor, type DataType, type OptionInput, type PropertyFields, type PropertyInput, type PropertyValidation } from './property.ts';

/** Old option values renamed to new ones, for a change to (or within) an enum. */
export type ValueMap = Readonly<Record<string, string>>;

/** The fields a change with data may set, and how values of options are renamed. */
export interface DefinitionChange {
  data_type?: DataType;
  multi_valued?: boolean;
  options?: OptionInput[] | null;
  validation?: PropertyValidation | null;
  unique?: boolean;
  identity?: PropertyInput['identity'];
  value_map?: Record<string, string>;
}

/** What a definition change would do to the stored values (asked of the profiles module). */
export type ChangeScan = {
  profiles_with_values: number;
  convertible: number;
  failing: number;
  samples: { profile_id: string; value: unknown; problem: string }[];
};

const ANY_TO_TEXT: DataType[] = ['string', 'text'];

/**
 * The conversion table: for each stored type, the types its values may become (itself always:
 * a change of options, validation or unique). Any type becomes text; a string parses into the
 * typed forms; integer and number into each other.
 */
export const CONVERSION_TARGETS: Readonly<Record<DataType, readonly DataType[]>> = {
  string: [...ANY_TO_TEXT, 'number', 'integer', 'boolean', 'date', 'datetime', 'email', 'phone', 'link', 'enum'],
  text: ANY_TO_TEXT,
  number: [...ANY_TO_TEXT, 'number', 'integer'],
  integer: [...ANY_TO_TEXT, 'integer', 'number'],
  boolean: [...ANY_TO_TEXT, 'boolean'],
  date: [...ANY_TO_TEXT, 'date'],
  datetime: [...ANY_TO_TEXT, 'datetime'],
  link: [...ANY_TO_TEXT, 'link'],
  email: [...ANY_TO_TEXT, 'email'],
  phone: [...ANY_TO_TEXT, 'phone'],
  enum: [...ANY_TO_TEXT, 'enum'],
  json: [...ANY_TO_TEXT, 'json'],
};

/** Why a change from one definition to another cannot be made at all; undefined when it can. */
export function refusedConversion(from: Pick<PropertyFields, 'data_type' | 'multi_valued'>, to: Pick<PropertyFields, 'data_type' | 'multi_valued'>): string | undefined {
  const targets = CONVERSION_TARGETS[from.data_type];
  if (!targets.includes(to.data_type)) return `values of data_type ${from.data_type} cannot become ${to.data_type}; they can become ${targets.join(', ')}`;
  if (from.multi_valued !== to.multi_valued && (from.data_type === 'json' || to.data_type === 'json')) {
    return 'a json value holds any JSON, arrays included: multi_valued does not change for json';
  }
  return undefined;
}

const raised = (before: number | undefined, after: number | undefined) => after !== undefined && (before === undefined || after > before);
const lowered = (before: number | undefined, after: number | undefined) => after !== undefined && (before === undefined || after < before);

/**
 * The fields of a change that make every stored value claim a key (`unique` or the identity role
 * turned on, where neither was): the keys are claimed by the change flow, never by a PATCH.
 */
export function keyClaimingFields(before: Pick<PropertyFields, 'unique' | 'identity'>, after: Pick<PropertyFields, 'unique' | 'identity'>): string[] {
  if (before.unique || before.identity.role !== 'none') return [];
  return [...(after.unique ? ['unique'] : []), ...(after.identity.role !== 'none' ? ['identity.role'] : [])];
}

/** The validation rules a new validation makes stricter than the old (a changed pattern counts). */
function tightened(before: PropertyValidation | null, after: PropertyValidation | null): string[] {
  const b = before ?? {};
  const a = after ?? {};
  const out: string[] = [];
  if (raised(b.min_length, a.min_length)) out.push('validation.min_length');
  if (lowered(b.max_length, a.max_length)) out.push('validation.max_length');
  if (a.pattern !== undefined && a.pattern !== b.pattern) out.push('validation.pattern');
  if (raised(b.minimum, a.minimum)) out.push('validation.minimum');
  if (lowered(b.maximum, a.maximum)) out.push('validation.maximum');
  return out;
}

/**
 * The fields of a change that stored values may not survive: a new type or multiplicity, an
 * option value removed, a validation rule tightened, unique turned on. Empty: the change only
 * loosens, and no stored value can break.
 */
export function narrowingFields(before: PropertyFields, after: PropertyFields): string[] {
  const out: string[] = [];
  if (before.data_type !== after.data_type) out.push('data_type');
  if (before.multi_valued !== after.multi_valued) out.push('multi_valued');
  if (after.data_type === 'enum') {
    const kept = new Set((after.options ?? []).map((o) => o.value));
    if (before.data_type !== 'enum' || (before.options ?? []).some((o) => !kept.has(o.value))) out.push('options');
  }
  out.push(...tightened(before.validation, after.validation));
  if (after.unique && !before.unique) out.push('unique');
  return [...new Set(out)];
}

const STRING_RULES = ['min_length', 'max_length', 'pattern'] as const;
const NUMBER_RULES = ['minimum', 'maximum'] as const;

/**
 * The definition a change asks for, and every problem with it. A new type that the kept
 * settings no longer fit drops them, unless the change sets them itself: options when it is no
 * longer an enum, validation rules that do not apply, a merge function the type does not take
 * (back to update).
 */
export function planChange(current: PropertyFields, change: DefinitionChange): { next: PropertyFields; problems: ErrorDetail[] } {
  const { value_map: _map, ...fields } = change;
  const next = applyPatch(current, fields);
  if (next.data_type !== current.data_type || next.multi_valued !== current.multi_valued) {
    if (change.options === undefined && next.data_type !== 'enum') next.options = null;
    if (change.validation === undefined && next.validation) {
      const stringish = ['string', 'text', 'link', 'email', 'phone', 'enum'].includes(next.data_type);
      const numeric = next.data_type === 'number' || next.data_type === 'integer';
      const kept = Object.fromEntries(
        Object.entries(next.validation).filter(([k]) => (STRING_RULES.includes(k as never) ? stringish : NUMBER_RULES.includes(k as never) ? numeric : false)),
      );
      next.validation = Object.keys(kept).length > 0 ? kept : null;
    }
    if (!mergeFunctionsFor(next.data_type, next.multi_valued).includes(next.merge_function)) next.merge_function = 'update';
  }
  const problems = checkDefinition(next);
  const refused = refusedConversion(current, next);
  if (refused) problems.unshift({ field: next.multi_valued !== current.multi_valued && next.data_type === current.data_type ? 'multi_valued' : 'data_type', problem: refused, allowed: [...CONVERSION_TARGETS[current.data_type]] });
  const map = change.value_map ?? {};
  if (Object.keys(map).length > 0) {
    if (next.data_type !== 'enum') problems.push({ field: 'value_map', problem: 'renames option values, so it applies only when the property is (or becomes) an enum' });
    else {
      const options = (next.options ?? []).map((o) => o.value);
      for (const [from, to] of Object.entries(map)) {
        if (!options.includes(to)) problems.push({ field: `value_map.${from}`, problem: `"${to}" is not one of the new options`, allowed: options });
      }
    }
  }
  return { next, problems };
}
