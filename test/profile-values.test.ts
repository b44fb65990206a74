// Profile values as tables: each data type's checks and normal forms, each merge function, and
// how record timestamps and source priorities decide under `update`. A refused row names the
// property in `details` and leaves nothing behind.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTenancy, createTestApp, expectError, expectStatus, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

/** Properties of the type table: one per type, some with validation. */
const TYPE_PROPERTIES: Record<string, unknown>[] = [
  { name: 'v_string', data_type: 'string', validation: { min_length: 2, max_length: 5, pattern: '^[a-z]+$' } },
  { name: 'v_text', data_type: 'text' },
  { name: 'v_number', data_type: 'number', validation: { minimum: -10, maximum: 10.5 } },
  { name: 'v_integer', data_type: 'integer', validation: { minimum: 0, maximum: 100 } },
  { name: 'v_boolean', data_type: 'boolean' },
  { name: 'v_date', data_type: 'date' },
  { name: 'v_datetime', data_type: 'datetime' },
  { name: 'v_link', data_type: 'link' },
  { name: 'v_email', data_type: 'email' },
  { name: 'v_phone', data_type: 'phone' },
  { name: 'v_enum', data_type: 'enum', options: [{ value: 'gold' }, { value: 'silver' }] },
  { name: 'v_json', data_type: 'json' },
  { name: 'v_strings', data_type: 'string', multi_valued: true },
  { name: 'v_integers', data_type: 'integer', multi_valued: true, validation: { minimum: 0, maximum: 10 } },
  { name: 'v_emails', data_type: 'email', multi_valued: true },
  { name: 'v_enums', data_type: 'enum', multi_valued: true, options: [{ value: 'a' }, { value: 'b' }] },
  { name: 'v_jsons', data_type: 'json', multi_valued: true },
];

type ValueExpected = { accepted: unknown } | { refused: true; allowed?: unknown[] };

interface ValueRow {
  title: string;
  property: string;
  /** The value as sent (JSON-serialised), unless `raw` gives its JSON text. */
  input?: unknown;
  raw?: string;
  expected: ValueExpected;
}

const accepted = (value: unknown): ValueExpected => ({ accepted: value });
const refused = (allowed?: unknown[]): ValueExpected => (allowed ? { refused: true, allowed } : { refused: true });
/** `levels` arrays nested around 1: [[[1]]] is 3 levels. */
const nested = (levels: number): unknown => (levels === 0 ? 1 : [nested(levels - 1)]);

