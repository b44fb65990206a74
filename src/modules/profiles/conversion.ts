// How stored values become values of a changed definition: the conversion table (from type ×
// to type → converter) as data, and the rules that say whether a change may break stored values
// at all. A converted item is then checked as a write would check it (values.ts), so phones
// come out in E.164, emails lower-cased, options and validation applied. Pure: no database;
// tested as tables in test/conversion.test.ts.
import type { DataType, Property, PropertyFields, PropertyValidation } from '../properties/property.ts';
import { checkScalar, checkValue, type Checked } from './values.ts';

/** Turns one stored item of the old type into the raw form the new type's check reads. */
type Converter = (item: unknown) => Checked;

const ok = (value: unknown): Checked => ({ ok: true, value });

/** Any value as text: strings as they are, JSON values as their JSON. */
const toText: Converter = (item) => ok(typeof item === 'string' ? item : typeof item === 'number' || typeof item === 'boolean' ? String(item) : JSON.stringify(item));
/** The item as it is; the new type's check decides (a date string, a number to integer, an enum). */
const asIs: Converter = (item) => ok(item);

// A plain decimal number, as people type one; no hex, no "Infinity", no empty string.
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const parseNumber: Converter = (item) => {
  const text = String(item).trim();
  return DECIMAL.test(text) ? ok(Number(text)) : { ok: false, problem: 'is not a number' };
};
const parseBoolean: Converter = (item) => {
  const text = String(item).trim().toLowerCase();
  return text === 'true' || text === 'false' ? ok(text === 'true') : { ok: false, problem: 'is not true or false' };
};

/** Every type converts to text and to itself (a change of options, validation or unique). */
const always = (self: DataType): Partial<Record<DataType, Converter>> => ({ string: toText, text: toText, [self]: asIs });

/**
 * The conversion table: for each stored type, the types its values may become and how. A pair
 * missing here is refused before anything is read.
 */
export const CONVERSIONS: Readonly<Record<DataType, Readonly<Partial<Record<DataType, Converter>>>>> = {
  string: {
    ...always('string'),
    number: parseNumber,
    integer: parseNumber,
    boolean: parseBoolean,
    date: asIs,
    datetime: asIs,
    email: asIs,
    phone: asIs,
    link: asIs,
    enum: asIs,
  },
  text: always('text'),
  number: { ...always('number'), integer: asIs },
  integer: { ...always('integer'), number: asIs },
  boolean: always('boolean'),
  date: always('date'),
  datetime: always('datetime'),
  link: always('link'),
  email: always('email'),
  phone: always('phone'),
  enum: always('enum'),
  json: always('json'),
};

/** The types a type's values may become, in the table's order. */
export const targetsOf = (from: DataType): DataType[] => Object.keys(CONVERSIONS[from]) as DataType[];

/** The definition fields a change with data may set. */
export const CHANGE_FIELDS = ['data_type', 'multi_valued', 'options', 'validation', 'unique'] as const;
export type ChangeField = (typeof CHANGE_FIELDS)[number];

/** Old option values renamed to new ones, for a change to (or within) an enum. */
export type ValueMap = Readonly<Record<string, string>>;

const itemsOf = (def: Pick<Property, 'data_type' | 'multi_valued'>, value: unknown): unknown[] =>
  def.multi_valued && def.data_type !== 'json' ? (value as unknown[]) : [value];

/**
 * A stored value of `from` as a value of `to`, or why it cannot be one. Single to multi-valued
 * makes `[value]`; multi to single takes the only item of an array of one. Assumes the pair is
 * in the table (see `refusedConversion`).
 */
export function convertValue(from: Pick<Property, 'data_type' | 'multi_valued'>, to: Property, value: unknown, valueMap: ValueMap = {}): Checked {
  const items = itemsOf(from, value);
  const itemised = to.multi_valued && to.data_type !== 'json';
  if (!itemised && items.length > 1) return { ok: false, problem: `holds ${items.length} items, and a single-valued property holds one` };
  const convert = CONVERSIONS[from.data_type][to.data_type]!;
  const out: unknown[] = [];
  for (const [i, item] of items.entries()) {
    const mapped = typeof item === 'string' && Object.hasOwn(valueMap, item) ? valueMap[item] : item;
    const raw = convert(mapped);
    const checked = raw.ok ? checkScalar(to, raw.value) : raw;
    const where = items.length > 1 ? `item ${i} ` : '';
    if (!checked.ok) return checked.allowed ? { ok: false, problem: `${where}${checked.problem}`, allowed: checked.allowed } : { ok: false, problem: `${where}${checked.problem}` };
    out.push(checked.value);
  }
  // The whole value is checked as a write would (repeated items kept once, the item limit).
  return itemised ? checkValue(to, out) : ok(out[0]);
}

/** Why a change from one definition to another cannot be made at all; undefined when it can. */
export function refusedConversion(from: Pick<PropertyFields, 'data_type' | 'multi_valued'>, to: Pick<PropertyFields, 'data_type' | 'multi_valued'>): string | undefined {
  if (!CONVERSIONS[from.data_type][to.data_type]) {
    return `values of data_type ${from.data_type} cannot become ${to.data_type}; they can become ${targetsOf(from.data_type).join(', ')}`;
  }
  if (from.multi_valued !== to.multi_valued && (from.data_type === 'json' || to.data_type === 'json')) {
    return 'a json value holds any JSON, arrays included: multi_valued does not change for json';
  }
  return undefined;
}

const raised = (before: number | undefined, after: number | undefined) => after !== undefined && (before === undefined || after > before);
const lowered = (before: number | undefined, after: number | undefined) => after !== undefined && (before === undefined || after < before);

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
