// The property definition: its types and the rules that need no database.
import type { DetailReason, ErrorDetail } from '../../shared/errors.ts';

export const DATA_TYPES = ['string', 'text', 'number', 'integer', 'boolean', 'date', 'datetime', 'link', 'email', 'phone', 'enum', 'json'] as const;
export type DataType = (typeof DATA_TYPES)[number];

export const MERGE_FUNCTIONS = ['update', 'keep', 'append', 'sum', 'min', 'max'] as const;
export type MergeFunction = (typeof MERGE_FUNCTIONS)[number];

export const HISTORY_ACTIONS = ['created', 'updated', 'archived', 'restored', 'purged'] as const;
export type HistoryAction = (typeof HISTORY_ACTIONS)[number];

export const IDENTITY_ROLES = ['none', 'primary', 'secondary'] as const;
export type IdentityRole = (typeof IDENTITY_ROLES)[number];

export interface PropertyOption {
  value: string;
  label: string;
  display_order: number | null;
  hidden: boolean;
}

export interface PropertyValidation {
  min_length?: number;
  max_length?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
}

export interface Identity {
  role: IdentityRole;
  priority: number | null;
}

/** The fields a client may set. */
export interface PropertyFields {
  name: string;
  display_name: string;
  i18n_display_names: Record<string, string>;
  description: string | null;
  example: string | null;
  data_type: DataType;
  multi_valued: boolean;
  options: PropertyOption[] | null;
  validation: PropertyValidation | null;
  unique: boolean;
  group: string | null;
  display_order: number | null;
  pii: boolean;
  importable: boolean;
  exportable: boolean;
  import_aliases: string[];
  export_alias: string | null;
  identity: Identity;
  merge_function: MergeFunction;
  metadata: Record<string, unknown>;
}

export interface Property extends PropertyFields {
  id: number;
  uid: string;
  system: boolean;
  archived: boolean;
  created_at: string;
  updated_at: string;
  version: number;
}

/** An option as a client may send it: only `value` is required. */
export type OptionInput = Pick<PropertyOption, 'value'> & Partial<PropertyOption>;

/** What a client may send: options in short form, identity without a priority. */
export interface PropertyInput extends Partial<Omit<PropertyFields, 'options' | 'identity'>> {
  options?: OptionInput[] | null;
  identity?: { role: IdentityRole; priority?: number | null };
}
/** A create request: only `name` and `data_type` are required. */
export type PropertyCreate = PropertyInput & Pick<PropertyFields, 'name' | 'data_type'>;
export type PropertyPatch = PropertyInput;

export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** NAME_PATTERN in words, as a schema's description and in errors. */
export const NAME_RULE = 'letters, digits and _, starting with a letter or _';

/** Fields that never change after creation. (`data_type` is also frozen once values exist.) */
/** Most properties one batch create takes (all or nothing). */
export const MAX_BATCH = 100;

export const IMMUTABLE_FIELDS = ['name', 'multi_valued'] as const;

const STRING_TYPES: readonly DataType[] = ['string', 'text', 'link', 'email', 'phone'];
const NUMERIC_TYPES: readonly DataType[] = ['number', 'integer'];
const ORDERED_TYPES: readonly DataType[] = ['number', 'integer', 'date', 'datetime'];
const NOT_UNIQUE_TYPES: readonly DataType[] = ['boolean', 'json'];
const NOT_IDENTITY_TYPES: readonly DataType[] = ['boolean', 'json', 'text'];