const typeRows: ValueRow[] = [
  // string: min_length 2, max_length 5, pattern ^[a-z]+$
  { title: 'string within the rules', property: 'v_string', input: 'abc', expected: accepted('abc') },
  { title: 'string at min_length', property: 'v_string', input: 'ab', expected: accepted('ab') },
  { title: 'string at max_length', property: 'v_string', input: 'abcde', expected: accepted('abcde') },
  { title: 'string under min_length', property: 'v_string', input: 'a', expected: refused() },
  { title: 'empty string under min_length', property: 'v_string', input: '', expected: refused() },
  { title: 'string over max_length', property: 'v_string', input: 'abcdef', expected: refused() },
  { title: 'string not matching the pattern', property: 'v_string', input: 'ab1', expected: refused() },
  { title: 'a number for a string', property: 'v_string', input: 42, expected: refused() },
  { title: 'a boolean for a string', property: 'v_string', input: true, expected: refused() },
  { title: 'an array for a single-valued string', property: 'v_string', input: ['abc'], expected: refused() },
  // text
  { title: 'long text', property: 'v_text', input: 'x'.repeat(10_000), expected: accepted('x'.repeat(10_000)) },
  { title: 'an object for a text', property: 'v_text', input: { a: 1 }, expected: refused() },
  // number: minimum -10, maximum 10.5
  { title: 'number with a fraction', property: 'v_number', input: 1.5, expected: accepted(1.5) },
  { title: 'number at minimum', property: 'v_number', input: -10, expected: accepted(-10) },
  { title: 'number at maximum', property: 'v_number', input: 10.5, expected: accepted(10.5) },
  { title: 'number zero', property: 'v_number', input: 0, expected: accepted(0) },
  { title: 'number over maximum', property: 'v_number', input: 10.51, expected: refused() },
  { title: 'number under minimum', property: 'v_number', input: -10.01, expected: refused() },
  { title: 'a numeric string for a number', property: 'v_number', input: '1.5', expected: refused() },
  { title: 'a non-finite number (1e999)', property: 'v_number', raw: '1e999', expected: refused() },
  { title: 'a boolean for a number', property: 'v_number', input: true, expected: refused() },
  // integer: minimum 0, maximum 100
  { title: 'integer', property: 'v_integer', input: 12, expected: accepted(12) },
  { title: 'integer at maximum', property: 'v_integer', input: 100, expected: accepted(100) },
  { title: 'integer at minimum', property: 'v_integer', input: 0, expected: accepted(0) },
  { title: 'integer "12" as a string', property: 'v_integer', input: '12', expected: refused() },
  { title: 'integer 1.5', property: 'v_integer', input: 1.5, expected: refused() },
  { title: 'integer over maximum', property: 'v_integer', input: 101, expected: refused() },
  { title: 'integer under minimum', property: 'v_integer', input: -1, expected: refused() },
  // boolean
  { title: 'boolean true', property: 'v_boolean', input: true, expected: accepted(true) },
  { title: 'boolean false', property: 'v_boolean', input: false, expected: accepted(false) },
  { title: 'boolean "true" as a string', property: 'v_boolean', input: 'true', expected: refused() },
  { title: 'boolean 1', property: 'v_boolean', input: 1, expected: refused() },
  { title: 'boolean 0', property: 'v_boolean', input: 0, expected: refused() },
  // date
  { title: 'date', property: 'v_date', input: '2024-01-05', expected: accepted('2024-01-05') },
  { title: 'date 2024-02-29 (a leap year)', property: 'v_date', input: '2024-02-29', expected: accepted('2024-02-29') },
  { title: 'date 2023-02-29 does not exist', property: 'v_date', input: '2023-02-29', expected: refused() },
  { title: 'date 2024-04-31 does not exist', property: 'v_date', input: '2024-04-31', expected: refused() },
  { title: 'date in the year 50 (not read as 1950)', property: 'v_date', input: '0050-02-28', expected: accepted('0050-02-28') },
  { title: 'date 0100-02-29 does not exist (100 is no leap year)', property: 'v_date', input: '0100-02-29', expected: refused() },
  { title: 'date month 13', property: 'v_date', input: '2024-13-01', expected: refused() },
  { title: 'date without zero padding', property: 'v_date', input: '2024-1-05', expected: refused() },
  { title: 'date with a time', property: 'v_date', input: '2024-01-05T00:00:00Z', expected: refused() },
  { title: 'date in another format', property: 'v_date', input: '05.01.2024', expected: refused() },
  { title: 'date as a number', property: 'v_date', input: 20240105, expected: refused() },
  // datetime: RFC 3339, stored in UTC
  { title: 'datetime with an offset reads back in UTC', property: 'v_datetime', input: '2026-11-23T13:00:00+01:00', expected: accepted('2026-11-23T12:00:00.000Z') },
  { title: 'datetime in UTC', property: 'v_datetime', input: '2026-11-23T12:00:00Z', expected: accepted('2026-11-23T12:00:00.000Z') },
  { title: 'datetime with a fraction', property: 'v_datetime', input: '2026-11-23T12:00:00.5Z', expected: accepted('2026-11-23T12:00:00.500Z') },
  { title: 'datetime whose offset crosses midnight', property: 'v_datetime', input: '2026-11-24T00:30:00+01:00', expected: accepted('2026-11-23T23:30:00.000Z') },
  { title: 'datetime with a negative offset', property: 'v_datetime', input: '2026-11-23T23:59:59-12:00', expected: accepted('2026-11-24T11:59:59.000Z') },
  { title: 'datetime with an offset past 23:59', property: 'v_datetime', input: '2026-11-23T12:00:00+24:00', expected: refused() },
  { title: 'datetime in the year 50', property: 'v_datetime', input: '0050-02-28T12:00:00Z', expected: accepted('0050-02-28T12:00:00.000Z') },
  { title: 'datetime without an offset', property: 'v_datetime', input: '2026-11-23T12:00:00', expected: refused() },
  { title: 'datetime as a bare date', property: 'v_datetime', input: '2026-11-23', expected: refused() },
  { title: 'datetime on a day that does not exist', property: 'v_datetime', input: '2026-02-30T12:00:00Z', expected: refused() },
  { title: 'datetime hour 24', property: 'v_datetime', input: '2026-11-23T24:00:00Z', expected: refused() },
  { title: 'datetime as epoch milliseconds', property: 'v_datetime', input: 1795435200000, expected: refused() },
  // link: absolute http(s)
  { title: 'https link', property: 'v_link', input: 'https://example.com/path?q=1', expected: accepted('https://example.com/path?q=1') },
  { title: 'http link with a port', property: 'v_link', input: 'http://localhost:8080/x', expected: accepted('http://localhost:8080/x') },
  { title: 'ftp link', property: 'v_link', input: 'ftp://x', expected: refused() },
  { title: 'link without a scheme', property: 'v_link', input: 'example.com', expected: refused() },
  { title: 'relative link', property: 'v_link', input: '/path', expected: refused() },
  { title: 'mailto link', property: 'v_link', input: 'mailto:ana@example.com', expected: refused() },
  { title: 'javascript link', property: 'v_link', input: 'javascript:alert(1)', expected: refused() },
  { title: 'link with a scheme only', property: 'v_link', input: 'https://', expected: refused() },
  // email: trimmed and lower-cased
  { title: 'email trimmed and lower-cased', property: 'v_email', input: '  Ana.Petrovic@Example.COM ', expected: accepted('ana.petrovic@example.com') },
  { title: 'email already normal', property: 'v_email', input: 'bo@example.co.uk', expected: accepted('bo@example.co.uk') },
  { title: 'email a@b', property: 'v_email', input: 'a@b', expected: refused() },
  { title: 'email without a mailbox', property: 'v_email', input: '@example.com', expected: refused() },
  { title: 'email with two @', property: 'v_email', input: 'ana@@example.com', expected: refused() },
  { title: 'email with a space inside', property: 'v_email', input: 'ana petrovic@example.com', expected: refused() },
  { title: 'email as a number', property: 'v_email', input: 5, expected: refused() },
  // phone: spaces, dashes, dots, brackets removed, then E.164 with its +
  { title: 'phone with spaces, brackets and a dash', property: 'v_phone', input: '+381 (64) 123-4567', expected: accepted('+381641234567') },
  { title: 'phone with dots', property: 'v_phone', input: '+1.212.555.0100', expected: accepted('+12125550100') },
  { title: 'phone already E.164', property: 'v_phone', input: '+381641234567', expected: accepted('+381641234567') },
  { title: 'phone without its +', property: 'v_phone', input: '0641234567', expected: refused() },
  { title: 'phone with letters', property: 'v_phone', input: '+381 64 ABC 4567', expected: refused() },
  { title: 'phone with a leading zero after +', property: 'v_phone', input: '+0641234567', expected: refused() },
  { title: 'phone of 16 digits', property: 'v_phone', input: '+1234567890123456', expected: refused() },
  { title: 'phone as a number', property: 'v_phone', input: 381641234567, expected: refused() },
  // enum: one of the options; the error lists them
  { title: 'enum option', property: 'v_enum', input: 'gold', expected: accepted('gold') },
  { title: 'enum value not an option', property: 'v_enum', input: 'bronze', expected: refused(['gold', 'silver']) },
  { title: 'enum is case-sensitive', property: 'v_enum', input: 'GOLD', expected: refused(['gold', 'silver']) },
  { title: 'enum as a number', property: 'v_enum', input: 1, expected: refused(['gold', 'silver']) },
  // json: any JSON, at most 32 levels deep
  { title: 'json object', property: 'v_json', input: { a: [1, { b: null }], c: 'x' }, expected: accepted({ a: [1, { b: null }], c: 'x' }) },
  { title: 'json array', property: 'v_json', input: [1, 'two', false], expected: accepted([1, 'two', false]) },
  { title: 'json string', property: 'v_json', input: 'just text', expected: accepted('just text') },
  { title: 'json number', property: 'v_json', input: 42, expected: accepted(42) },
  { title: 'json boolean', property: 'v_json', input: false, expected: accepted(false) },
  { title: 'json 32 levels deep', property: 'v_json', input: nested(32), expected: accepted(nested(32)) },
  { title: 'json 33 levels deep', property: 'v_json', input: nested(33), expected: refused() },
  // multi-valued: arrays, items checked one by one, duplicates dropped
  { title: 'multi-valued strings, duplicates dropped, order kept', property: 'v_strings', input: ['b', 'a', 'b'], expected: accepted(['b', 'a']) },
  { title: 'a scalar for a multi-valued string', property: 'v_strings', input: 'a', expected: refused() },
  { title: 'a bad item among good ones', property: 'v_strings', input: ['a', 5], expected: refused() },
  { title: 'multi-valued integers within the range', property: 'v_integers', input: [3, 1, 3, 10], expected: accepted([3, 1, 10]) },
  { title: 'multi-valued integers, one over maximum', property: 'v_integers', input: [1, 2, 11], expected: refused() },
  { title: 'multi-valued integers, one a string', property: 'v_integers', input: [1, '2'], expected: refused() },
  { title: 'multi-valued emails normalised, then deduplicated', property: 'v_emails', input: [' A@Example.com', 'a@example.COM', 'b@example.com'], expected: accepted(['a@example.com', 'b@example.com']) },
  { title: 'multi-valued emails, one bad', property: 'v_emails', input: ['a@example.com', 'a@b'], expected: refused() },
  { title: 'multi-valued enum, an item not an option', property: 'v_enums', input: ['a', 'c'], expected: refused(['a', 'b']) },
  { title: 'multi-valued enum', property: 'v_enums', input: ['b', 'a'], expected: accepted(['b', 'a']) },
  { title: 'multi-valued json takes an array', property: 'v_jsons', input: [{ a: 1 }, 2], expected: accepted([{ a: 1 }, 2]) },
  { title: 'a scalar for a multi-valued json', property: 'v_jsons', input: { a: 1 }, expected: refused() },
];

