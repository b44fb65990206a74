// Which property an outside column (CSV header, NDJSON key, trait) writes, as a table.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapColumns } from '../src/modules/properties/column-mapping.ts';
import type { Property } from '../src/modules/properties/property.ts';

let nextId = 1;
function def(name: string, extra: Partial<Property> = {}): Property {
  return {
    id: nextId++, uid: `u-${name}`, name, display_name: name, i18n_display_names: {}, description: null, example: null,
    data_type: 'string', multi_valued: false, options: null, validation: null, unique: false, group: null,
    display_order: null, pii: false, importable: true, exportable: true, import_aliases: [], export_alias: null,
    identity: { role: 'none', priority: null }, merge_function: 'update', metadata: {}, system: false, archived: false,
    created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z', version: 1, ...extra,
  };
}

const defs = [
  def('email', { import_aliases: ['E-Mail Address', 'mail'] }),
  def('first_name', { import_aliases: ['firstName'] }),
  def('score', { importable: false }),
  def('old_field', { archived: true }),
];

const rows: { title: string; columns: string[]; expected: [string | null, string | undefined][] }[] = [
  { title: 'by name', columns: ['email'], expected: [['email', undefined]] },
  { title: 'by name, any case', columns: ['EMAIL'], expected: [['email', undefined]] },
  { title: 'by import alias, any case', columns: ['e-mail address', 'FIRSTNAME'], expected: [['email', undefined], ['first_name', undefined]] },
  { title: 'the id column', columns: ['ID', 'email'], expected: [[null, 'id'], ['email', undefined]] },
  { title: 'an unknown column', columns: ['shoe_size'], expected: [[null, 'unknown']] },
  { title: 'a property that is not importable', columns: ['score'], expected: [['score', 'not_importable']] },
  { title: 'an archived property', columns: ['old_field'], expected: [['old_field', 'archived']] },
  { title: 'the same column twice', columns: ['email', 'Email'], expected: [['email', undefined], [null, 'duplicate_column']] },
  { title: 'a name and an alias of one property', columns: ['mail', 'email'], expected: [['email', undefined], ['email', 'same_property']] },
  { title: 'surrounding spaces', columns: [' email '], expected: [['email', undefined]] },
];

for (const { title, columns, expected } of rows) {
  test(`column mapping: ${title}`, () => {
    const mapped = mapColumns(defs, columns);
    assert.deepEqual(
      mapped.map((m) => [m.property?.name ?? null, m.reason]),
      expected,
      JSON.stringify(mapped.map((m) => ({ column: m.column, property: m.property?.name, reason: m.reason }))),
    );
    assert.deepEqual(mapped.map((m) => m.column), columns);
  });
}
