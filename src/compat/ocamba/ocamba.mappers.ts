// Pure translation between Ocamba Hood's profile-property shapes and the native property model.
// No rules live here: every check beyond the shape of the request is the property service's.
import type { PropertyService } from '../../modules/properties/properties.service.ts';
import type { DataType, Property, PropertyCreate, PropertyPatch } from '../../modules/properties/property.ts';
import type { ErrorDetail } from '../../shared/errors.ts';
import { isStoredId } from '../../shared/ids.ts';
import type { CreateBody, PatchBody } from './ocamba.schemas.ts';

export const OCAMBA_DATA_TYPES = ['text', 'number', 'date'] as const;
export type OcambaDataType = (typeof OCAMBA_DATA_TYPES)[number];

/** What an Ocamba type creates. */
const NATIVE_TYPE: Record<OcambaDataType, DataType> = { text: 'string', number: 'number', date: 'date' };

/** How each native type is shown: the closest type Ocamba has. */
export const SHOWN_AS: Record<DataType, OcambaDataType> = {
  string: 'text',
  text: 'text',
  number: 'number',
  integer: 'number',
  boolean: 'text',
  date: 'date',
  datetime: 'date',
  link: 'text',
  email: 'text',
  phone: 'text',
  enum: 'text',
  json: 'text',
};

export const ITEM_FIELDS = [
  'id',
  'company_id',
  'target',
  'label',
  'data_type',
  'example',
  'description',
  'import_aliases',
  'export_alias',
  'pi_data',
  'system',
  'importable',
  'exportable',
  'create_time',
  'update_time',
] as const;
export type ItemField = (typeof ITEM_FIELDS)[number];

/** The lists on Ocamba's reference page for this endpoint. */
export const SORTABLE_FIELDS = ['data_type', 'pi_data', 'importable', 'exportable', 'create_time', 'update_time'] as const;
export const SEARCHABLE_FIELDS = ['target', 'label', 'description'] as const;
export const FILTERABLE_FIELDS = ['id', 'target', 'label', 'data_type', 'example', 'pi_data', 'system', 'importable', 'exportable', 'create_time', 'update_time'] as const;

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;
/** Property ids are 32-bit integers; a larger id names nothing. */

export interface OcambaItem {
  id: string;
  company_id: string;
  target: string;
  label: string;
  data_type: OcambaDataType;
  example: string;
  description: string;
  import_aliases: string[];
  export_alias: string;
  pi_data: 0 | 1;
  system: 0 | 1;
  importable: 0 | 1;
  exportable: 0 | 1;
  create_time: string;
  update_time: string;
}

type Search = Parameters<PropertyService['search']>[1];
type SearchField = Search['sort'][number]['field'];
type Condition = NonNullable<NonNullable<Search['where']>[SearchField]>;

/** The native field each Ocamba field is stored in (target and label are both the name). */
const NATIVE_FIELD = {
  id: 'id',
  target: 'name',
  label: 'name',
  data_type: 'data_type',
  example: 'example',
  description: 'description',
  pi_data: 'pii',
  system: 'system',
  importable: 'importable',
  exportable: 'exportable',
  create_time: 'created_at',
  update_time: 'updated_at',
} as const satisfies Record<string, SearchField>;

const flag = (b: boolean): 0 | 1 => (b ? 1 : 0);

