// All SQL about property definitions. Every function takes `db` (or a transaction) first and
// the workspace id second: no query runs outside a workspace.
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { insertRows } from '../../db/insert-rows.ts';
import { reusableQuery } from '../../db/reusable-query.ts';
import type { Database, PropertiesTable } from '../../db/schema.ts';
import { sortOrderOf, type HistoryAction, type Property, type PropertyFields } from './property.ts';

type Conn = Kysely<Database> | Transaction<Database>;
type PropertyRow = Selectable<PropertiesTable>;

export type PropertyRef = { id: number } | { uid: string } | { name: string };

export interface PropertyListFilter {
  q?: string;
  data_type?: string;
  group?: string;
  pii?: boolean;
  system?: boolean;
  archived: boolean;
}

export interface HistoryEntry {
  version: number;
  at: string;
  key_id: string | null;
  action: HistoryAction;
  changes: Record<string, { from: unknown; to: unknown }>;
}

const bool = (v: boolean) => (v ? 1 : 0);
const json = (v: unknown) => JSON.stringify(v);

export function rowToProperty(r: PropertyRow): Property {
  return {
    id: r.id,
    uid: r.uid,
    name: r.name,
    display_name: r.display_name,
    i18n_display_names: JSON.parse(r.i18n_display_names),
    description: r.description,
    example: r.example,
    data_type: r.data_type as Property['data_type'],
    multi_valued: r.multi_valued === 1,
    options: r.options === null ? null : JSON.parse(r.options),
    validation: r.validation === null ? null : JSON.parse(r.validation),
    unique: r.is_unique === 1,
    group: r.group_name,
    display_order: r.display_order,
    pii: r.pii === 1,
    importable: r.importable === 1,
    exportable: r.exportable === 1,
    import_aliases: JSON.parse(r.import_aliases),
    export_alias: r.export_alias,
    identity: { role: r.identity_role as Property['identity']['role'], priority: r.identity_priority },
    merge_function: r.merge_function as Property['merge_function'],
    metadata: JSON.parse(r.metadata),
    system: r.system === 1,
    archived: r.archived === 1,
    created_at: r.created_at,
    updated_at: r.updated_at,
    version: r.version,
  };
}

function fieldsToColumns(f: PropertyFields) {
  return {
    name: f.name,
    name_key: f.name.toLowerCase(),
    display_name: f.display_name,
    display_name_key: f.display_name.toLowerCase(),
    i18n_display_names: json(f.i18n_display_names),
    description: f.description,
    example: f.example,
    data_type: f.data_type,
    multi_valued: bool(f.multi_valued),
    options: f.options === null ? null : json(f.options),
    validation: f.validation === null ? null : json(f.validation),
    is_unique: bool(f.unique),
    group_name: f.group,
    display_order: f.display_order,
    sort_order: sortOrderOf(f.display_order),
    pii: bool(f.pii),
    importable: bool(f.importable),
    exportable: bool(f.exportable),
    import_aliases: json(f.import_aliases),
    export_alias: f.export_alias,
    identity_role: f.identity.role,
    identity_priority: f.identity.priority,
    merge_function: f.merge_function,
    metadata: json(f.metadata),
  };
}

export async function findProperty(db: Conn, workspaceId: number, ref: PropertyRef): Promise<Property | undefined> {
  let query = db.selectFrom('properties').selectAll().where('workspace_id', '=', workspaceId);
  if ('id' in ref) query = query.where('id', '=', ref.id);
  else if ('uid' in ref) query = query.where('uid', '=', ref.uid);
  else query = query.where('name_key', '=', ref.name.toLowerCase());
  const row = await query.executeTakeFirst();
  return row && rowToProperty(row);
}

/** Every definition of the workspace, archived ones included. */
export async function allProperties(db: Conn, workspaceId: number): Promise<Property[]> {
  const rows = await db.selectFrom('properties').selectAll().where('workspace_id', '=', workspaceId).orderBy('id').execute();
  return rows.map(rowToProperty);
}

/**
 * A summary of every definition of the workspace that moves with any change: a create raises the
 * highest id (ids come from the workspace's sequence), a purge lowers the count, any update or
 * archive bumps a version. One range read of the workspace's rows, however many they are.
 */