/** Properties of the merge table: one per merge function and type. */
const MERGE_PROPERTIES: Record<string, unknown>[] = [
  { name: 'm_update', data_type: 'string', merge_function: 'update' },
  { name: 'm_update_multi', data_type: 'string', multi_valued: true, merge_function: 'update' },
  { name: 'm_keep', data_type: 'string', merge_function: 'keep' },
  { name: 'm_keep_multi', data_type: 'string', multi_valued: true, merge_function: 'keep' },
  { name: 'm_append', data_type: 'string', multi_valued: true, merge_function: 'append' },
  { name: 'm_append_int', data_type: 'integer', multi_valued: true, merge_function: 'append' },
  { name: 'm_sum_int', data_type: 'integer', merge_function: 'sum' },
  { name: 'm_sum_num', data_type: 'number', merge_function: 'sum' },
  { name: 'm_sum_capped', data_type: 'integer', validation: { maximum: 100 }, merge_function: 'sum' },
  { name: 'm_min_int', data_type: 'integer', merge_function: 'min' },
  { name: 'm_max_int', data_type: 'integer', merge_function: 'max' },
  { name: 'm_min_num', data_type: 'number', merge_function: 'min' },
  { name: 'm_max_num', data_type: 'number', merge_function: 'max' },
  { name: 'm_min_date', data_type: 'date', merge_function: 'min' },
  { name: 'm_max_date', data_type: 'date', merge_function: 'max' },
  { name: 'm_min_dt', data_type: 'datetime', merge_function: 'min' },
  { name: 'm_max_dt', data_type: 'datetime', merge_function: 'max' },
];