export function withDefaults(input: PropertyCreate): PropertyFields {
  const importAliases = input.import_aliases ?? [];
  return {
    name: input.name,
    display_name: input.display_name ?? input.name,
    i18n_display_names: input.i18n_display_names ?? {},
    description: input.description ?? null,
    example: input.example ?? null,
    data_type: input.data_type,
    multi_valued: input.multi_valued ?? false,
    options: normaliseOptions(input.options),
    validation: input.validation ?? null,
    unique: input.unique ?? false,
    group: input.group ?? null,
    display_order: input.display_order ?? null,
    pii: input.pii ?? false,
    importable: input.importable ?? true,
    exportable: input.exportable ?? true,
    import_aliases: importAliases,
    export_alias: input.export_alias ?? null,
    identity: normaliseIdentity(input.identity),
    merge_function: input.merge_function ?? 'update',
    metadata: input.metadata ?? {},
  };
}

function normaliseOptions(options: OptionInput[] | null | undefined): PropertyOption[] | null {
  if (options === undefined || options === null) return null;
  return options.map((o) => ({ value: o.value, label: o.label ?? o.value, display_order: o.display_order ?? null, hidden: o.hidden ?? false }));
}

function normaliseIdentity(identity: PropertyInput['identity']): Identity {
  const role = identity?.role ?? 'none';
  // A priority given with role none is kept: some clients send and read one for every property.
  return { role, priority: identity?.priority ?? (role === 'none' ? null : 1) };
}

