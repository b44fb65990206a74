// The conversion table and the narrowing rules of a definition change, without a database.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CONVERSIONS, convertValue, targetsOf } from '../src/modules/property-changes/conversion.ts';
import { CONVERSION_TARGETS, narrowingFields, refusedConversion } from '../src/modules/properties/property-change.ts';
import { DATA_TYPES } from '../src/modules/properties/property.ts';
import { withDefaults, type Property, type PropertyCreate } from '../src/modules/properties/property.ts';

function def(input: Partial<PropertyCreate>): Property {
  const fields = withDefaults({ name: 'p', data_type: 'string', ...input } as PropertyCreate);
  return { ...fields, id: 1, uid: 'u', system: false, archived: false, version: 1, created_at: '', updated_at: '' };
}

type Row = { title: string; from: Partial<PropertyCreate>; to: Partial<PropertyCreate>; value: unknown; map?: Record<string, string>; expected: { ok: true; value: unknown } | { ok: false; problem: string } };

const rows: Row[] = [
  { title: 'string to integer', from: {}, to: { data_type: 'integer' }, value: ' 42 ', expected: { ok: true, value: 42 } },
  { title: 'string to integer: not a number', from: {}, to: { data_type: 'integer' }, value: 'forty', expected: { ok: false, problem: 'is not a number' } },
  { title: 'string to integer: not whole', from: {}, to: { data_type: 'integer' }, value: '4.5', expected: { ok: false, problem: 'must be an integer' } },
  { title: 'string to number', from: {}, to: { data_type: 'number' }, value: '-1.5e3', expected: { ok: true, value: -1500 } },
  { title: 'string to number: hex is not a number', from: {}, to: { data_type: 'number' }, value: '0x10', expected: { ok: false, problem: 'is not a number' } },
  { title: 'string to boolean', from: {}, to: { data_type: 'boolean' }, value: 'TRUE', expected: { ok: true, value: true } },
  { title: 'string to boolean: yes is not', from: {}, to: { data_type: 'boolean' }, value: 'yes', expected: { ok: false, problem: 'is not true or false' } },
  { title: 'string to date', from: {}, to: { data_type: 'date' }, value: '2024-02-29', expected: { ok: true, value: '2024-02-29' } },
  { title: 'string to date: a date that does not exist', from: {}, to: { data_type: 'date' }, value: '2023-02-29', expected: { ok: false, problem: 'is not a date that exists' } },
  { title: 'string to datetime, normalised to UTC', from: {}, to: { data_type: 'datetime' }, value: '2026-01-02T03:04:05+01:00', expected: { ok: true, value: '2026-01-02T02:04:05.000Z' } },
  { title: 'string to email, lower-cased', from: {}, to: { data_type: 'email' }, value: ' Ana@Example.COM', expected: { ok: true, value: 'ana@example.com' } },
  { title: 'string to phone, to E.164', from: {}, to: { data_type: 'phone' }, value: '+381 (64) 123-4567', expected: { ok: true, value: '+381641234567' } },
  { title: 'string to link', from: {}, to: { data_type: 'link' }, value: 'ftp://x.org', expected: { ok: false, problem: 'must be an absolute http(s) URL' } },
  {
    title: 'string to enum through a value map',
    from: {},
    to: { data_type: 'enum', options: [{ value: 'gold' }] },
    value: 'GOLD',
    map: { GOLD: 'gold' },
    expected: { ok: true, value: 'gold' },
  },
  { title: 'integer to number', from: { data_type: 'integer' }, to: { data_type: 'number' }, value: 7, expected: { ok: true, value: 7 } },
  { title: 'number to integer when whole', from: { data_type: 'number' }, to: { data_type: 'integer' }, value: 7, expected: { ok: true, value: 7 } },
  { title: 'number to integer: not whole', from: { data_type: 'number' }, to: { data_type: 'integer' }, value: 7.25, expected: { ok: false, problem: 'must be an integer' } },
  { title: 'number to string', from: { data_type: 'number' }, to: { data_type: 'string' }, value: 7.25, expected: { ok: true, value: '7.25' } },
  { title: 'boolean to text', from: { data_type: 'boolean' }, to: { data_type: 'text' }, value: false, expected: { ok: true, value: 'false' } },
  { title: 'json to string', from: { data_type: 'json' }, to: { data_type: 'string' }, value: { a: [1] }, expected: { ok: true, value: '{"a":[1]}' } },
  { title: 'to string within a tighter max_length', from: { data_type: 'integer' }, to: { validation: { max_length: 2 } }, value: 12345, expected: { ok: false, problem: 'must be at most 2 characters long' } },
  { title: 'single to multi-valued', from: {}, to: { multi_valued: true }, value: 'a', expected: { ok: true, value: ['a'] } },
  { title: 'multi to single-valued, one item', from: { multi_valued: true }, to: {}, value: ['a'], expected: { ok: true, value: 'a' } },
  {
    title: 'multi to single-valued, two items',
    from: { multi_valued: true },
    to: {},
    value: ['a', 'b'],
    expected: { ok: false, problem: 'holds 2 items, and a single-valued property holds one' },
  },
  { title: 'multi string to multi integer, item by item', from: { multi_valued: true }, to: { data_type: 'integer', multi_valued: true }, value: ['1', '01'], expected: { ok: true, value: [1] } },
  { title: 'multi: the failing item is named', from: { multi_valued: true }, to: { data_type: 'integer', multi_valued: true }, value: ['1', 'x'], expected: { ok: false, problem: 'item 1 is not a number' } },
  {
    title: 'enum option renamed',
    from: { data_type: 'enum', options: [{ value: 'a' }] },
    to: { data_type: 'enum', options: [{ value: 'b' }] },
    value: 'a',
    map: { a: 'b' },
    expected: { ok: true, value: 'b' },
  },
  {
    title: 'enum option retired',
    from: { data_type: 'enum', options: [{ value: 'a' }, { value: 'b' }] },
    to: { data_type: 'enum', options: [{ value: 'b' }] },
    value: 'a',
    expected: { ok: false, problem: 'must be one of the options' },
  },
  { title: 'tighter maximum', from: { data_type: 'integer' }, to: { data_type: 'integer', validation: { maximum: 10 } }, value: 11, expected: { ok: false, problem: 'must be at most 10' } },
];

