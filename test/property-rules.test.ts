// The rules of a property definition, as tables: each row is one create (or patch) and what it
// must answer. A refused row names every failing field, and leaves nothing behind.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTenancy, createTestApp, expectError, expectStatus, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

/** The fields `details` names, in order; `allowed` where the rule offers choices. */
type Refused = { status: 400; details: { field: string; allowed?: unknown[] }[] };
type Expected = { status: 201 } | Refused;

interface Row {
  title: string;
  /** A create body; `name` is filled in when the row does not test it. */
  input: Record<string, unknown>;
  expected: Expected;
}

const ok: Expected = { status: 201 };
const refused = (...details: (string | { field: string; allowed?: unknown[] })[]): Refused => ({
  status: 400,
  details: details.map((d) => (typeof d === 'string' ? { field: d } : d)),
});

const DATA_TYPES = ['string', 'text', 'number', 'integer', 'boolean', 'date', 'datetime', 'link', 'email', 'phone', 'enum', 'json'];
const OPTIONS = [{ value: 'a' }, { value: 'b' }];
/** A valid create body for each data type (enum needs its options). */
const typed = (data_type: string, extra: Record<string, unknown> = {}) => ({ data_type, ...(data_type === 'enum' ? { options: OPTIONS } : {}), ...extra });

const names: Row[] = [
  { title: 'letters, digits and underscores', input: { name: 'loyalty_tier_2', data_type: 'string' }, expected: ok },
  { title: 'a leading underscore', input: { name: '_internal', data_type: 'string' }, expected: ok },
  { title: 'mixed case', input: { name: 'camelCaseName', data_type: 'string' }, expected: ok },
  { title: 'one character', input: { name: 'z', data_type: 'string' }, expected: ok },
  { title: '120 characters', input: { name: `n${'x'.repeat(119)}`, data_type: 'string' }, expected: ok },
  { title: '121 characters', input: { name: `n${'x'.repeat(120)}`, data_type: 'string' }, expected: refused('name') },
  { title: 'empty', input: { name: '', data_type: 'string' }, expected: refused('name') },
  { title: 'a leading digit', input: { name: '1st_visit', data_type: 'string' }, expected: refused('name') },
  { title: 'a dash', input: { name: 'first-visit', data_type: 'string' }, expected: refused('name') },
  { title: 'a space', input: { name: 'first visit', data_type: 'string' }, expected: refused('name') },
  { title: 'a dot', input: { name: 'first.visit', data_type: 'string' }, expected: refused('name') },
  { title: 'a non-ASCII letter', input: { name: 'größe', data_type: 'string' }, expected: refused('name') },
  // An undefined name is left out of the JSON body.
  { title: 'missing', input: { name: undefined, data_type: 'string' }, expected: refused('name') },
  { title: 'display_name of 120 characters', input: { data_type: 'string', display_name: 'D'.repeat(120) }, expected: ok },
  { title: 'display_name of 121 characters', input: { data_type: 'string', display_name: 'D'.repeat(121) }, expected: refused('display_name') },
  { title: 'empty display_name', input: { data_type: 'string', display_name: '' }, expected: refused('display_name') },
];

const dataTypes: Row[] = [
  ...DATA_TYPES.map((type) => ({ title: `data_type ${type}`, input: typed(type), expected: ok })),
  { title: 'an unknown data_type lists the allowed ones', input: { data_type: 'float' }, expected: refused({ field: 'data_type', allowed: DATA_TYPES }) },
  { title: 'data_type is case-sensitive', input: { data_type: 'STRING' }, expected: refused({ field: 'data_type', allowed: DATA_TYPES }) },
  { title: 'data_type is required', input: {}, expected: refused('data_type') },
];