/** RFC 3339 (UTC) → `YYYY-MM-DD HH:MM:SS`. */
export const ocambaTime = (iso: string) => (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}` : new Date(iso).toISOString().slice(0, 19).replace('T', ' '));

export function toItem(p: Property, companyId: number): OcambaItem {
  return {
    id: String(p.id),
    company_id: String(companyId),
    target: p.name,
    label: p.name,
    data_type: SHOWN_AS[p.data_type],
    example: p.example ?? '',
    description: p.description ?? '',
    import_aliases: p.import_aliases,
    export_alias: p.export_alias ?? '',
    pi_data: flag(p.pii),
    system: flag(p.system),
    importable: flag(p.importable),
    exportable: flag(p.exportable),
    create_time: ocambaTime(p.created_at),
    update_time: ocambaTime(p.updated_at),
  };
}

/** The item with only the named fields, in the item's own order. */
export function pickFields(item: OcambaItem, fields: readonly ItemField[] | undefined): Partial<OcambaItem> {
  if (fields === undefined) return item;
  return Object.fromEntries(ITEM_FIELDS.filter((f) => fields.includes(f)).map((f) => [f, item[f]]));
}

/** Ocamba has no null: an empty string means "not set". */
const orNull = (s: string | undefined) => (s === undefined ? undefined : s === '' ? null : s);
const bool = (f: 0 | 1 | undefined) => (f === undefined ? undefined : f === 1);

export function toCreate(body: CreateBody): PropertyCreate {
  return { name: body.label, data_type: NATIVE_TYPE[body.data_type ?? 'text'], ...toPatch(body) };
}

/** The fields a create and a patch share. */
export function toPatch(body: PatchBody): PropertyPatch {
  return dropUndefined({
    example: orNull(body.example),
    description: orNull(body.description),
    export_alias: orNull(body.export_alias),
    pii: bool(body.pi_data),
    importable: bool(body.importable),
    exportable: bool(body.exportable),
  });
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The native reference for a path id: digits within range, else nothing can match it. */
export function nativeRef(id: string): string | undefined {
  return /^\d{1,10}$/.test(id) && isStoredId(Number(id)) ? String(Number(id)) : undefined;
}

export interface ListRequest {
  search: Search;
  fields: ItemField[] | undefined;
}

/**
 * Reads Ocamba's list parameters (`page=N,M`, `sort`, `q`, `q_fields`, `fields`, and equality
 * filters) into a property search, or every bad parameter at once.
 */
export function toListRequest(query: Record<string, string | undefined>): ListRequest | { problems: ErrorDetail[] } {
  const problems: ErrorDetail[] = [];
  const problem = (field: string, text: string, allowed?: readonly unknown[]) =>
    problems.push(allowed ? { field, problem: text, allowed: [...allowed] } : { field, problem: text });

  // page=N,M
  let page = 1;
  let size = DEFAULT_PAGE_SIZE;
  if (query.page !== undefined) {
    const m = query.page.match(/^\s*(\d{1,9})\s*(?:,\s*(\d{1,9})\s*)?$/);
    const n = m ? Number(m[1]) : 0;
    const s = m?.[2] === undefined ? DEFAULT_PAGE_SIZE : Number(m[2]);
    if (!m || n < 1 || s < 1 || s > MAX_PAGE_SIZE) {
      problem('page', `must be N or N,M: a page number from 1, and from 1 to ${MAX_PAGE_SIZE} items per page`);
    } else {
      page = n;
      size = s;
    }
  }

  const sort: Search['sort'] = [];
  for (const entry of commaList(query.sort)) {
    const desc = entry.startsWith('-');
    const field = desc ? entry.slice(1) : entry;
    if (!isOneOf(field, SORTABLE_FIELDS)) {
      problem('sort', `cannot sort by "${field}"`, SORTABLE_FIELDS);
      continue;
    }
    // data_type sorts by the type as shown (date, number, text), not by the stored native type.
    sort.push(field === 'data_type' ? { field: 'data_type', desc, rank: DATA_TYPE_RANK } : { field: NATIVE_FIELD[field], desc });
  }

  const qFields = new Set<SearchField>();
  const qList = commaList(query.q_fields);
  for (const field of qList.length === 0 ? SEARCHABLE_FIELDS : qList) {
    if (isOneOf(field, SEARCHABLE_FIELDS)) qFields.add(NATIVE_FIELD[field]);
    else problem('q_fields', `cannot search "${field}"`, SEARCHABLE_FIELDS);
  }

  let fields: ItemField[] | undefined;
  const wanted = commaList(query.fields);
  if (wanted.length > 0) {
    fields = [];
    for (const field of wanted) {
      if (isOneOf(field, ITEM_FIELDS)) fields.push(field);
      else problem('fields', `has no field "${field}"`, ITEM_FIELDS);
    }
  }

  const where: Partial<Record<SearchField, Condition>> = {};
  const lower = (v: unknown) => String(v).toLowerCase();
  const and = (field: SearchField, c: Condition) => {
    const seen = where[field];
    // target and label both filter the name: two different names match nothing.
    if (seen?.in && c.in) {
      const other = c.in.map(lower);
      where[field] = { in: seen.in.filter((v) => other.includes(lower(v))) };
    } else where[field] = { ...seen, ...c };
  };
  for (const field of FILTERABLE_FIELDS) {
    const raw = query[field];
    if (raw === undefined) continue;
    const condition = filterCondition(field, raw);
    if (typeof condition === 'string') problem(field, condition);
    else and(NATIVE_FIELD[field], condition);
  }

  if (problems.length > 0) return { problems };
  const q = query.q === undefined || query.q === '' ? undefined : { text: query.q, fields: [...qFields] };
  return { search: { q, where, sort, offset: (page - 1) * size, limit: size }, fields };
}

/** date < number < text, as Ocamba names them; each native type ranks as the type it is shown as. */
const OCAMBA_TYPE_RANK: Record<OcambaDataType, number> = { date: 0, number: 1, text: 2 };
const DATA_TYPE_RANK: Record<string, number> = Object.fromEntries(Object.entries(SHOWN_AS).map(([native, shown]) => [native, OCAMBA_TYPE_RANK[shown]]));

const FLAG_PATTERN = /^[01]$/;
const TIME_PATTERN = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** The search condition of one equality filter, or what is wrong with its value. */
function filterCondition(field: (typeof FILTERABLE_FIELDS)[number], raw: string): Condition | string {
  switch (field) {
    case 'id': {
      if (!/^\d+$/.test(raw)) return 'must be a string of digits';
      const ref = nativeRef(raw);
      return { in: ref === undefined ? [] : [Number(ref)] };
    }
    case 'target':
    case 'label':
    case 'example':
      return { in: [raw] };
    case 'data_type': {
      if (!isOneOf(raw, OCAMBA_DATA_TYPES)) return `must be one of ${OCAMBA_DATA_TYPES.join(', ')}`;
      return { in: (Object.keys(SHOWN_AS) as DataType[]).filter((t) => SHOWN_AS[t] === raw) };
    }
    case 'pi_data':
    case 'system':
    case 'importable':
    case 'exportable':
      return FLAG_PATTERN.test(raw) ? { in: [raw === '1'] } : 'must be 0 or 1';
    case 'create_time':
    case 'update_time': {
      // Stored times carry milliseconds: a time to the second matches the whole second.
      const start = parseOcambaTime(raw);
      if (start === undefined) return 'must be a time YYYY-MM-DD HH:MM:SS (UTC)';
      return { gte: start.toISOString(), lt: new Date(start.getTime() + 1000).toISOString() };
    }
  }
}

export function parseOcambaTime(raw: string): Date | undefined {
  const m = raw.match(TIME_PATTERN);
  if (!m) return undefined;
  const date = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  // Refuses times that do not exist (2025-02-30, 24:00:00) rather than rolling them over.
  return Number.isNaN(date.getTime()) || ocambaTime(date.toISOString()) !== raw ? undefined : date;
}

function commaList(value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return [];
  return value.split(',').map((s) => s.trim());
}

function isOneOf<T extends string>(value: string, list: readonly T[]): value is T {
  return (list as readonly string[]).includes(value);
}
