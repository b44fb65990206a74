// The property editor's form: a draft of strings and booleans as the inputs hold them, and the
// request body it becomes. Nothing here judges a value: the API's answer does, field by field.
import type { Property, PropertyCreate, PropertyPatch } from '../api';

export type DataType = Property['data_type'];
export type Role = Property['identity']['role'];

export interface OptionRow {
  key: number;
  value: string;
  label: string;
  hidden: boolean;
}

export interface Draft {
  name: string;
  display_name: string;
  description: string;
  example: string;
  data_type: DataType;
  multi_valued: boolean;
  i18n: { key: number; lang: string; name: string }[];
  options: OptionRow[];
  min_length: string;
  max_length: string;
  pattern: string;
  minimum: string;
  maximum: string;
  unique: boolean;
  pii: boolean;
  importable: boolean;
  exportable: boolean;
  group: string;
  display_order: string;
  import_aliases: string;
  export_alias: string;
  role: Role;
  priority: string;
  merge_function: Property['merge_function'];
  metadata: string;
}

let rowKey = 0;
export const nextKey = () => ++rowKey;

export const STRINGISH: readonly DataType[] = ['string', 'text', 'link', 'email', 'phone', 'enum'];
export const NUMERIC: readonly DataType[] = ['number', 'integer'];

export function emptyDraft(): Draft {
  return {
    name: '',
    display_name: '',
    description: '',
    example: '',
    data_type: 'string',
    multi_valued: false,
    i18n: [],
    options: [],
    min_length: '',
    max_length: '',
    pattern: '',
    minimum: '',
    maximum: '',
    unique: false,
    pii: false,
    importable: true,
    exportable: true,
    group: '',
    display_order: '',
    import_aliases: '',
    export_alias: '',
    role: 'none',
    priority: '',
    merge_function: 'update',
    metadata: '{}',
  };
}

const text = (v: unknown) => (v === null || v === undefined ? '' : String(v));

export function draftOf(p: Property): Draft {
  return {
    name: p.name,
    display_name: p.display_name,
    description: text(p.description),
    example: text(p.example),
    data_type: p.data_type,
    multi_valued: p.multi_valued,
    i18n: Object.entries(p.i18n_display_names).map(([lang, name]) => ({ key: nextKey(), lang, name })),
    options: (p.options ?? []).map((o) => ({ key: nextKey(), value: o.value, label: o.label, hidden: o.hidden })),
    min_length: text(p.validation?.min_length),
    max_length: text(p.validation?.max_length),
    pattern: text(p.validation?.pattern),
    minimum: text(p.validation?.minimum),
    maximum: text(p.validation?.maximum),
    unique: p.unique,
    pii: p.pii,
    importable: p.importable,
    exportable: p.exportable,
    group: text(p.group),
    display_order: text(p.display_order),
    import_aliases: p.import_aliases.join(', '),
    export_alias: text(p.export_alias),
    role: p.identity.role,
    priority: text(p.identity.priority),
    merge_function: p.merge_function,
    metadata: JSON.stringify(p.metadata, null, 2),
  };
}

/** A number typed in a field; what is not one is sent as typed, so the API names the problem. */
const num = (s: string): number => (s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : (s as unknown as number));
const orNull = (s: string) => (s.trim() === '' ? null : s);

/** The writable fields of a draft as the API takes them; metadata that is not JSON is reported, not sent. */
export function bodyOf(d: Draft): { body: PropertyCreate; metadataProblem?: string } {
  const validation: NonNullable<PropertyCreate['validation']> = {};
  if (STRINGISH.includes(d.data_type)) {
    if (d.min_length.trim()) validation.min_length = num(d.min_length);
    if (d.max_length.trim()) validation.max_length = num(d.max_length);
    if (d.pattern) validation.pattern = d.pattern;
  }
  if (NUMERIC.includes(d.data_type)) {
    if (d.minimum.trim()) validation.minimum = num(d.minimum);
    if (d.maximum.trim()) validation.maximum = num(d.maximum);
  }
  let metadata: Record<string, unknown> = {};
  let metadataProblem: string | undefined;
  try {
    const parsed: unknown = JSON.parse(d.metadata.trim() || '{}');
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) metadataProblem = 'must be a JSON object, like {"owner": "crm"}';
    else metadata = parsed as Record<string, unknown>;
  } catch (error) {
    metadataProblem = `is not valid JSON (${(error as Error).message})`;
  }
  const body: PropertyCreate = {
    name: d.name,
    data_type: d.data_type,
    multi_valued: d.multi_valued,
    ...(d.display_name.trim() ? { display_name: d.display_name } : {}),
    i18n_display_names: Object.fromEntries(d.i18n.filter((r) => r.lang.trim() || r.name.trim()).map((r) => [r.lang.trim(), r.name])),
    description: orNull(d.description),
    example: orNull(d.example),
    options: d.data_type === 'enum' ? d.options.map((o, i) => ({ value: o.value, ...(o.label.trim() ? { label: o.label } : {}), display_order: i + 1, hidden: o.hidden })) : null,
    validation: Object.keys(validation).length > 0 ? validation : null,
    unique: d.unique,
    group: orNull(d.group),
    display_order: d.display_order.trim() ? num(d.display_order) : null,
    pii: d.pii,
    importable: d.importable,
    exportable: d.exportable,
    import_aliases: d.import_aliases.split(',').map((a) => a.trim()).filter(Boolean),
    export_alias: orNull(d.export_alias.trim()),
    identity: { role: d.role, priority: d.role === 'none' || !d.priority.trim() ? null : num(d.priority) },
    merge_function: d.merge_function,
    metadata,
  };
  return { body, metadataProblem };
}

/** Only the fields the draft changes from the stored property; name and multi_valued never change. */
export function patchOf(stored: Property, d: Draft): { body: PropertyPatch; metadataProblem?: string } {
  const { body: before } = bodyOf(draftOf(stored));
  const { body: after, metadataProblem } = bodyOf(d);
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(after)) {
    if (key === 'name' || key === 'multi_valued') continue;
    if (JSON.stringify(value) !== JSON.stringify((before as Record<string, unknown>)[key])) patch[key] = value;
  }
  return { body: patch as PropertyPatch, metadataProblem };
}
