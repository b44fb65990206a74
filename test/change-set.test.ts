// The pure rules of a profile write, without a database: values checked by name (and refused by
// import alias), the identity order, which profiles a record matches, which records can only
// create, which can update together, and the change set a write makes to the stored state.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nameIndex } from '../src/modules/properties/column-mapping.ts';
import { withDefaults, type Property, type PropertyCreate } from '../src/modules/properties/property.ts';
import { changeSet, checkWrite, freshRecords, knownRecords, identityOrder, matchedProfiles, stateAfter, survivorFirst, type Incoming } from '../src/modules/profiles/change-set.ts';
import type { StoredValue } from '../src/modules/profiles/profile.ts';

let nextId = 1;
function def(input: Partial<PropertyCreate> & { name: string }, extra: Partial<Property> = {}): Property {
  const fields = withDefaults({ data_type: 'string', ...input } as PropertyCreate);
  return { ...fields, id: nextId++, uid: `uid-${nextId}`, system: false, archived: false, version: 1, created_at: '', updated_at: '', ...extra } as Property;
}

const email = def({ name: 'email', data_type: 'email', identity: { role: 'primary' }, import_aliases: ['e_mail'] });
const customer = def({ name: 'customer_id', identity: { role: 'primary', priority: 2 } });
const phone = def({ name: 'phone', data_type: 'phone', identity: { role: 'secondary', priority: 2 } });
const card = def({ name: 'card', identity: { role: 'secondary', priority: 1 } });
const points = def({ name: 'points', data_type: 'integer', merge_function: 'sum', validation: { maximum: 100 } });
const tier = def({ name: 'tier' });
const vat = def({ name: 'vat_no', unique: true });
const old = def({ name: 'old_field' }, { archived: true });
const index = nameIndex([email, customer, phone, card, points, tier, vat, old]);

describe('checkWrite', () => {
  const rows: { title: string; input: Record<string, unknown>; expected: { checked: [string, unknown][]; problems: { field: string; problem: string }[] } }[] = [
    { title: 'names are matched case-insensitively, values normalised', input: { EMAIL: ' Ana@Example.com ' }, expected: { checked: [['email', 'ana@example.com']], problems: [] } },
    {
      title: 'an import alias names the property it belongs to',
      input: { e_mail: 'ana@example.com' },
      expected: { checked: [], problems: [{ field: 'properties.e_mail', problem: 'is an import alias of "email"; write it as "email"' }] },
    },
    { title: 'an unknown name', input: { nope: 1 }, expected: { checked: [], problems: [{ field: 'properties.nope', problem: 'is not a property of this workspace' }] } },
    { title: 'an archived property', input: { old_field: 'x' }, expected: { checked: [], problems: [{ field: 'properties.old_field', problem: 'is archived' }] } },
    {
      title: 'the same property twice',
      input: { tier: 'a', TIER: 'b' },
      expected: { checked: [['tier', 'a']], problems: [{ field: 'properties.TIER', problem: 'names tier again' }] },
    },
    { title: 'a bad value', input: { points: 'x' }, expected: { checked: [], problems: [{ field: 'properties.points', problem: 'must be an integer' }] } },
  ];
  for (const { title, input, expected } of rows) {
    test(title, () => {
      const { checked, problems } = checkWrite(index, input, 'properties');
      assert.deepEqual({ checked: [...checked].map(([d, v]) => [d.name, v]), problems }, expected);
    });
  }
});

describe('identity order and matching', () => {
  test('primaries first, then secondaries by priority, whatever order the record names them', () => {
    const checked = new Map<Property, unknown>([
      [phone, '+381641234567'],
      [tier, 'gold'],
      [card, 'C-1'],
      [customer, 'K-1'],
      [email, null],
    ]);
    assert.deepEqual(
      identityOrder(checked).map((i) => i.def.name),
      ['customer_id', 'card', 'phone'],
    );
  });

  const identities = [{ def: email }, { def: customer }, { def: card }, { def: phone }];
  const rows: { title: string; input: (string | undefined)[]; expected: string[] }[] = [
    { title: 'no owner: no match', input: [undefined, undefined, undefined, undefined], expected: [] },
    { title: 'every primary owner matches, once each', input: ['A', 'B', 'C', undefined], expected: ['A', 'B'] },
    { title: 'the same profile by two primaries', input: ['A', 'A', undefined, undefined], expected: ['A'] },
    { title: 'a primary match wins over a secondary', input: [undefined, 'B', 'C', 'D'], expected: ['B'] },
    { title: 'without a primary match, the first secondary that matches', input: [undefined, undefined, undefined, 'D'], expected: ['D'] },
  ];
  for (const { title, input, expected } of rows) test(title, () => assert.deepEqual(matchedProfiles(identities, input), expected));

  test('the oldest profile survives a merge; ties go to the smaller id', () => {
    const profiles = [
      { id: 'b', created_at: '2026-01-02' },
      { id: 'c', created_at: '2026-01-01' },
      { id: 'a', created_at: '2026-01-02' },
    ];
    assert.deepEqual(
      survivorFirst(profiles).map((p) => p.id),
      ['c', 'a', 'b'],
    );
  });
});