export async function dictionaryFingerprint(db: Conn, workspaceId: number): Promise<string> {
  const row = await db
    .selectFrom('properties')
    .select((eb) => [eb.fn.countAll().as('n'), eb.fn.coalesce(eb.fn.sum('version'), eb.lit(0)).as('versions'), eb.fn.coalesce(eb.fn.max('id'), eb.lit(0)).as('top')])
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirstOrThrow();
  return `${row.n}:${row.versions}:${row.top}`;
}

export async function listProperties(
  db: Conn,
  workspaceId: number,
  filter: PropertyListFilter,
  limit: number,
  after: [number, string] | undefined,
): Promise<Property[]> {
  let query = db
    .selectFrom('properties')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('archived', '=', bool(filter.archived));
  if (filter.data_type !== undefined) query = query.where('data_type', '=', filter.data_type);
  if (filter.group !== undefined) query = query.where('group_name', '=', filter.group);
  if (filter.pii !== undefined) query = query.where('pii', '=', bool(filter.pii));
  if (filter.system !== undefined) query = query.where('system', '=', bool(filter.system));
  if (filter.q !== undefined && filter.q !== '') {
    const pattern = `%${filter.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) =>
      eb.or([
        eb('name_key', 'like', sql<string>`${pattern} escape '\\'`),
        eb('display_name_key', 'like', sql<string>`${pattern} escape '\\'`),
        eb(sql`lower(coalesce(description, ''))`, 'like', sql<string>`${pattern} escape '\\'`),
      ]),
    );
  }
  if (after) {
    const [sortOrder, nameKey] = after;
    query = query.where((eb) =>
      eb.or([eb('sort_order', '>', sortOrder), eb.and([eb('sort_order', '=', sortOrder), eb('name_key', '>', nameKey)])]),
    );
  }
  const rows = await query.orderBy('sort_order').orderBy('name_key').limit(limit).execute();
  return rows.map(rowToProperty);
}

/**
 * Allocates the workspace's next property id and, for a custom property, counts it; returns
 * both with the limit. In PostgreSQL the update locks the workspace row until the transaction
 * ends, so concurrent creates cannot both pass the limit.
 */
// Compiled once (reusable-query.ts): every create runs it.
const bumpSequence = (custom: boolean) =>
  reusableQuery((db: Kysely<Database>, workspaceId: number) =>
    db
      .updateTable('workspaces')
      .set((eb) => ({ property_seq: eb('property_seq', '+', 1), ...(custom ? { custom_properties: eb('custom_properties', '+', 1) } : {}) }))
      .where('id', '=', workspaceId)
      .returning(['property_seq', 'custom_properties', 'property_limit']),
  );
const bumpCustom = bumpSequence(true);
const bumpSystem = bumpSequence(false);

export async function nextPropertyId(trx: Transaction<Database>, workspaceId: number, custom: boolean): Promise<{ id: number; customProperties: number; limit: number }> {
  const [row] = await (custom ? bumpCustom : bumpSystem)(trx, workspaceId);
  if (!row) throw new Error(`Workspace ${workspaceId} not found.`);
  return { id: row.property_seq, customProperties: row.custom_properties, limit: row.property_limit };
}

export async function countCustomProperties(db: Conn, workspaceId: number): Promise<{ used: number; limit: number }> {
  const row = await db.selectFrom('workspaces').select(['custom_properties', 'property_limit']).where('id', '=', workspaceId).executeTakeFirstOrThrow();
  return { used: row.custom_properties, limit: row.property_limit };
}

// Every column of a property row, as inserted.
const PROPERTY_COLUMNS: readonly (keyof PropertyRow)[] = [
  'workspace_id', 'id', 'uid', 'name', 'name_key', 'display_name', 'display_name_key', 'i18n_display_names', 'description', 'example', 'data_type',
  'multi_valued', 'options', 'validation', 'is_unique', 'group_name', 'display_order', 'sort_order', 'pii', 'importable', 'exportable',
  'import_aliases', 'export_alias', 'identity_role', 'identity_priority', 'merge_function', 'metadata', 'system', 'archived', 'created_at', 'updated_at', 'version',
];

/** Inserts a property and returns it as stored: the row is the one written (every column is given). */
export async function insertProperty(
  trx: Transaction<Database>,
  workspaceId: number,
  p: { id: number; uid: string; system: boolean; at: string; fields: PropertyFields },
): Promise<Property> {
  const row: PropertyRow = {
    workspace_id: workspaceId,
    id: p.id,
    uid: p.uid,
    ...fieldsToColumns(p.fields),
    system: bool(p.system),
    archived: 0,
    created_at: p.at,
    updated_at: p.at,
    version: 1,
  };
  await insertRows(trx, 'properties', PROPERTY_COLUMNS, [PROPERTY_COLUMNS.map((c) => row[c])], 1);
  return rowToProperty(row);
}
/** Writes new fields if the stored version is still `version`; undefined when it is not. */
export async function updateProperty(
  trx: Transaction<Database>,
  workspaceId: number,
  id: number,
  version: number,
  change: { fields?: PropertyFields; archived?: boolean; at: string },
): Promise<Property | undefined> {
  const row = await trx
    .updateTable('properties')
    .set({
      ...(change.fields ? fieldsToColumns(change.fields) : {}),
      ...(change.archived !== undefined ? { archived: bool(change.archived) } : {}),
      updated_at: change.at,
      version: version + 1,
    })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .where('version', '=', version)
    .returningAll()
    .executeTakeFirst();
  return row && rowToProperty(row);
}

export async function deleteProperty(trx: Transaction<Database>, workspaceId: number, id: number): Promise<void> {
  await trx.deleteFrom('property_keys').where('workspace_id', '=', workspaceId).where('property_id', '=', id).execute();
  const gone = await trx.deleteFrom('properties').where('workspace_id', '=', workspaceId).where('id', '=', id).returning('system').executeTakeFirst();
  if (gone && gone.system === 0) {
    await trx.updateTable('workspaces').set((eb) => ({ custom_properties: eb('custom_properties', '-', 1) })).where('id', '=', workspaceId).execute();
  }
}

/** Which of these keys (names, aliases) other properties of the workspace already hold. */
export async function findTakenKeys(
  db: Conn,
  workspaceId: number,
  keys: string[],
  exceptPropertyId?: number,
): Promise<{ key: string; property_id: number }[]> {
  if (keys.length === 0) return [];
  let query = db
    .selectFrom('property_keys')
    .select(['key', 'property_id'])
    .where('workspace_id', '=', workspaceId)
    .where('key', 'in', keys);
  if (exceptPropertyId !== undefined) query = query.where('property_id', '!=', exceptPropertyId);
  return query.execute();
}

export async function findDisplayNameOwner(db: Conn, workspaceId: number, displayName: string): Promise<number | undefined> {
  const row = await db
    .selectFrom('properties')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('display_name_key', '=', displayName.toLowerCase())
    .executeTakeFirst();
  return row?.id;
}

export async function replacePropertyKeys(trx: Transaction<Database>, workspaceId: number, propertyId: number, keys: string[]): Promise<void> {
  await trx.deleteFrom('property_keys').where('workspace_id', '=', workspaceId).where('property_id', '=', propertyId).execute();
  await insertPropertyKeys(trx, workspaceId, propertyId, keys);
}

/** The keys (name, aliases) of a property that holds none yet; one another property holds raises a unique violation. */
export async function insertPropertyKeys(trx: Transaction<Database>, workspaceId: number, propertyId: number, keys: string[]): Promise<void> {
  await insertRows(trx, 'property_keys', ['workspace_id', 'key', 'property_id'], keys.map((key) => [workspaceId, key, propertyId]), KEYS_PER_INSERT);
}
// A property has a name and at most a few dozen aliases: one statement (a power of two, see inChunks).
const KEYS_PER_INSERT = 64;

export async function insertHistory(
  trx: Transaction<Database>,
  workspaceId: number,
  propertyId: number,
  entry: HistoryEntry,
): Promise<void> {
  await insertRows(trx, 'property_history', HISTORY_COLUMNS, [[workspaceId, propertyId, entry.version, entry.at, entry.key_id, entry.action, json(entry.changes)]], 1);
}
const HISTORY_COLUMNS = ['workspace_id', 'property_id', 'version', 'at', 'key_id', 'action', 'changes'];

export async function listHistory(db: Conn, workspaceId: number, propertyId: number, limit: number, afterVersion: number | undefined): Promise<HistoryEntry[]> {
  let query = db
    .selectFrom('property_history')
    .select(['version', 'at', 'key_id', 'action', 'changes'])
    .where('workspace_id', '=', workspaceId)
    .where('property_id', '=', propertyId);
  if (afterVersion !== undefined) query = query.where('version', '>', afterVersion);
  const rows = await query.orderBy('version').limit(limit).execute();
  return rows.map((r) => ({ ...r, action: r.action as HistoryAction, changes: JSON.parse(r.changes) }));
}

/** Columns a search may filter, sort or match on, by the field name services use. */
export const SEARCHABLE_COLUMNS = {
  id: 'id',
  name: 'name_key',
  display_name: 'display_name_key',
  description: 'description',
  example: 'example',
  data_type: 'data_type',
  pii: 'pii',
  system: 'system',
  importable: 'importable',
  exportable: 'exportable',
  created_at: 'created_at',
  updated_at: 'updated_at',
  display_order: 'sort_order',
} as const;
export type SearchField = keyof typeof SEARCHABLE_COLUMNS;

export type SearchValue = string | number | boolean;
export interface SearchCondition {
  in?: readonly SearchValue[];
  gte?: string | number;
  lt?: string | number;
}

export interface PropertySearch {
  /** Case-insensitive substring over `qFields`. */
  q?: { text: string; fields: SearchField[] };
  /** Equality on each field; booleans as true/false. */
  equals?: Partial<Record<SearchField, string | number | boolean>>;
  /** Further conditions, ANDed: any of `in` (an empty list matches nothing), and a half-open range [gte, lt). */
  where?: Partial<Record<SearchField, SearchCondition>>;
  /** `rank` sorts by the rank of each stored value (unlisted values last) instead of the value itself. */
  sort: { field: SearchField; desc: boolean; rank?: Readonly<Record<string, number>> }[];
  offset: number;
  limit: number | undefined;
  archived: boolean;
}

/** Offset search with a total, for dialects that page by number. */
export async function searchProperties(db: Conn, workspaceId: number, s: PropertySearch): Promise<{ total: number; items: Property[] }> {
  let base = db.selectFrom('properties').where('workspace_id', '=', workspaceId).where('archived', '=', bool(s.archived));
  for (const [field, value] of Object.entries(s.equals ?? {}) as [SearchField, string | number | boolean][]) {
    const column = SEARCHABLE_COLUMNS[field];
    const v = typeof value === 'boolean' ? bool(value) : typeof value === 'string' && (field === 'name' || field === 'display_name') ? value.toLowerCase() : value;
    base = base.where(column, '=', v);
  }
  for (const [field, c] of Object.entries(s.where ?? {}) as [SearchField, SearchCondition][]) {
    const column = SEARCHABLE_COLUMNS[field];
    const lower = field === 'name' || field === 'display_name';
    const value = (v: SearchValue) => (typeof v === 'boolean' ? bool(v) : typeof v === 'string' && lower ? v.toLowerCase() : v);
    if (c.in !== undefined) base = c.in.length === 0 ? base.where(sql<boolean>`1 = 0`) : base.where(column, 'in', c.in.map(value));
    if (c.gte !== undefined) base = base.where(column, '>=', value(c.gte));
    if (c.lt !== undefined) base = base.where(column, '<', value(c.lt));
  }
  if (s.q && s.q.text !== '' && s.q.fields.length > 0) {
    const pattern = `%${s.q.text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const fields = s.q.fields;
    base = base.where((eb) => eb.or(fields.map((f) => eb(sql`lower(coalesce(cast(${sql.ref(SEARCHABLE_COLUMNS[f])} as text), ''))`, 'like', sql<string>`${pattern} escape '\\'`))));
  }
  const { n } = await base.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
  let query = base.selectAll();
  for (const { field, desc, rank } of s.sort) {
    const column = sql.ref(SEARCHABLE_COLUMNS[field]);
    const ranks = Object.entries(rank ?? {});
    // Ranks are numbers written as literals, so both databases compare them as numbers.
    const last = sql.lit(Math.max(0, ...ranks.map(([, r]) => r)) + 1);
    const key = ranks.length > 0 ? sql`case ${sql.join(ranks.map(([v, r]) => sql`when ${column} = ${v} then ${sql.lit(r)}`), sql` `)} else ${last} end` : column;
    query = query.orderBy(key, desc ? 'desc' : 'asc');
  }
  query = query.orderBy('sort_order').orderBy('name_key');
  if (s.limit !== undefined) query = query.limit(s.limit).offset(s.offset);
  const rows = await query.execute();
  return { total: Number(n), items: rows.map(rowToProperty) };
}

/** Whether any workspace has a PII property (the server then needs its encryption key). */
export async function anyPiiProperty(db: Conn): Promise<boolean> {
  return (await db.selectFrom('properties').select('id').where('pii', '=', 1).limit(1).executeTakeFirst()) !== undefined;
}