const ABSENT = Symbol('absent');
type Maybe = unknown | typeof ABSENT;

interface MergeRow {
  title: string;
  property: string;
  /** What the profile holds before (ABSENT: nothing). */
  stored: Maybe;
  incoming: unknown;
  /** What it holds after (ABSENT: nothing). */
  expected: Maybe;
}

const mergeRows: MergeRow[] = [
  // update: replace
  { title: 'update replaces', property: 'm_update', stored: 'old', incoming: 'new', expected: 'new' },
  { title: 'update fills an empty value', property: 'm_update', stored: ABSENT, incoming: 'new', expected: 'new' },
  { title: 'update replaces a whole multi-valued value', property: 'm_update_multi', stored: ['a', 'b'], incoming: ['c'], expected: ['c'] },
  // keep: only if empty
  { title: 'keep keeps the stored value', property: 'm_keep', stored: 'first', incoming: 'second', expected: 'first' },
  { title: 'keep fills an empty value', property: 'm_keep', stored: ABSENT, incoming: 'second', expected: 'second' },
  { title: 'keep keeps a multi-valued value', property: 'm_keep_multi', stored: ['a'], incoming: ['b'], expected: ['a'] },
  // append: union, order kept
  { title: 'append adds what is new, in order', property: 'm_append', stored: ['a', 'b'], incoming: ['b', 'c'], expected: ['a', 'b', 'c'] },
  { title: 'append keeps the stored order first', property: 'm_append', stored: ['c', 'a'], incoming: ['b', 'a', 'd'], expected: ['c', 'a', 'b', 'd'] },
  { title: 'append to an empty value', property: 'm_append', stored: ABSENT, incoming: ['b', 'a', 'b'], expected: ['b', 'a'] },
  { title: 'append integers', property: 'm_append_int', stored: [3, 1], incoming: [2, 3], expected: [3, 1, 2] },
  // sum
  { title: 'sum of integers', property: 'm_sum_int', stored: 5, incoming: 3, expected: 8 },
  { title: 'sum with a negative integer', property: 'm_sum_int', stored: 5, incoming: -7, expected: -2 },
  { title: 'sum into an empty value', property: 'm_sum_int', stored: ABSENT, incoming: 3, expected: 3 },
  { title: 'sum of numbers', property: 'm_sum_num', stored: 1.5, incoming: 2.25, expected: 3.75 },
  // min / max: numbers compare as numbers, dates as dates, datetimes in UTC
  { title: 'min of integers takes the smaller', property: 'm_min_int', stored: 5, incoming: 3, expected: 3 },
  { title: 'min of integers keeps the smaller', property: 'm_min_int', stored: 5, incoming: 7, expected: 5 },
  { title: 'min compares numerically (9 < 10)', property: 'm_min_int', stored: 10, incoming: 9, expected: 9 },
  { title: 'min into an empty value', property: 'm_min_int', stored: ABSENT, incoming: 7, expected: 7 },
  { title: 'max of integers takes the larger', property: 'm_max_int', stored: 5, incoming: 7, expected: 7 },
  { title: 'max of integers keeps the larger', property: 'm_max_int', stored: 5, incoming: 3, expected: 5 },
  { title: 'max compares numerically (10 > 9)', property: 'm_max_int', stored: 9, incoming: 10, expected: 10 },
  { title: 'min of negative numbers', property: 'm_min_num', stored: -1.5, incoming: -2, expected: -2 },
  { title: 'max of negative numbers', property: 'm_max_num', stored: -1.5, incoming: -2, expected: -1.5 },
  { title: 'min of dates', property: 'm_min_date', stored: '2024-03-01', incoming: '2024-01-15', expected: '2024-01-15' },
  { title: 'max of dates across a year', property: 'm_max_date', stored: '2023-12-31', incoming: '2024-01-01', expected: '2024-01-01' },
  { title: 'max of dates keeps the later', property: 'm_max_date', stored: '2024-02-29', incoming: '2024-02-28', expected: '2024-02-29' },
  {
    title: 'min of datetimes compares instants, not offsets',
    property: 'm_min_dt',
    stored: '2026-11-23T12:00:00Z',
    incoming: '2026-11-23T13:30:00+02:00',
    expected: '2026-11-23T11:30:00.000Z',
  },
  {
    title: 'max of datetimes keeps the later instant',
    property: 'm_max_dt',
    stored: '2026-11-23T12:00:00Z',
    incoming: '2026-11-23T12:30:00+01:00',
    expected: '2026-11-23T12:00:00.000Z',
  },
  { title: 'max of datetimes takes the later instant', property: 'm_max_dt', stored: '2026-11-23T12:00:00Z', incoming: '2026-11-23T12:00:00.001Z', expected: '2026-11-23T12:00:00.001Z' },
  // null clears, whatever the merge function
  ...[
    ['m_update', 'x'],
    ['m_keep', 'x'],
    ['m_append', ['x']],
    ['m_sum_int', 4],
    ['m_min_num', 1.5],
    ['m_max_date', '2024-01-01'],
    ['m_min_dt', '2026-11-23T12:00:00Z'],
  ].map(([property, stored]) => ({ title: `null clears under ${MERGE_PROPERTIES.find((p) => p.name === property)!.merge_function} (${property})`, property: property as string, stored, incoming: null, expected: ABSENT })),
  { title: 'null on an empty value leaves it empty', property: 'm_sum_int', stored: ABSENT, incoming: null, expected: ABSENT },
];