describe('freshRecords', () => {
  const claim = (value: string) => ({ def: email, value });
  const rows: { title: string; input: Parameters<typeof freshRecords>[0]; expected: boolean[] }[] = [
    { title: 'claims nobody holds or repeats', input: [{ candidate: true, claims: [claim('a')], held: [false] }], expected: [true] },
    { title: 'a held claim', input: [{ candidate: true, claims: [claim('a')], held: [true] }], expected: [false] },
    {
      title: 'a claim two records repeat: neither',
      input: [
        { candidate: true, claims: [claim('a')], held: [false] },
        { candidate: true, claims: [claim('a')], held: [false] },
      ],
      expected: [false, false],
    },
    {
      title: 'a record with an id is never fresh, and its claims count',
      input: [
        { candidate: false, claims: [claim('a')], held: [] },
        { candidate: true, claims: [claim('a')], held: [false] },
        { candidate: true, claims: [], held: [] },
      ],
      expected: [false, false, true],
    },
  ];
  for (const { title, input, expected } of rows) test(title, () => assert.deepEqual(freshRecords(input), expected));
});

describe('knownRecords', () => {
  const claim = (value: string) => ({ def: email, value });
  const rows: { title: string; input: Parameters<typeof knownRecords>[0]; expected: boolean[] }[] = [
    { title: 'one profile matched, its own claims', input: [{ targets: ['p1'], claims: [claim('a')], owners: ['p1'] }], expected: [true] },
    { title: 'a claim nobody holds yet', input: [{ targets: ['p1'], claims: [claim('a')], owners: [undefined] }], expected: [true] },
    { title: 'no profile matched (a create)', input: [{ targets: [], claims: [claim('a')], owners: [undefined] }], expected: [false] },
    { title: 'two profiles matched (a merge)', input: [{ targets: ['p1', 'p2'], claims: [claim('a')], owners: ['p1'] }], expected: [false] },
    { title: 'a claim another profile holds (a conflict)', input: [{ targets: ['p1'], claims: [claim('a')], owners: ['p2'] }], expected: [false] },
    {
      title: 'two records matching one profile: neither',
      input: [
        { targets: ['p1'], claims: [], owners: [] },
        { targets: ['p1'], claims: [], owners: [] },
        { targets: ['p2'], claims: [], owners: [] },
      ],
      expected: [false, false, true],
    },
    {
      title: 'a merge touching a profile another record matches: neither',
      input: [
        { targets: ['p1', 'p2'], claims: [], owners: [] },
        { targets: ['p2'], claims: [], owners: [] },
      ],
      expected: [false, false],
    },
    {
      title: 'a claim two records repeat: neither',
      input: [
        { targets: ['p1'], claims: [claim('a')], owners: [undefined] },
        { targets: ['p2'], claims: [claim('a')], owners: [undefined] },
      ],
      expected: [false, false],
    },
  ];
  for (const { title, input, expected } of rows) test(title, () => assert.deepEqual(knownRecords(input), expected));
});