const options: Row[] = [
  { title: 'enum with options', input: { data_type: 'enum', options: [{ value: 'gold', label: 'Gold', display_order: 1, hidden: false }] }, expected: ok },
  { title: 'enum without options', input: { data_type: 'enum' }, expected: refused('options') },
  { title: 'enum with null options', input: { data_type: 'enum', options: null }, expected: refused('options') },
  { title: 'enum with an empty options list', input: { data_type: 'enum', options: [] }, expected: refused('options') },
  { title: 'options on a string', input: { data_type: 'string', options: OPTIONS }, expected: refused('options') },
  { title: 'options on an integer', input: { data_type: 'integer', options: OPTIONS }, expected: refused('options') },
  { title: 'null options on a string', input: { data_type: 'string', options: null }, expected: ok },
  { title: 'duplicate option values, each repeat named', input: { data_type: 'enum', options: [{ value: 'a' }, { value: 'b' }, { value: 'a' }, { value: 'b' }] }, expected: refused('options[2].value', 'options[3].value') },
  { title: 'an option without a value', input: { data_type: 'enum', options: [{ value: 'a' }, { label: 'B' }] }, expected: refused('options[1].value') },
  { title: 'an option with an unknown field', input: { data_type: 'enum', options: [{ value: 'a', colour: 'red' }] }, expected: refused('options[0].colour') },
];

const STRING_KEYS = { min_length: 1, max_length: 10, pattern: '^[a-z]+$' };
const validation: Row[] = [
  ...['string', 'text', 'link', 'email', 'phone', 'enum'].map((type) => ({ title: `min_length, max_length, pattern on ${type}`, input: typed(type, { validation: STRING_KEYS }), expected: ok })),
  ...['number', 'integer', 'boolean', 'date', 'datetime', 'json'].map((type) => ({
    title: `min_length, max_length, pattern refused on ${type}`,
    input: typed(type, { validation: STRING_KEYS }),
    expected: refused('validation.min_length', 'validation.max_length', 'validation.pattern'),
  })),
  ...['number', 'integer'].map((type) => ({ title: `minimum and maximum on ${type}`, input: typed(type, { validation: { minimum: -5, maximum: 5 } }), expected: ok })),
  ...['string', 'date', 'datetime', 'boolean'].map((type) => ({
    title: `minimum and maximum refused on ${type}`,
    input: typed(type, { validation: { minimum: 1, maximum: 2 } }),
    expected: refused('validation.minimum', 'validation.maximum'),
  })),
  { title: 'minimum greater than maximum', input: typed('number', { validation: { minimum: 10, maximum: 1 } }), expected: refused('validation.minimum') },
  { title: 'minimum equal to maximum', input: typed('integer', { validation: { minimum: 3, maximum: 3 } }), expected: ok },
  { title: 'min_length greater than max_length', input: typed('string', { validation: { min_length: 5, max_length: 2 } }), expected: refused('validation.min_length') },
  { title: 'an unclosed group is not a regular expression', input: typed('string', { validation: { pattern: '([a-z]' } }), expected: refused('validation.pattern') },
  { title: 'an unclosed class is not a regular expression', input: typed('string', { validation: { pattern: '[a-' } }), expected: refused('validation.pattern') },
  { title: 'a negative min_length', input: typed('string', { validation: { min_length: -1 } }), expected: refused('validation.min_length') },
  { title: 'an unknown validation key', input: typed('string', { validation: { max_size: 3 } }), expected: refused('validation.max_size') },
  { title: 'null validation', input: typed('number', { validation: null }), expected: ok },
];

