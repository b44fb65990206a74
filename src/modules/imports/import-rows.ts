// How an uploaded row becomes a profile record, and a rejected one a line of the error report.
// Pure: no database, no HTTP. Columns are mapped by column-mapping.ts (name, then import alias);
// values are checked afterwards by the profiles write path, as any batch record's are.
import type { ErrorDetail } from '../../shared/errors.ts';
import { COLUMN_REASON_TEXT, mapColumns, type ColumnReason } from '../properties/column-mapping.ts';
import type { Property } from '../properties/property.ts';
import type { WriteRecord } from '../profiles/profiles.service.ts';

export const IMPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** Longest row (a CSV record or an NDJSON line), in characters. */
export const MAX_ROW_CHARS = 1_048_576;

/** A column as the import stores and reports it: the property it writes, by id, or why none. */
export interface ImportColumn {
  column: string;
  property_id: number | null;
  reason?: ColumnReason;
}

/** What a cell or key holds once read: a value to write, nothing (an empty cell), or a problem. */
export type CellRead = { value: unknown } | { skip: true } | { problem: string };

const NUMBER = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;
const BOOLEANS: Record<string, boolean> = { true: true, false: false, '1': true, '0': false };

/** One CSV item read by the property's type: numbers and booleans from their text, the rest as text. */
function readItem(def: Property, text: string): { value: unknown } | { problem: string } {
  switch (def.data_type) {
    case 'number':
    case 'integer':
      return NUMBER.test(text) ? { value: Number(text) } : { problem: `must be a number (got "${text}")` };
    case 'boolean': {
      const value = BOOLEANS[text.trim().toLowerCase()];
      return value === undefined ? { problem: 'must be true or false (or 1 or 0)' } : { value };
    }
    case 'json':
      try {
        return { value: JSON.parse(text) };
      } catch {
        return { problem: 'must be JSON' };
      }
    default:
      return { value: text };
  }
}

/**
 * A CSV cell read by its property's type. Empty: nothing is written (the stored value stays).
 * Multi-valued: a JSON array, or items split on `;` (blank items dropped).
 */
export function readCell(def: Property, cell: string): CellRead {
  if (cell === '') return { skip: true };
  if (!def.multi_valued || def.data_type === 'json') return readItem(def, cell);
  let items: unknown[];
  if (cell.trimStart().startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(cell);
      if (!Array.isArray(parsed)) return { problem: 'must be a JSON array or items separated by ;' };
      items = parsed;
    } catch {
      return { problem: 'must be a JSON array or items separated by ;' };
    }
  } else {
    items = cell.split(';').map((s) => s.trim()).filter((s) => s !== '');
  }
  const values: unknown[] = [];
  for (const [i, item] of items.entries()) {
    const read = typeof item === 'string' ? readItem(def, item) : { value: item };
    if ('problem' in read) return { problem: `item ${i} ${read.problem}` };
    values.push(read.value);
  }
  return { value: values };
}

/** A CSV header mapped to the dictionary; a duplicate column is a problem of the file, not a column to skip. */
export function mapHeader(defs: readonly Property[], header: readonly string[]): { columns: ImportColumn[]; problems: ErrorDetail[] } {
  const mapped = mapColumns(defs, header);
  const problems = mapped.flatMap((m, i) =>
    m.reason === 'duplicate_column' || m.reason === 'same_property'
      ? [{ field: `column ${i + 1} (${m.column})`, problem: m.reason === 'same_property' ? `maps to ${m.property?.name}, which an earlier column already writes` : COLUMN_REASON_TEXT[m.reason] }]
      : [],
  );
  return { columns: mapped.map((m) => ({ column: m.column, property_id: m.reason && m.reason !== 'id' ? null : (m.property?.id ?? null), ...(m.reason ? { reason: m.reason } : {}) })), problems };
}

/** Where a written property's value came from: for the error report. */
export interface Origin {
  column: string;
  value: unknown;
}