describe('convertValue', () => {
  for (const row of rows) {
    test(row.title, () => {
      const got = convertValue(def(row.from), def(row.to), row.value, row.map);
      const { allowed: _allowed, ...plain } = got as typeof got & { allowed?: unknown };
      assert.deepEqual(plain, row.expected);
    });
  }
});

test('the converters cover exactly the pairs a change may ask for', () => {
  for (const from of DATA_TYPES) assert.deepEqual(new Set(targetsOf(from)), new Set(CONVERSION_TARGETS[from]), from);
  assert.deepEqual(Object.keys(CONVERSIONS).sort(), [...DATA_TYPES].sort());
});

describe('refusedConversion', () => {
  const pairs: { title: string; from: Partial<PropertyCreate>; to: Partial<PropertyCreate>; expected: string | undefined }[] = [
    { title: 'string to integer is in the table', from: {}, to: { data_type: 'integer' }, expected: undefined },
    { title: 'any type to text', from: { data_type: 'date' }, to: { data_type: 'text' }, expected: undefined },
    {
      title: 'boolean to date is not',
      from: { data_type: 'boolean' },
      to: { data_type: 'date' },
      expected: 'values of data_type boolean cannot become date; they can become string, text, boolean',
    },
    {
      title: 'text parses into nothing but text and string',
      from: { data_type: 'text' },
      to: { data_type: 'integer' },
      expected: 'values of data_type text cannot become integer; they can become string, text',
    },
    {
      title: 'json never changes multiplicity',
      from: { data_type: 'json' },
      to: { data_type: 'json', multi_valued: true },
      expected: 'a json value holds any JSON, arrays included: multi_valued does not change for json',
    },
  ];
  for (const row of pairs) {
    test(row.title, () => assert.equal(refusedConversion(def(row.from), def(row.to)), row.expected));
  }
});

describe('narrowingFields', () => {
  const enumOf = (...values: string[]): Partial<PropertyCreate> => ({ data_type: 'enum', options: values.map((value) => ({ value })) });
  const cases: { title: string; from: Partial<PropertyCreate>; to: Partial<PropertyCreate>; expected: string[] }[] = [
    { title: 'an option added loosens', from: enumOf('a'), to: enumOf('a', 'b'), expected: [] },
    { title: 'an option removed narrows', from: enumOf('a', 'b'), to: enumOf('b'), expected: ['options'] },
    { title: 'a label changed loosens', from: enumOf('a'), to: { data_type: 'enum', options: [{ value: 'a', label: 'A' }] }, expected: [] },
    { title: 'max_length lowered', from: { validation: { max_length: 10 } }, to: { validation: { max_length: 5 } }, expected: ['validation.max_length'] },
    { title: 'max_length raised loosens', from: { validation: { max_length: 5 } }, to: { validation: { max_length: 10 } }, expected: [] },
    { title: 'validation dropped loosens', from: { validation: { max_length: 5, pattern: 'a' } }, to: { validation: null }, expected: [] },
    { title: 'a first min_length narrows', from: {}, to: { validation: { min_length: 2 } }, expected: ['validation.min_length'] },
    { title: 'a changed pattern narrows', from: { validation: { pattern: 'a' } }, to: { validation: { pattern: 'b' } }, expected: ['validation.pattern'] },
    { title: 'minimum raised, maximum lowered', from: { data_type: 'integer' }, to: { data_type: 'integer', validation: { minimum: 1, maximum: 9 } }, expected: ['validation.minimum', 'validation.maximum'] },
    { title: 'unique turned on', from: {}, to: { unique: true }, expected: ['unique'] },
    { title: 'unique turned off loosens', from: { unique: true }, to: {}, expected: [] },
    { title: 'a new type', from: {}, to: { data_type: 'integer' }, expected: ['data_type'] },
  ];
  for (const row of cases) {
    test(row.title, () => assert.deepEqual(narrowingFields(def(row.from), def(row.to)), row.expected));
  }
});