const UK = ['update', 'keep'];
const mergeFunctions: Row[] = [
  ...DATA_TYPES.flatMap((type) => [
    { title: `update on ${type}`, input: typed(type, { merge_function: 'update' }), expected: ok },
    { title: `keep on ${type}`, input: typed(type, { merge_function: 'keep' }), expected: ok },
  ]),
  ...['number', 'integer'].map((type) => ({ title: `sum on ${type}`, input: typed(type, { merge_function: 'sum' }), expected: ok })),
  { title: 'sum on string', input: typed('string', { merge_function: 'sum' }), expected: refused({ field: 'merge_function', allowed: UK }) },
  { title: 'sum on date', input: typed('date', { merge_function: 'sum' }), expected: refused({ field: 'merge_function', allowed: [...UK, 'min', 'max'] }) },
  ...['number', 'integer', 'date', 'datetime'].flatMap((type) => [
    { title: `min on ${type}`, input: typed(type, { merge_function: 'min' }), expected: ok },
    { title: `max on ${type}`, input: typed(type, { merge_function: 'max' }), expected: ok },
  ]),
  { title: 'min on boolean', input: typed('boolean', { merge_function: 'min' }), expected: refused({ field: 'merge_function', allowed: UK }) },
  { title: 'max on string', input: typed('string', { merge_function: 'max' }), expected: refused({ field: 'merge_function', allowed: UK }) },
  { title: 'max on enum', input: typed('enum', { merge_function: 'max' }), expected: refused({ field: 'merge_function', allowed: UK }) },
  { title: 'append on multi-valued string', input: typed('string', { multi_valued: true, merge_function: 'append' }), expected: ok },
  { title: 'append on multi-valued enum', input: typed('enum', { multi_valued: true, merge_function: 'append' }), expected: ok },
  { title: 'append on single-valued string', input: typed('string', { merge_function: 'append' }), expected: refused({ field: 'merge_function', allowed: UK }) },
  {
    title: 'append on single-valued integer',
    input: typed('integer', { merge_function: 'append' }),
    expected: refused({ field: 'merge_function', allowed: [...UK, 'sum', 'min', 'max'] }),
  },
  { title: 'sum on multi-valued number', input: typed('number', { multi_valued: true, merge_function: 'sum' }), expected: refused({ field: 'merge_function', allowed: [...UK, 'append'] }) },
  { title: 'max on multi-valued date', input: typed('date', { multi_valued: true, merge_function: 'max' }), expected: refused({ field: 'merge_function', allowed: [...UK, 'append'] }) },
  {
    title: 'an unknown merge_function lists them all',
    input: typed('string', { merge_function: 'replace' }),
    expected: refused({ field: 'merge_function', allowed: ['update', 'keep', 'append', 'sum', 'min', 'max'] }),
  },
];

const uniqueness: Row[] = [
  ...['string', 'text', 'number', 'integer', 'date', 'datetime', 'link', 'email', 'phone', 'enum'].map((type) => ({ title: `unique ${type}`, input: typed(type, { unique: true }), expected: ok })),
  { title: 'unique boolean', input: typed('boolean', { unique: true }), expected: refused('unique') },
  { title: 'unique json', input: typed('json', { unique: true }), expected: refused('unique') },
  { title: 'unique multi-valued string', input: typed('string', { unique: true, multi_valued: true }), expected: refused('unique') },
  { title: 'unique false on boolean', input: typed('boolean', { unique: false }), expected: ok },
];

const identities: Row[] = [
  ...['string', 'number', 'integer', 'date', 'datetime', 'link', 'email', 'phone', 'enum'].map((type) => ({
    title: `primary identity on ${type}`,
    input: typed(type, { identity: { role: 'primary' } }),
    expected: ok,
  })),
  { title: 'secondary identity with a priority', input: typed('phone', { identity: { role: 'secondary', priority: 3 } }), expected: ok },
  ...['boolean', 'json', 'text'].map((type) => ({ title: `identity on ${type}`, input: typed(type, { identity: { role: 'primary' } }), expected: refused('identity.role') })),
  { title: 'identity on multi-valued email', input: typed('email', { multi_valued: true, identity: { role: 'secondary' } }), expected: refused('identity.role') },
  { title: 'role none on boolean', input: typed('boolean', { identity: { role: 'none' } }), expected: ok },
  { title: 'an unknown role', input: typed('string', { identity: { role: 'tertiary' } }), expected: refused({ field: 'identity.role', allowed: ['none', 'primary', 'secondary'] }) },
  { title: 'priority 0', input: typed('string', { identity: { role: 'primary', priority: 0 } }), expected: refused('identity.priority') },
];

const together: Row[] = [
  {
    title: 'every broken rule of one definition is reported at once',
    input: {
      data_type: 'boolean',
      options: OPTIONS,
      validation: { pattern: '(', minimum: 1 },
      merge_function: 'sum',
      unique: true,
      identity: { role: 'primary' },
    },
    expected: refused('options', 'validation.pattern', 'validation.minimum', { field: 'merge_function', allowed: UK }, 'unique', 'identity.role'),
  },
];

const tables: [string, Row[]][] = [
  ['names', names],
  ['data types', dataTypes],
  ['options', options],
  ['validation', validation],
  ['merge functions', mergeFunctions],
  ['unique', uniqueness],
  ['identity', identities],
  ['several rules', together],
];

interface PatchRow {
  title: string;
  /** The property as created, then the patch sent to it. */
  create: Record<string, unknown>;
  patch: Record<string, unknown>;
  expected: { status: 200 } | Refused;
}