/** Applies a patch: fields it names replace the stored ones, whole. */
export function applyPatch(current: PropertyFields, patch: PropertyPatch): PropertyFields {
  const { options, identity, ...plain } = patch;
  const next: PropertyFields = { ...current, ...stripUndefined(plain) };
  if (options !== undefined) next.options = normaliseOptions(options);
  if (identity !== undefined) next.identity = normaliseIdentity(identity);
  return next;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The export alias is always one of the import aliases; aliases are kept once each, case-insensitively. */
export function normaliseAliases(fields: PropertyFields): PropertyFields {
  const aliases = [...fields.import_aliases];
  if (fields.export_alias !== null && !aliases.some((a) => a.toLowerCase() === fields.export_alias!.toLowerCase())) {
    aliases.push(fields.export_alias);
  }
  const seen = new Set<string>();
  const unique = aliases.filter((a) => {
    const key = a.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { ...fields, import_aliases: unique };
}

/** Every lower-cased key (name and aliases) the property occupies in its workspace. */
export function keysOf(fields: Pick<PropertyFields, 'name' | 'import_aliases'>): string[] {
  return [...new Set([fields.name, ...fields.import_aliases].map((k) => k.toLowerCase()))];
}

/**
 * Names and aliases (one namespace) and display names repeated between the items of a batch,
 * case-insensitively; each repeat is reported at the later item's field.
 */
export function repeatsWithinBatch(items: PropertyFields[]): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const keyOwners = new Map<string, number>();
  const displayNameOwners = new Map<string, number>();
  items.forEach((f, i) => {
    const claim = (owners: Map<string, number>, value: string, field: string) => {
      const first = owners.get(value.toLowerCase());
      if (first === undefined) owners.set(value.toLowerCase(), i);
      else if (first !== i) problems.push({ field: `inputs[${i}].${field}`, problem: `"${value}" is also used by inputs[${first}]` });
    };
    claim(keyOwners, f.name, 'name');
    f.import_aliases.forEach((alias, j) => claim(keyOwners, alias, `import_aliases[${j}]`));
    claim(displayNameOwners, f.display_name, 'display_name');
  });
  return problems;
}

/** Rules between fields, which a JSON schema cannot say. Returns every problem found. */
export function checkDefinition(f: PropertyFields): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  // One detail per field, as for schema errors: a second problem with the same field joins the first.
  const add = (field: string, problem: string, allowed?: unknown[], reason?: DetailReason) => {
    const seen = problems.find((p) => p.field === field);
    if (seen) seen.problem = `${seen.problem}; ${problem}`;
    else problems.push({ field, problem, ...(allowed ? { allowed } : {}), ...(reason ? { reason } : {}) });
  };

  if (f.data_type === 'enum') {
    if (!f.options || f.options.length === 0) add('options', 'is required for data_type enum');
    else {
      const seen = new Set<string>();
      f.options.forEach((o, i) => {
        if (seen.has(o.value)) add(`options[${i}].value`, `duplicates the option value "${o.value}"`);
        seen.add(o.value);
      });
    }
  } else if (f.options !== null) {
    add('options', 'is only allowed for data_type enum');
  }

  const v = f.validation;
  if (v) {
    const stringish = STRING_TYPES.includes(f.data_type) || f.data_type === 'enum';
    for (const key of ['min_length', 'max_length', 'pattern'] as const) {
      if (v[key] !== undefined && !stringish) add(`validation.${key}`, `does not apply to data_type ${f.data_type}`);
    }
    for (const key of ['minimum', 'maximum'] as const) {
      if (v[key] !== undefined && !NUMERIC_TYPES.includes(f.data_type)) add(`validation.${key}`, `does not apply to data_type ${f.data_type}`);
    }
    if (v.min_length !== undefined && v.max_length !== undefined && v.min_length > v.max_length) {
      add('validation.min_length', 'must not be greater than max_length');
    }
    if (v.minimum !== undefined && v.maximum !== undefined && v.minimum > v.maximum) {
      add('validation.minimum', 'must not be greater than maximum');
    }
    if (v.pattern !== undefined) {
      try {
        new RegExp(v.pattern, 'u');
      } catch {
        add('validation.pattern', 'is not a valid regular expression');
      }
    }
  }

  const allowedMerge = mergeFunctionsFor(f.data_type, f.multi_valued);
  if (!allowedMerge.includes(f.merge_function)) {
    add('merge_function', `does not apply to ${f.multi_valued ? 'multi-valued ' : ''}data_type ${f.data_type}`, allowedMerge, 'MERGE_FUNCTION');
  }

  if (f.unique && (NOT_UNIQUE_TYPES.includes(f.data_type) || f.multi_valued)) {
    add('unique', `is not allowed for ${f.multi_valued ? 'multi-valued properties' : `data_type ${f.data_type}`}`);
  }

  if (f.identity.role !== 'none' && (NOT_IDENTITY_TYPES.includes(f.data_type) || f.multi_valued)) {
    add('identity.role', `an identity cannot be ${f.multi_valued ? 'multi-valued' : `of data_type ${f.data_type}`}`, undefined, 'IDENTITY_ROLE');
  }

  return problems;
}

export function mergeFunctionsFor(dataType: DataType, multiValued: boolean): MergeFunction[] {
  if (multiValued) return ['update', 'keep', 'append'];
  const functions: MergeFunction[] = ['update', 'keep'];
  if (NUMERIC_TYPES.includes(dataType)) functions.push('sum');
  if (ORDERED_TYPES.includes(dataType)) functions.push('min', 'max');
  return functions;
}

/** Field-by-field changes between two definitions, for history. */
export function diffFields(before: Partial<PropertyFields> | null, after: Partial<PropertyFields> | null): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  // A creation (every create writes one): each field given is a change from null, with no text
  // to compare (the fields come from JSON, where only null serialises as null).
  if (before === null) {
    for (const [key, to] of Object.entries(after ?? {})) if (to !== undefined && to !== null) changes[key] = { from: null, to };
    return changes;
  }
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]) as Set<keyof PropertyFields>;
  for (const key of keys) {
    const from = before?.[key] ?? null;
    const to = after?.[key] ?? null;
    if (JSON.stringify(from) !== JSON.stringify(to)) changes[key] = { from, to };
  }
  return changes;
}

export function fieldsOf(p: Property): PropertyFields {
  const { id: _id, uid: _uid, system: _s, archived: _a, created_at: _c, updated_at: _u, version: _v, ...fields } = p;
  return fields;
}

/** Sort position: display_order, with null after every number. */
export const NULL_ORDER = 2_147_483_647;
export const sortOrderOf = (displayOrder: number | null) => displayOrder ?? NULL_ORDER;