/** Merges whose result breaks what each value was checked against: refused, the stored value kept. */
const refusedMergeRows: { title: string; property: string; stored: unknown; incoming: unknown; problem: string }[] = [
  { title: 'sum past the validation maximum', property: 'm_sum_capped', stored: 60, incoming: 50, problem: 'combined with the stored value by sum, must be at most 100' },
  { title: 'sum past the largest safe integer', property: 'm_sum_int', stored: Number.MAX_SAFE_INTEGER, incoming: 1, problem: 'combined with the stored value by sum, must be an integer' },
  {
    title: 'append past 1000 items',
    property: 'm_append_int',
    stored: Array.from({ length: 600 }, (_, i) => i),
    incoming: Array.from({ length: 600 }, (_, i) => 1000 + i),
    problem: 'combined with the stored value by append, must have at most 1000 items',
  },
];

const T1 = '2026-01-01T00:00:00Z';
const T2 = '2026-02-01T00:00:00Z';
const T3 = '2026-03-01T00:00:00Z';
const iso = (t: string) => new Date(t).toISOString();

interface Write {
  properties: Record<string, unknown>;
  source?: string;
  timestamp?: string;
}

interface OrderRow {
  title: string;
  property: string;
  /** Batch records for one profile, sent one batch after the other. */
  writes: Write[];
  /** Each write's status. */
  statuses: string[];
  expected: unknown;
  /** The provenance of the value that stays (updated_at left out: the time of an undated write). */
  provenance: { source: string | null; updated_at?: string };
}