describe('changeSet', () => {
  const at = (t: string): StoredValue => ({ value: undefined, source: null, written_at: t });
  const stored = (entries: [Property, unknown, string?][]) => new Map(entries.map(([d, value, source]) => [d.id, { ...at('2026-01-01T00:00:00.000Z'), value, source: source ?? null }]));
  const incoming = (d: Property, value: unknown, extra: Partial<Incoming> = {}): Incoming => ({ def: d, value, source: null, written_at: '2026-02-01T00:00:00.000Z', dated: false, ...extra });
  const summary = (c: ReturnType<typeof changeSet>) => ({
    clear: c.clear,
    unkey: c.unkey,
    write: c.write.map((w) => [w.def.name, w.value]),
    keys: c.keys.map((k) => [k.def.name, k.value]),
    touch: c.touch.map((t) => [t.def.name, t.source, t.written_at]),
    problems: c.problems.map((p) => p.problem),
    changed: c.changed,
  });
  const none = new Map<string, number>();
  // A purged property: stored values, no definition.
  const gone = { ...tier, id: 999, name: 'gone' };
  const byId = new Map([email, customer, phone, card, points, tier, vat, old].map((d) => [d.id, d]));
  const rows: { title: string; input: Parameters<typeof changeSet>; expected: ReturnType<typeof summary> }[] = [
    {
      title: 'merge into an empty profile writes and claims',
      input: [new Map(), [incoming(email, 'a@b.co'), incoming(tier, 'gold')], { mode: 'merge', priorities: none }],
      expected: { clear: [], unkey: [], write: [['email', 'a@b.co'], ['tier', 'gold']], keys: [['email', 'a@b.co']], touch: [], problems: [], changed: true },
    },
    {
      title: 'an equal value changes nothing: only its newer date is kept',
      input: [stored([[tier, 'gold']]), [incoming(tier, 'gold')], { mode: 'merge', priorities: none }],
      expected: { clear: [], unkey: [], write: [], keys: [], touch: [['tier', null, '2026-02-01T00:00:00.000Z']], problems: [], changed: false },
    },
    {
      title: 'an equal value with the same date and source: nothing at all',
      input: [stored([[tier, 'gold']]), [incoming(tier, 'gold', { written_at: '2026-01-01T00:00:00.000Z' })], { mode: 'merge', priorities: none }],
      expected: { clear: [], unkey: [], write: [], keys: [], touch: [], problems: [], changed: false },
    },
    {
      title: 'an equal identity value keeps its key',
      input: [stored([[email, 'a@b.co']]), [incoming(email, 'a@b.co', { source: 'crm' })], { mode: 'replace', priorities: none }],
      expected: { clear: [], unkey: [], write: [], keys: [], touch: [['email', 'crm', '2026-02-01T00:00:00.000Z']], problems: [], changed: false },
    },
    {
      title: 'sum combines with the stored value',
      input: [stored([[points, 5]]), [incoming(points, 3)], { mode: 'merge', priorities: none }],
      expected: { clear: [points.id], unkey: [], write: [['points', 8]], keys: [], touch: [], problems: [], changed: true },
    },
    {
      title: 'a sum past the maximum is a problem',
      input: [stored([[points, 99]]), [incoming(points, 3)], { mode: 'merge', priorities: none }],
      expected: { clear: [points.id], unkey: [], write: [['points', 102]], keys: [], touch: [], problems: ['combined with the stored value by sum, must be at most 100'], changed: true },
    },
    {
      title: "a per-record merge function replaces the property's",
      input: [stored([[points, 5]]), [incoming(points, 3, { fn: 'min' })], { mode: 'merge', priorities: none }],
      expected: { clear: [points.id], unkey: [], write: [['points', 3]], keys: [], touch: [], problems: [], changed: true },
    },
    {
      title: 'an older dated value does not replace a newer one under update',
      input: [stored([[tier, 'gold']]), [incoming(tier, 'silver', { written_at: '2025-01-01T00:00:00.000Z', dated: true })], { mode: 'merge', priorities: none }],
      expected: { clear: [], unkey: [], write: [], keys: [], touch: [], problems: [], changed: false },
    },
    {
      title: 'a lower-priority source does not replace a higher-priority one',
      input: [stored([[tier, 'gold', 'crm']]), [incoming(tier, 'silver', { source: 'web' })], { mode: 'merge', priorities: new Map([['crm', 1], ['web', 2]]) }],
      expected: { clear: [], unkey: [], write: [], keys: [], touch: [], problems: [], changed: false },
    },
    {
      title: 'null clears a stored value',
      input: [stored([[tier, 'gold']]), [incoming(tier, null)], { mode: 'merge', priorities: none }],
      expected: { clear: [tier.id], unkey: [], write: [], keys: [], touch: [], problems: [], changed: true },
    },
    {
      title: 'null where nothing is stored changes nothing',
      input: [new Map(), [incoming(tier, null)], { mode: 'merge', priorities: none }],
      expected: { clear: [], unkey: [], write: [], keys: [], touch: [], problems: [], changed: false },
    },
    {
      title: "replace clears values not given, but not archived properties'",
      input: [stored([[tier, 'gold'], [old, 'x'], [vat, 'V1']]), [incoming(vat, 'V2')], { mode: 'replace', priorities: none, defs: byId }],
      expected: { clear: [tier.id, vat.id], unkey: [vat.id], write: [['vat_no', 'V2']], keys: [['vat_no', 'V2']], touch: [], problems: [], changed: true },
    },
    {
      title: 'null clears a keyed value and its key',
      input: [stored([[email, 'a@b.co'], [tier, 'gold']]), [incoming(email, null), incoming(tier, 'silver')], { mode: 'merge', priorities: none }],
      expected: { clear: [email.id, tier.id], unkey: [email.id], write: [['tier', 'silver']], keys: [], touch: [], problems: [], changed: true },
    },
    {
      title: 'replace clears the keys of keyed values not given, and of a property no longer defined',
      input: [stored([[customer, 'C1'], [tier, 'gold'], [gone, 'x']]), [incoming(tier, 'gold')], { mode: 'replace', priorities: none, defs: byId }],
      expected: { clear: [customer.id, gone.id], unkey: [customer.id, gone.id], write: [], keys: [], touch: [['tier', null, '2026-02-01T00:00:00.000Z']], problems: [], changed: true },
    },
  ];
  for (const { title, input, expected } of rows) test(title, () => assert.deepEqual(summary(changeSet(...input)), expected));
});