// The same rules hold after a PATCH: the patched definition as a whole must pass them.
const patches: PatchRow[] = [
  { title: 'sum on a string', create: typed('string'), patch: { merge_function: 'sum' }, expected: refused({ field: 'merge_function', allowed: UK }) },
  { title: 'a type change that leaves unique on a boolean', create: typed('string', { unique: true }), patch: { data_type: 'boolean' }, expected: refused('unique') },
  { title: 'a type change to enum without options', create: typed('string'), patch: { data_type: 'enum' }, expected: refused('options') },
  { title: 'a type change to enum with options', create: typed('string'), patch: { data_type: 'enum', options: OPTIONS }, expected: { status: 200 } },
  { title: 'a type change away from enum keeping its options', create: typed('enum'), patch: { data_type: 'string' }, expected: refused('options') },
  { title: 'a type change away from enum dropping its options', create: typed('enum'), patch: { data_type: 'string', options: null }, expected: { status: 200 } },
  { title: 'a type change that strands a pattern', create: typed('string', { validation: { pattern: '^a' } }), patch: { data_type: 'integer' }, expected: refused('validation.pattern') },
  { title: 'an identity on a json property', create: typed('json'), patch: { identity: { role: 'secondary' } }, expected: refused('identity.role') },
  { title: 'append on a multi-valued property', create: typed('string', { multi_valued: true }), patch: { merge_function: 'append' }, expected: { status: 200 } },
  { title: 'duplicate option values', create: typed('enum'), patch: { options: [{ value: 'x' }, { value: 'x' }] }, expected: refused('options[1].value') },
];

for (const dialect of dialects) {
  describe(`property definition rules [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let ws: string;
    let n = 0;

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t, 'Rules');
      ws = `/v1/workspaces/${a.workspaceId}/properties`;
    });
    after(() => t.close());

    const fieldsOf = (details: { field: string; allowed?: unknown[] }[]) =>
      details.map((d) => (d.allowed === undefined ? { field: d.field } : { field: d.field, allowed: d.allowed }));

    for (const [group, rows] of tables) {
      describe(group, () => {
        for (const { title, input, expected } of rows) {
          test(`${title} → ${expected.status}`, async () => {
            // Rows that do not test the name get one of their own, so none clashes with another.
            const body = 'name' in input ? input : { name: `rule_${++n}`, ...input };
            const res = await t.request({ method: 'POST', url: ws, token: a.token, payload: body });
            if (expected.status === 201) {
              expectStatus(res, 201);
              assert.equal(res.body.name, body.name);
              assert.equal(res.body.data_type, body.data_type);
              return;
            }
            const details = expectError(res, 400, 'VALIDATION_FAILED');
            assert.deepEqual(fieldsOf(details), expected.details, res.raw);
            for (const d of details) assert.ok(d.problem.length > 0, `${d.field} says what is wrong`);
            if (typeof body.name === 'string' && /^[A-Za-z_]\w{0,119}$/.test(body.name)) {
              expectError(await t.request({ method: 'GET', url: `${ws}/${body.name}`, token: a.token }), 404, 'NOT_FOUND');
            }
          });
        }
      });
    }

    describe('rules after a PATCH', () => {
      for (const { title, create, patch, expected } of patches) {
        test(`${title} → ${expected.status}`, async () => {
          const name = `patched_${++n}`;
          expectStatus(await t.request({ method: 'POST', url: ws, token: a.token, payload: { name, ...create } }), 201);
          const res = await t.request({ method: 'PATCH', url: `${ws}/${name}`, token: a.token, payload: patch });
          if (expected.status === 200) {
            expectStatus(res, 200);
            assert.equal(res.body.version, 2);
            for (const [key, value] of Object.entries(patch)) if (key !== 'options') assert.deepEqual(res.body[key], value, key);
            return;
          }
          const details = expectError(res, 400, 'VALIDATION_FAILED');
          assert.deepEqual(fieldsOf(details), expected.details, res.raw);
          const read = await t.request({ method: 'GET', url: `${ws}/${name}`, token: a.token });
          expectStatus(read, 200);
          assert.equal(read.body.version, 1, 'a refused patch changes nothing');
        });
      }
    });
  });
}