// Sources: crm has priority 1 (the highest), shop priority 2.
const orderRows: OrderRow[] = [
  {
    title: 'a newer timestamp replaces',
    property: 'o_tier',
    writes: [{ properties: { o_tier: 'gold' }, timestamp: T2 }, { properties: { o_tier: 'silver' }, timestamp: T3 }],
    statuses: ['created', 'updated'],
    expected: 'silver',
    provenance: { source: null, updated_at: iso(T3) },
  },
  {
    title: 'an older timestamp does not replace',
    property: 'o_tier',
    writes: [{ properties: { o_tier: 'gold' }, timestamp: T2 }, { properties: { o_tier: 'silver' }, timestamp: T1 }],
    statuses: ['created', 'updated'],
    expected: 'gold',
    provenance: { source: null, updated_at: iso(T2) },
  },
  {
    title: 'timestamps compare as instants (11:30+02:00 is before 10:00Z)',
    property: 'o_tier',
    writes: [{ properties: { o_tier: 'gold' }, timestamp: '2026-01-01T10:00:00Z' }, { properties: { o_tier: 'silver' }, timestamp: '2026-01-01T11:30:00+02:00' }],
    statuses: ['created', 'updated'],
    expected: 'gold',
    provenance: { source: null, updated_at: '2026-01-01T10:00:00.000Z' },
  },
  {
    title: 'a timestamp older than an undated write does not replace it',
    property: 'o_tier',
    writes: [{ properties: { o_tier: 'gold' } }, { properties: { o_tier: 'silver' }, timestamp: '2000-01-01T00:00:00Z' }],
    statuses: ['created', 'updated'],
    expected: 'gold',
    provenance: { source: null },
  },
  {
    title: 'a lower-priority source does not replace a higher one',
    property: 'o_tier',
    writes: [{ properties: { o_tier: 'gold' }, source: 'crm' }, { properties: { o_tier: 'silver' }, source: 'shop' }],
    statuses: ['created', 'updated'],
    expected: 'gold',
    provenance: { source: 'crm' },
  },
  {
    title: 'a lower-priority source does not replace a higher one even when newer',
    property: 'o_tier',
    writes: [{ properties: { o_tier: 'gold' }, source: 'crm', timestamp: T1 }, { properties: { o_tier: 'silver' }, source: 'shop', timestamp: T3 }],
    statuses: ['created', 'updated'],
    expected: 'gold',
    provenance: { source: 'crm', updated_at: iso(T1) },
  },
  {
    title: 'a higher-priority source replaces a lower one',
    property: 'o_tier',
    writes: [{ properties: { o_tier: 'gold' }, source: 'shop' }, { properties: { o_tier: 'silver' }, source: 'crm' }],
    statuses: ['created', 'updated'],
    expected: 'silver',
    provenance: { source: 'crm' },
  },
  {
    title: 'a source replaces its own value',
    property: 'o_tier',
    writes: [{ properties: { o_tier: 'gold' }, source: 'shop' }, { properties: { o_tier: 'silver' }, source: 'shop' }],
    statuses: ['created', 'updated'],
    expected: 'silver',
    provenance: { source: 'shop' },
  },
  {
    title: 'a value written without a source is not ranked: a source replaces it',
    property: 'o_tier',
    writes: [{ properties: { o_tier: 'gold' } }, { properties: { o_tier: 'silver' }, source: 'shop' }],
    statuses: ['created', 'updated'],
    expected: 'silver',
    provenance: { source: 'shop' },
  },
  {
    title: 'a value written without a source replaces a source\'s value',
    property: 'o_tier',
    writes: [{ properties: { o_tier: 'gold' }, source: 'crm' }, { properties: { o_tier: 'silver' } }],
    statuses: ['created', 'updated'],
    expected: 'silver',
    provenance: { source: null },
  },
  {
    title: 'priority decides under update only: sum adds a lower-priority value',
    property: 'o_visits',
    writes: [{ properties: { o_visits: 5 }, source: 'crm' }, { properties: { o_visits: 3 }, source: 'shop' }],
    statuses: ['created', 'updated'],
    expected: 8,
    provenance: { source: 'shop' },
  },
  {
    title: 'an unknown source rejects the record and writes nothing',
    property: 'o_tier',
    writes: [{ properties: { o_tier: 'gold' }, source: 'shop' }, { properties: { o_tier: 'silver', o_visits: 1 }, source: 'nowhere' }],
    statuses: ['created', 'rejected'],
    expected: 'gold',
    provenance: { source: 'shop' },
  },
];