// A write answers with the state it stored (stateAfter) instead of reading it back: the same
// values, dates and sources a read would give.
describe('stateAfter', () => {
  const tags = def({ name: 'tags', multi_valued: true });
  const was = (value: unknown, source: string | null = null): StoredValue => ({ value, source, written_at: '2026-01-01T00:00:00.000Z' });
  const stored = new Map<number, StoredValue>([
    [tier.id, was('gold')],
    [points.id, was(5)],
    [tags.id, was(['a'])],
    [email.id, was('a@b.co', 'crm')],
    [999, was(undefined)],
  ]);
  const later = '2026-02-01T00:00:00.000Z';
  const incoming = (d: Property, value: unknown, source: string | null = null): Incoming => ({ def: d, value, source, written_at: later, dated: false });
  const rows: { title: string; mode: 'replace' | 'merge'; incoming: Incoming[]; expected: [number, unknown, string | null, string][] }[] = [
    {
      title: 'merged values replace the stored, the others stay',
      mode: 'merge',
      incoming: [incoming(tier, 'silver'), incoming(points, 3)],
      expected: [[tier.id, 'silver', null, later], [points.id, 8, null, later], [tags.id, ['a'], null, '2026-01-01T00:00:00.000Z'], [email.id, 'a@b.co', 'crm', '2026-01-01T00:00:00.000Z'], [999, undefined, null, '2026-01-01T00:00:00.000Z']],
    },
    {
      title: 'null clears; an empty list stores no row, so none is held',
      mode: 'merge',
      incoming: [incoming(tier, null), incoming(tags, [])],
      expected: [[points.id, 5, null, '2026-01-01T00:00:00.000Z'], [email.id, 'a@b.co', 'crm', '2026-01-01T00:00:00.000Z'], [999, undefined, null, '2026-01-01T00:00:00.000Z']],
    },
    {
      title: 'an equal value keeps its value with the new date and source',
      mode: 'merge',
      incoming: [incoming(email, 'a@b.co', 'app')],
      expected: [[tier.id, 'gold', null, '2026-01-01T00:00:00.000Z'], [points.id, 5, null, '2026-01-01T00:00:00.000Z'], [tags.id, ['a'], null, '2026-01-01T00:00:00.000Z'], [email.id, 'a@b.co', 'app', later], [999, undefined, null, '2026-01-01T00:00:00.000Z']],
    },
    {
      title: 'replace clears what is not given',
      mode: 'replace',
      incoming: [incoming(tier, 'gold')],
      expected: [[tier.id, 'gold', null, later]],
    },
  ];
  for (const row of rows) {
    test(row.title, () => {
      const after = stateAfter(stored, changeSet(stored, row.incoming, { mode: row.mode, priorities: new Map() }));
      // In any order: an answer orders its values by the dictionary.
      const byId = (a: [number, ...unknown[]], b: [number, ...unknown[]]) => a[0] - b[0];
      assert.deepEqual([...after].map(([id, v]): [number, unknown, string | null, string] => [id, v.value, v.source, v.written_at]).sort(byId), row.expected.toSorted(byId));
    });
  }
});