export interface BuiltRecord {
  record: WriteRecord;
  /** By property name, and `id` for the profile id. */
  origins: Map<string, Origin>;
}

function addValue(built: BuiltRecord, def: Property, column: string, raw: unknown, read: CellRead): void {
  if ('skip' in read) return;
  built.origins.set(def.name, { column, value: raw });
  if ('problem' in read) built.record.problems!.push({ field: `properties.${def.name}`, problem: read.problem });
  else built.record.properties[def.name] = read.value;
}

/** A CSV row as a record: the id column, and each mapped cell read by its property's type. */
export function csvRecord(columns: readonly { column: string; def: Property | null; isId: boolean }[], cells: readonly string[], base: Pick<WriteRecord, 'source'>): BuiltRecord {
  const built: BuiltRecord = { record: { ...base, properties: {}, problems: [] }, origins: new Map() };
  if (cells.length !== columns.length) {
    built.record.problems!.push({ field: 'row', problem: `has ${cells.length} cells; the header has ${columns.length}` });
    return built;
  }
  columns.forEach(({ column, def, isId }, i) => {
    const cell = cells[i];
    if (isId && cell !== '') {
      built.record.id = cell;
      built.origins.set('id', { column, value: cell });
    } else if (def) addValue(built, def, column, cell, readCell(def, cell));
  });
  return built;
}

/**
 * An NDJSON line as a record: keys mapped like a header (so a key matching no importable
 * property is skipped), values typed JSON as in the API. Keys that collide are the row's problem.
 */
export function ndjsonRecord(defs: readonly Property[], line: Record<string, unknown>, base: Pick<WriteRecord, 'source'>): BuiltRecord {
  const built: BuiltRecord = { record: { ...base, properties: {}, problems: [] }, origins: new Map() };
  const keys = Object.keys(line);
  mapColumns(defs, keys).forEach((m, i) => {
    const value = line[keys[i]];
    if (m.reason === 'id') {
      if (typeof value === 'string' && value !== '') {
        built.record.id = value;
        built.origins.set('id', { column: m.column, value });
      } else if (value !== null && value !== undefined) built.record.problems!.push({ field: 'id', problem: 'must be a non-empty string' });
    } else if (m.reason === 'duplicate_column' || m.reason === 'same_property') {
      built.record.problems!.push({ field: `properties.${m.property?.name ?? m.column}`, problem: `key "${m.column}" ${COLUMN_REASON_TEXT[m.reason]}` });
    } else if (!m.reason && m.property && value !== undefined) addValue(built, m.property, m.column, value, { value });
  });
  return built;
}

/** The columns an NDJSON file's keys map to, in order of first appearance, for the report. */
export function mapKeys(defs: readonly Property[], keys: readonly string[]): ImportColumn[] {
  return mapHeader(defs, keys).columns;
}

/** One line of the error report. */
export interface Rejection {
  column: string | null;
  property: string | null;
  problem: string;
  value: unknown;
  /** The value is a PII property's: masked for a reader without pii:read. */
  pii: boolean;
}

/** A rejected record's problems as report lines: each names the column, property and value it is about. */
export function rejectionsOf(errors: readonly ErrorDetail[], built: BuiltRecord, byName: ReadonlyMap<string, Property>): Rejection[] {
  return errors.map(({ field, problem, allowed }) => {
    const text = allowed ? `${problem} (${allowed.map(String).join(', ')})` : problem;
    const name = field.startsWith('properties.') ? field.slice('properties.'.length) : field === 'id' ? 'id' : undefined;
    const origin = name === undefined ? undefined : built.origins.get(name);
    const def = name === undefined ? undefined : byName.get(name.toLowerCase());
    return {
      column: origin?.column ?? null,
      property: name === 'id' ? null : (def?.name ?? name ?? null),
      problem: name === undefined ? `${field} ${text}` : text,
      value: origin?.value,
      pii: def?.pii === true,
    };
  });
}
