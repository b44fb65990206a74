// How stored values become values of a changed definition: the conversion table (from type ×
// to type → converter) as data. A converted item is then checked as a write would check it
// (values.ts), so phones come out in E.164, emails lower-cased, options and validation applied.
// Which pairs a change may ask for is the definition's rule (properties/property-change.ts);
// a test holds the two tables to the same pairs. Pure: no database; tested as tables in
// test/conversion.test.ts.
import type { DataType, Property } from '../properties/property.ts';
import { checkScalar, checkValue, type Checked } from '../profiles/values.ts';

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

export type { ValueMap } from '../properties/property-change.ts';
import type { ValueMap } from '../properties/property-change.ts';

const itemsOf = (def: Pick<Property, 'data_type' | 'multi_valued'>, value: unknown): unknown[] =>
  def.multi_valued && def.data_type !== 'json' ? (value as unknown[]) : [value];

/**
 * A stored value of `from` as a value of `to`, or why it cannot be one. Single to multi-valued
 * makes `[value]`; multi to single takes the only item of an array of one. Assumes the pair is
 * in the table (property-change.ts's `refusedConversion` says so before anything is read).
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