for (const dialect of dialects) {
  describe(`profile values [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let base: string;
    let n = 0;
    const req = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
      t.request({ method, url: `${base}${url}`, token: a.token, ...(payload === undefined ? {} : { payload: payload as object }) });

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t, 'Values');
      base = `/v1/workspaces/${a.workspaceId}`;
      for (const p of [...TYPE_PROPERTIES, ...MERGE_PROPERTIES, { name: 'o_tier', data_type: 'string' }, { name: 'o_visits', data_type: 'integer', merge_function: 'sum' }]) {
        expectStatus(await req('POST', '/properties', p), 201);
      }
      expectStatus(await req('POST', '/sources', { name: 'crm', priority: 1 }), 201);
      expectStatus(await req('POST', '/sources', { name: 'shop', priority: 2 }), 201);
    });
    after(() => t.close());

    describe('values by data type', () => {
      for (const row of typeRows) {
        const verdict = 'accepted' in row.expected ? 'accepted' : 'refused';
        test(`${row.title} → ${verdict}`, async () => {
          const id = `type-${++n}`;
          const res = row.raw
            ? await t.request({
                method: 'PUT',
                url: `${base}/profiles/${id}`,
                token: a.token,
                headers: { 'content-type': 'application/json' },
                payload: `{"properties": {"${row.property}": ${row.raw}}}`,
              })
            : await req('PUT', `/profiles/${id}`, { properties: { [row.property]: row.input } });
          if ('accepted' in row.expected) {
            expectStatus(res, 201);
            assert.deepEqual(res.body.properties, { [row.property]: row.expected.accepted });
            const read = await req('GET', `/profiles/${id}`);
            expectStatus(read, 200);
            assert.deepEqual(read.body.properties, { [row.property]: row.expected.accepted }, 'reads back in its stored form');
            return;
          }
          const details = expectError(res, 400, 'VALIDATION_FAILED');
          assert.equal(details.length, 1, res.raw);
          assert.equal(details[0].field, `properties.${row.property}`);
          assert.ok(details[0].problem.length > 0, 'says what is wrong');
          assert.deepEqual(details[0].allowed, row.expected.allowed);
          expectError(await req('GET', `/profiles/${id}`), 404, 'NOT_FOUND');
        });
      }

      test('every problem of a write comes back at once, per property; nothing is written', async () => {
        const res = await req('PUT', '/profiles/many-problems', {
          properties: { v_integer: '12', v_date: '2023-02-29', v_enum: 'bronze', nope: 1, v_string: 'fine', v_phone: '0641234567', v_strings: 'a' },
        });
        const details = expectError(res, 400, 'VALIDATION_FAILED');
        assert.deepEqual(details.map((d) => d.field).sort(), ['properties.nope', 'properties.v_date', 'properties.v_enum', 'properties.v_integer', 'properties.v_phone', 'properties.v_strings']);
        assert.deepEqual(details.find((d) => d.field === 'properties.v_enum')?.allowed, ['gold', 'silver']);
        for (const d of details) assert.ok(d.problem.length > 0, `${d.field} says what is wrong`);
        expectError(await req('GET', '/profiles/many-problems'), 404, 'NOT_FOUND');
      });

      test('a PATCH checks values the same way and changes nothing when refused', async () => {
        expectStatus(await req('PUT', '/profiles/patched', { properties: { v_integer: 5, v_string: 'abc' } }), 201);
        const res = await req('PATCH', '/profiles/patched', { properties: { v_integer: 1.5, v_string: 'xyz', v_link: 'example.com' } });
        const details = expectError(res, 400, 'VALIDATION_FAILED');
        assert.deepEqual(details.map((d) => d.field).sort(), ['properties.v_integer', 'properties.v_link']);
        const read = await req('GET', '/profiles/patched');
        expectStatus(read, 200);
        assert.deepEqual(read.body.properties, { v_integer: 5, v_string: 'abc' });
      });

      test('unknown and archived property names are errors', async () => {
        expectStatus(await req('POST', '/properties', { name: 'v_retired', data_type: 'string' }), 201);
        expectStatus(await req('DELETE', '/properties/v_retired'), 204);
        const res = await req('PUT', '/profiles/unknown-names', { properties: { v_retired: 'x', v_unheard_of: 'y', v_string: 'abc' } });
        const details = expectError(res, 400, 'VALIDATION_FAILED');
        assert.deepEqual(details.map((d) => d.field).sort(), ['properties.v_retired', 'properties.v_unheard_of']);
        expectError(await req('GET', '/profiles/unknown-names'), 404, 'NOT_FOUND');
      });
    });

    for (const mode of ['PATCH', 'batch'] as const) {
      describe(`merge functions through ${mode}`, () => {
        for (const row of mergeRows) {
          test(row.title, async () => {
            const id = `merge-${++n}`;
            const initial = row.stored === ABSENT ? {} : { [row.property]: row.stored };
            expectStatus(await req('PUT', `/profiles/${id}`, { properties: initial }), 201);
            const expected = row.expected === ABSENT ? {} : { [row.property]: row.expected };
            if (mode === 'PATCH') {
              const res = await req('PATCH', `/profiles/${id}`, { properties: { [row.property]: row.incoming } });
              expectStatus(res, 200);
              assert.equal(res.body.id, id);
              assert.deepEqual(res.body.properties, expected);
            } else {
              const res = await req('POST', '/profiles/batch', { inputs: [{ id, properties: { [row.property]: row.incoming } }] });
              expectStatus(res, 200);
              assert.deepEqual(res.body, { results: [{ index: 0, status: 'updated', id }] });
            }
            const read = await req('GET', `/profiles/${id}`);
            expectStatus(read, 200);
            assert.deepEqual(read.body.properties, expected);
          });
        }

        for (const row of refusedMergeRows) {
          test(`refused: ${row.title}`, async () => {
            const id = `refused-${++n}`;
            expectStatus(await req('PUT', `/profiles/${id}`, { properties: { [row.property]: row.stored, m_keep: 'kept' } }), 201);
            const incoming = { [row.property]: row.incoming, m_update: 'not written either' };
            const expected = [{ field: `properties.${row.property}`, problem: row.problem }];
            if (mode === 'PATCH') {
              assert.deepEqual(expectError(await req('PATCH', `/profiles/${id}`, { properties: incoming }), 400, 'VALIDATION_FAILED'), expected);
            } else {
              // The record is rejected whole; the batch's other record is written.
              const res = await req('POST', '/profiles/batch', { inputs: [{ id, properties: incoming }, { id: `${id}-other`, properties: { m_keep: 'other' } }] });
              expectStatus(res, 200);
              assert.deepEqual(res.body, {
                results: [
                  { index: 0, status: 'rejected', errors: expected },
                  { index: 1, status: 'created', id: `${id}-other` },
                ],
              });
            }
            const read = await req('GET', `/profiles/${id}`);
            expectStatus(read, 200);
            assert.deepEqual(read.body.properties, { [row.property]: row.stored, m_keep: 'kept' });
          });
        }
      });
    }

    describe('update: record timestamps and source priorities', () => {
      for (const row of orderRows) {
        test(row.title, async () => {
          const id = `order-${++n}`;
          for (const [i, write] of row.writes.entries()) {
            const res = await req('POST', '/profiles/batch', { inputs: [{ id, ...write }] });
            expectStatus(res, 200);
            assert.equal(res.body.results.length, 1);
            const result = res.body.results[0];
            if (row.statuses[i] === 'rejected') {
              assert.equal(result.status, 'rejected', JSON.stringify(result));
              assert.equal(result.index, 0);
              assert.deepEqual(result.errors.map((e: { field: string }) => e.field), ['source']);
            } else {
              assert.deepEqual(result, { index: 0, status: row.statuses[i], id });
            }
          }
          const read = await req('GET', `/profiles/${id}?include=provenance`);
          expectStatus(read, 200);
          assert.deepEqual(read.body.properties[row.property], row.expected);
          const provenance = read.body.provenance[row.property];
          assert.equal(provenance.source, row.provenance.source);
          if (row.provenance.updated_at) assert.equal(provenance.updated_at, row.provenance.updated_at);
          else assert.ok(!Number.isNaN(Date.parse(provenance.updated_at)), provenance.updated_at);
          if (row.statuses.includes('rejected')) assert.ok(!('o_visits' in read.body.properties), 'nothing of the rejected record is written');
        });
      }
    });
  });
}
