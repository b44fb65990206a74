// All SQL about profiles: rows, values, identity keys and aliases, savepoints, and the search
// plan. `db`/`trx` first, the workspace second, in every function. Values go in and out through
// the value codec, so callers see values and change sets, never storage rows.
import { CompiledQuery, sql, type Expression, type Kysely, type RawBuilder, type SqlBool, type Transaction } from 'kysely';
import { isPostgres } from '../../db/dialect.ts';
import { inChunks, inListChunks } from '../../db/in-chunks.ts';
import { insertRows, insertRowsTogether, type Upsert } from '../../db/insert-rows.ts';
import { reusableQuery } from '../../db/reusable-query.ts';
import type { Database, ProfileValuesTable } from '../../db/schema.ts';
import type { Property } from '../properties/property.ts';
import { isKeyed, type ChangeSet, type ValueWrite } from './change-set.ts';
import type { StoredValue } from './profile.ts';
import { excludes, type ProfileSort, type ValueColumn, type ValueFilter } from './profile-search.ts';
import { INDEXED_CHARS, itemised, type ValueCodec } from './value-codec.ts';

type Conn = Kysely<Database> | Transaction<Database>;

export interface ProfileRow {
  id: string;
  created_at: string;
  updated_at: string;
}

type ValueRow = Omit<ProfileValuesTable, 'workspace_id'>;
type KeyRow = { profile_id: string; property_id: number; value_key: string };

/**
 * Runs `fn` in a savepoint: what it wrote is rolled back when it throws (the error goes on),
 * kept when it returns, unless `undo` (a dry run) rolls it back anyway. Savepoints nest.
 */
export async function inSavepoint<T>(trx: Transaction<Database>, fn: () => Promise<T>, { undo = false } = {}): Promise<T> {
  await sql`savepoint sp`.execute(trx);
  let result: T;
  try {
    result = await fn();
  } catch (error) {
    await sql`rollback to savepoint sp`.execute(trx);
    await sql`release savepoint sp`.execute(trx);
    throw error;
  }
  if (undo) await sql`rollback to savepoint sp`.execute(trx);
  await sql`release savepoint sp`.execute(trx);
  return result;
}

/**
 * Whether another writer can commit between this transaction's reads and its writes. On SQLite a
 * write transaction holds the database's one write lock from its start (BEGIN IMMEDIATE) and
 * this process's connection until it ends, so what it read still holds when it writes; on
 * PostgreSQL other transactions commit meanwhile.
 */
export function writersInterleave(trx: Transaction<Database>): boolean {
  return isPostgres(trx);
}

// Every read of a profile by id runs these: compiled once (see reusable-query.ts).
const profileById = reusableQuery((db: Conn, workspaceId: number, id: string) =>
  db.selectFrom('profiles').select(['id', 'created_at', 'updated_at']).where('workspace_id', '=', workspaceId).where('id', '=', id),
);
const aliasTarget = reusableQuery((db: Conn, workspaceId: number, alias: string) =>
  db.selectFrom('profile_aliases').select('profile_id').where('workspace_id', '=', workspaceId).where('alias', '=', alias),
);

/** The profile an id names: itself, or the profile it was merged into. */
export async function findProfile(db: Conn, workspaceId: number, id: string): Promise<ProfileRow | undefined> {
  const [direct] = await profileById(db, workspaceId, id);
  if (direct) return direct;
  const [alias] = await aliasTarget(db, workspaceId, id);
  if (!alias) return undefined;
  return (await profileById(db, workspaceId, alias.profile_id))[0];
}

/** `with gate ...`: a statement's own start for evaluating `alongside` (the start gate) once, before its rows. */
const alongsideOf = (alongside: RawBuilder<unknown> | undefined) =>
  alongside ? { with: sql`with gate as materialized (select ${alongside} as passed) `, from: sql`gate ` } : { with: sql``, from: undefined };

/** A writer's pass of the workspace's start gate, as an expression of another statement (jobs' gatePass); undefined: no gate. */
export type GatePass = (db: Kysely<Database>, workspaceId: number) => RawBuilder<unknown> | undefined;

/** A statement compiled once per gate function (the service gives the same one every time) and dialect. */
function perGate<Q>(make: (gate: GatePass | undefined) => Q): (gate: GatePass | undefined) => Q {
  const made = new Map<GatePass | undefined, Q>();
  return (gate) => {
    let q = made.get(gate);
    if (!q) made.set(gate, (q = make(gate)));
    return q;
  };
}

const touchOne = perGate((gate) =>
  reusableQuery((db: Kysely<Database>, workspaceId: number, id: string, at: string) => {
    const a = alongsideOf(gate?.(db, workspaceId));
    return sql<ProfileRow>`${a.with}update profiles set updated_at = ${at} ${a.from ? sql`from ${a.from}` : sql``}where profiles.workspace_id = ${workspaceId} and profiles.id = ${id} returning profiles.id, profiles.created_at, profiles.updated_at`;
  }),
);

/**
 * A write's first statement for an existing profile: its `updated_at` set (the row lock orders
 * concurrent writers, as touchProfiles does) and its row returned; undefined when no profile has
 * this id (an alias, or none). `gate` (the workspace's start gate) is passed in the same
 * statement, and surely so when a row comes back.
 */
export async function touchProfile(trx: Transaction<Database>, workspaceId: number, id: string, at: string, gate?: GatePass): Promise<ProfileRow | undefined> {
  return (await touchOne(gate)(trx, workspaceId, id, at))[0];
}

const insertOne = perGate((gate) =>
  reusableQuery((db: Kysely<Database>, workspaceId: number, id: string, createdAt: string, updatedAt: string) => {
    const a = alongsideOf(gate?.(db, workspaceId));
    return sql<{ id: string }>`${a.with}insert into profiles (workspace_id, id, created_at, updated_at)
    select cast(${workspaceId} as integer), cast(${id} as text), cast(${createdAt} as text), cast(${updatedAt} as text) ${a.from ? sql`from ${a.from}` : sql``}
    where not exists (select 1 from profile_aliases where workspace_id = ${workspaceId} and alias = ${id}) returning id`;
  }),
);

/**
 * A write's first statement for a new profile: inserted unless an alias holds its id (false
 * then); an existing profile of that id raises a unique violation. `gate` as touchProfile's,
 * surely passed when the profile is inserted.
 */
export async function insertNewProfile(trx: Transaction<Database>, workspaceId: number, row: ProfileRow, gate?: GatePass): Promise<boolean> {
  return (await insertOne(gate)(trx, workspaceId, row.id, row.created_at, row.updated_at)).length === 1;
}

export async function findProfiles(db: Conn, workspaceId: number, ids: string[]): Promise<ProfileRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('profiles').select(['id', 'created_at', 'updated_at']).where('workspace_id', '=', workspaceId).where('id', 'in', ids).execute();
}

export async function insertProfile(trx: Transaction<Database>, workspaceId: number, row: ProfileRow): Promise<void> {
  await trx.insertInto('profiles').values({ workspace_id: workspaceId, ...row }).execute();
}

/**
 * Sets the profiles' `updated_at`. Called before their values are read for a write: the row
 * locks it takes (PostgreSQL) make a concurrent writer of the same profiles wait, then read what
 * this one wrote, so no merge (a sum) loses a write.
 */
export async function touchProfiles(trx: Transaction<Database>, workspaceId: number, ids: readonly string[], at: string): Promise<void> {
  await inListChunks(ids.toSorted(), KEY_ROWS_PER_INSERT, (chunk) => touchAll(trx, at, workspaceId, chunk));
}
const touchAll = reusableQuery((db: Conn, at: string, workspaceId: number, ids: string[]) =>
  db.updateTable('profiles').set({ updated_at: at }).where('workspace_id', '=', workspaceId).where('id', 'in', ids),
);

const valuesOf = (db: Conn, workspaceId: number, profileIds: string[]) =>
  db
    .selectFrom('profile_values')
    .select(['profile_id', 'property_id', 'position', 'v_text', 'v_num', 'v_json', 'source', 'written_at'])
    .where('workspace_id', '=', workspaceId)
    .where('profile_id', 'in', profileIds)
    .orderBy('profile_id')
    .orderBy('property_id')
    .orderBy('position');
// Compiled once per number of profiles (a page's size), as every profile read runs them.
const allValues = reusableQuery(valuesOf);
const valuesOfOne = reusableQuery((db: Conn, workspaceId: number, profileIds: string[], propertyId: number) => valuesOf(db, workspaceId, profileIds).where('property_id', '=', propertyId));

async function loadValues(db: Conn, workspaceId: number, profileIds: string[], propertyId?: number): Promise<ValueRow[]> {
  if (profileIds.length === 0) return [];
  return propertyId === undefined ? allValues(db, workspaceId, profileIds) : valuesOfOne(db, workspaceId, profileIds, propertyId);
}

// An export's page of values: the encoded items alone, by an id range when the page holds every
// profile between its first and last id (one index range, not a probe per id), else by the ids.
const exportValuesOf = (db: Conn, workspaceId: number) =>
  db.selectFrom('profile_values').select(['profile_id', 'property_id', 'v_json']).where('workspace_id', '=', workspaceId).orderBy('profile_id').orderBy('property_id').orderBy('position');
const exportValuesBetween = reusableQuery((db: Conn, workspaceId: number, first: string, last: string) =>
  exportValuesOf(db, workspaceId).where('profile_id', '>=', first).where('profile_id', '<=', last),
);
const exportValuesIn = reusableQuery((db: Conn, workspaceId: number, profileIds: string[]) => exportValuesOf(db, workspaceId).where('profile_id', 'in', profileIds));

/**
 * The values of some properties (`defs`, undefined for one no longer live) of a page of profiles
 * in id order, decoded, by profile id: one array each in `defs`' order, undefined where the
 * profile holds none. `contiguous`: the page is every profile between its first and last id.
 */
export async function loadColumns(
  db: Conn,
  workspaceId: number,
  page: { ids: readonly string[]; contiguous: boolean },
  defs: readonly (Property | undefined)[],
  codec: ValueCodec,
): Promise<Map<string, unknown[]>> {
  const out = new Map<string, unknown[]>();
  if (page.ids.length === 0) return out;
  const rows = page.contiguous ? await exportValuesBetween(db, workspaceId, page.ids[0], page.ids[page.ids.length - 1]) : await exportValuesIn(db, workspaceId, [...page.ids]);
  const column = new Map<number, number>();
  for (const [i, def] of defs.entries()) if (def) column.set(def.id, i);
  // One pass: the rows come ordered by profile, property and position.
  let values: unknown[] | undefined;
  for (let i = 0, j = 0; i < rows.length; i = j) {
    const row = rows[i];
    const { profile_id, property_id } = row;
    for (j = i + 1; j < rows.length && rows[j].profile_id === profile_id && rows[j].property_id === property_id; j++);
    if (i === 0 || rows[i - 1].profile_id !== profile_id) values = undefined;
    const at = column.get(property_id);
    if (at === undefined) continue;
    if (!values) out.set(profile_id, (values = new Array(defs.length)));
    values[at] = codec.decodeValue(defs[at]!, j === i + 1 ? [row] : rows.slice(i, j));
  }
  return out;
}

/** A stored value whose JSON is decoded when first read (PII values cost a decryption). */
class LazyValue implements StoredValue {
  readonly source: string | null;
  readonly written_at: string;
  #rows: ValueRow[];
  #def: Property | undefined;
  #codec: ValueCodec;
  #decoded = false;
  #value: unknown;

  constructor(def: Property | undefined, rows: ValueRow[], codec: ValueCodec) {
    this.source = rows[0].source;
    this.written_at = rows[0].written_at;
    this.#rows = rows;
    this.#def = def;
    this.#codec = codec;
  }

  get value(): unknown {
    if (!this.#decoded) {
      this.#value = this.#def && this.#codec.decodeValue(this.#def, this.#rows);
      this.#decoded = true;
    }
    return this.#value;
  }
}

/**
 * The stored values of some profiles (of one property when `only` is given), by profile id then
 * property id, decoded by `defs` (a property missing from it, purged, is listed with no value).
 * A page of profiles costs one query.
 */
export async function loadState(
  db: Conn,
  workspaceId: number,
  profileIds: string[],
  defs: ReadonlyMap<number, Property>,
  codec: ValueCodec,
  only?: number,
): Promise<Map<string, Map<number, StoredValue>>> {
  return stateOfRows(await loadValues(db, workspaceId, profileIds, only), defs, codec);
}

/** Value rows, ordered by profile, property and position, as each profile's stored values. */
function stateOfRows(rows: readonly ValueRow[], defs: ReadonlyMap<number, Property>, codec: ValueCodec): Map<string, Map<number, StoredValue>> {
  const state = new Map<string, Map<number, StoredValue>>();
  // One pass: the rows come ordered by profile, property and position (a page reads thousands).
  for (let i = 0, j = 0; i < rows.length; i = j) {
    const { profile_id, property_id } = rows[i];
    for (j = i + 1; j < rows.length && rows[j].profile_id === profile_id && rows[j].property_id === property_id; j++);
    let held = state.get(profile_id);
    if (!held) state.set(profile_id, (held = new Map()));
    held.set(property_id, new LazyValue(defs.get(property_id), rows.slice(i, j), codec));
  }
  return state;
}

// A profile and its values in one statement: the read every profile GET makes.
const profileWithValues = reusableQuery((db: Conn, workspaceId: number, id: string) =>
  db
    .selectFrom('profiles as p')
    .leftJoin('profile_values as v', (join) => join.onRef('v.workspace_id', '=', 'p.workspace_id').onRef('v.profile_id', '=', 'p.id'))
    .select(['p.id', 'p.created_at', 'p.updated_at', 'v.profile_id', 'v.property_id', 'v.position', 'v.v_text', 'v.v_num', 'v.v_json', 'v.source', 'v.written_at'])
    .where('p.workspace_id', '=', workspaceId)
    .where('p.id', '=', id)
    .orderBy('v.property_id')
    .orderBy('v.position'),
);

/** The profile an id names (itself, or the profile it was merged into) with its stored values, as loadState gives them. */
export async function findProfileWithState(
  db: Conn,
  workspaceId: number,
  id: string,
  defs: ReadonlyMap<number, Property>,
  codec: ValueCodec,
): Promise<{ row: ProfileRow; state: Map<number, StoredValue> } | undefined> {
  let rows = await profileWithValues(db, workspaceId, id);
  if (rows.length === 0) {
    const [alias] = await aliasTarget(db, workspaceId, id);
    if (!alias) return undefined;
    rows = await profileWithValues(db, workspaceId, alias.profile_id);
    if (rows.length === 0) return undefined;
  }
  const [{ id: profileId, created_at, updated_at }] = rows;
  // A profile without values comes as one row whose value columns are null.
  const values = rows[0].profile_id === null ? [] : (rows as ValueRow[]);
  return { row: { id: profileId, created_at, updated_at }, state: stateOfRows(values, defs, codec).get(profileId) ?? new Map() };
}

const VALUE_COLUMNS = ['workspace_id', 'profile_id', 'property_id', 'position', 'v_text', 'v_num', 'v_json', 'source', 'written_at'];
const KEY_COLUMNS = ['workspace_id', 'property_id', 'value_key', 'profile_id'];
const PROFILE_COLUMNS = ['workspace_id', 'id', 'created_at', 'updated_at'];

/** A profile's value rows to insert (VALUE_COLUMNS), appended to `out`. */
function valueRows(out: unknown[][], workspaceId: number, profileId: string, write: readonly ValueWrite[], codec: ValueCodec): void {
  for (const w of write) {
    for (const r of codec.encodeValue(w.def, w.value, w)) out.push([workspaceId, profileId, w.def.id, r.position, r.v_text, r.v_num, r.v_json, r.source, r.written_at]);
  }
}

/** A profile's key rows to insert (KEY_COLUMNS), appended to `out`. */
function keyRows(out: unknown[][], workspaceId: number, profileId: string, keys: readonly { def: Property; value: unknown }[], codec: ValueCodec): void {
  for (const k of keys) out.push([workspaceId, k.def.id, codec.keyOf(k.def, k.value), profileId]);
}

/**
 * Stores a change set in a profile: one delete and one insert each for values and keys, so a
 * record costs a handful of statements, not a few per property. A key another profile holds
 * raises a unique violation.
 */
export async function storeChanges(trx: Transaction<Database>, workspaceId: number, profileId: string, change: Pick<ChangeSet, 'clear' | 'unkey' | 'write' | 'keys'> & Partial<Pick<ChangeSet, 'touch'>>, codec: ValueCodec): Promise<void> {
  await updateProfilesWith(trx, workspaceId, [{ id: profileId, change: { touch: [], ...change } }], codec);
}

// Compiled once per number of profiles and properties (one and a few, for a PATCH).
const deleteOf = (table: 'profile_values' | 'profile_keys') =>
  reusableQuery((db: Conn, workspaceId: number, ids: string[], cleared: number[]) =>
    db.deleteFrom(table).where('workspace_id', '=', workspaceId).where('profile_id', 'in', ids).where('property_id', 'in', cleared),
  );
const clearValues = deleteOf('profile_values');
const clearKeys = deleteOf('profile_keys');

// (profile, property) pairs per touch statement, at most: a power of two (see inChunks).
const TOUCHES_PER_UPDATE = 256;
const touchTexts = new Map<string, string>();

/**
 * The touch of `count` (profile, property) pairs: every row of each pair's value takes the pair's
 * date and source. The pairs come as a list of values, so that one statement serves profiles
 * written at different times (an SDK dates each call). The workspace is in the list too: with
 * no constant to look the table up by, SQLite's planner walks the list and finds each pair's
 * rows by primary key (given the workspace as a constant, it scanned the workspace's values
 * for lists of 64 pairs and more).
 */
function touchText(count: number, postgres: boolean): string {
  const key = `${postgres}:${count}`;
  let text = touchTexts.get(key);
  if (text === undefined) {
    const n = (i: number, type: string) => (postgres ? `$${i}::${type}` : '?');
    const pair = (i: number) => `(${n(5 * i + 1, 'integer')}, ${n(5 * i + 2, 'text')}, ${n(5 * i + 3, 'integer')}, ${n(5 * i + 4, 'text')}, ${n(5 * i + 5, 'text')})`;
    text = `with t (workspace_id, profile_id, property_id, source, written_at) as (values ${Array.from({ length: count }, (_, i) => pair(i)).join(', ')})
      update profile_values set source = t.source, written_at = t.written_at from t
      where profile_values.workspace_id = t.workspace_id and profile_values.profile_id = t.profile_id and profile_values.property_id = t.property_id`;
    touchTexts.set(key, text);
  }
  return text;
}

/** Rewrites the date and source of values that stay as they are: one statement for a whole batch's. */
async function touchValues(trx: Transaction<Database>, workspaceId: number, touches: readonly (readonly [profileId: string, propertyId: number, source: string | null, writtenAt: string])[]): Promise<void> {
  const postgres = isPostgres(trx);
  await inChunks(touches, TOUCHES_PER_UPDATE, (chunk) => trx.executeQuery(CompiledQuery.raw(touchText(chunk.length, postgres), chunk.flatMap((t) => [workspaceId, ...t]))));
}

/**
 * During a key rotation, a claimed key still held under the previous key's blind index (by this
 * profile or another) is moved to the current one first, so that the claim meets it on the
 * primary key: a value another profile holds is refused as at any other time.
 */
async function upgradeKeys(trx: Transaction<Database>, workspaceId: number, claims: readonly { def: Property; value: unknown }[], codec: ValueCodec): Promise<void> {
  for (const claim of claims) {
    const [current, ...previous] = codec.keysOf(claim.def, claim.value);
    if (previous.length === 0) continue;
    await trx
      .updateTable('profile_keys')
      .set({ value_key: current })
      .where('workspace_id', '=', workspaceId)
      .where('property_id', '=', claim.def.id)
      .where('value_key', 'in', previous)
      .execute();
  }
}

/** Creates profiles with their values, all in a few statements. */
export async function insertProfilesWith(trx: Transaction<Database>, workspaceId: number, profiles: { row: ProfileRow; change: Pick<ChangeSet, 'write' | 'keys'> }[], codec: ValueCodec): Promise<void> {
  await upgradeKeys(trx, workspaceId, profiles.flatMap((p) => p.change.keys), codec);
  await insertRows(trx, 'profiles', PROFILE_COLUMNS, profiles.map(({ row }) => [workspaceId, row.id, row.created_at, row.updated_at]), KEY_ROWS_PER_INSERT);
  await insertValuesAndKeys(trx, workspaceId, profiles.map(({ row, change }) => ({ id: row.id, change })), codec);
}

/**
 * Stores the change sets of existing profiles together (touched first, see touchProfiles): one
 * delete per table for the profiles clearing the same properties, and one insert each for
 * all values and keys. A value of one row replacing a stored one (a property not itemised, whose
 * stored value is one row too: a change of itemising converts every value first) is not deleted:
 * the insert writes over its row. A key another profile holds raises a unique violation.
 */
export async function updateProfilesWith(trx: Transaction<Database>, workspaceId: number, profiles: { id: string; change: Pick<ChangeSet, 'clear' | 'unkey' | 'write' | 'keys' | 'touch'> }[], codec: ValueCodec): Promise<void> {
  await upgradeKeys(trx, workspaceId, profiles.flatMap((p) => p.change.keys), codec);
  await touchValues(trx, workspaceId, profiles.flatMap(({ id, change }) => change.touch.map((t) => [id, t.def.id, t.source, t.written_at] as const)));
  const sorted = (ids: readonly number[]) => ids.toSorted((a, b) => a - b);
  let overwrites = false;
  const deleting = profiles.flatMap(({ id, change }) => {
    const over = new Set(change.write.filter((w) => !itemised(w.def)).map((w) => w.def.id));
    const clear = change.clear.filter((p) => !over.has(p));
    overwrites ||= clear.length < change.clear.length;
    return clear.length > 0 || change.unkey.length > 0 ? [{ id, clear, unkey: change.unkey }] : [];
  });
  for (const group of Map.groupBy(deleting, (d) => `${sorted(d.clear).join(',')}/${sorted(d.unkey).join(',')}`).values()) {
    const { clear, unkey } = group[0];
    await inListChunks(group.map((d) => d.id), KEY_ROWS_PER_INSERT, async (ids) => {
      if (clear.length > 0) await clearValues(trx, workspaceId, ids, clear);
      // Only keyed properties' values hold keys: a write of other values deletes none.
      if (unkey.length > 0) await clearKeys(trx, workspaceId, ids, unkey);
    });
  }
  await insertValuesAndKeys(trx, workspaceId, profiles, codec, overwrites ? VALUE_KEY : undefined);
}

/** A value's row: a write over a stored row replaces its columns. */
const VALUE_KEY = { key: ['workspace_id', 'profile_id', 'property_id', 'position'] };

async function insertValuesAndKeys(trx: Transaction<Database>, workspaceId: number, profiles: readonly { id: string; change: Pick<ChangeSet, 'write' | 'keys'> }[], codec: ValueCodec, upsert?: Upsert): Promise<void> {
  const values: unknown[][] = [];
  const keys: unknown[][] = [];
  for (const { id, change } of profiles) {
    valueRows(values, workspaceId, id, change.write, codec);
    keyRows(keys, workspaceId, id, change.keys, codec);
  }
  // Keys first: on SQLite a key another profile holds fails before any value is written. Every
  // caller writes inside a savepoint or transaction that it rolls back when a key is held (the
  // write path's savepoints, a request's or a job step's transaction), so a failing insert need
  // not undo its own rows (insert-rows.ts, callerUndoes).
  await insertRowsTogether(trx, [
    { table: 'profile_keys', columns: KEY_COLUMNS, rows: keys, size: KEY_ROWS_PER_INSERT, how: { callerUndoes: true } },
    { table: 'profile_values', columns: VALUE_COLUMNS, rows: values, size: VALUE_ROWS_PER_INSERT, how: { upsert, callerUndoes: true } },
  ]);
}

// Rows per statement, at most: a power of two, so that every chunk is one (see inChunks).
const VALUE_ROWS_PER_INSERT = 256;
const KEY_ROWS_PER_INSERT = 512;

/** The profile holding each claim's key (undefined: none), in the claims' order. */
export async function keyOwners(db: Conn, workspaceId: number, claims: readonly { def: Property; value: unknown }[], codec: ValueCodec): Promise<(string | undefined)[]> {
  // During a key rotation a PII key may still be held under the previous key's blind index.
  const keys = claims.map((c) => codec.keysOf(c.def, c.value).map((value_key) => ({ property_id: c.def.id, value_key })));
  const owners = new Map((await findKeyOwners(db, workspaceId, keys.flat())).map((o) => [`${o.property_id}:${o.value_key}`, o.profile_id]));
  return keys.map((forms) => forms.map((k) => owners.get(`${k.property_id}:${k.value_key}`)).find((owner) => owner !== undefined));
}

const ownersIn = reusableQuery((db: Conn, workspaceId: number, propertyId: number, values: string[]) =>
  db.selectFrom('profile_keys').select(['property_id', 'value_key', 'profile_id']).where('workspace_id', '=', workspaceId).where('property_id', '=', propertyId).where('value_key', 'in', values),
);

/**
 * On PostgreSQL, each key is probed through the primary key in turn (a lateral lookup per key):
 * given an IN list, a planner without statistics (a fresh load, autovacuum not yet run) read
 * every key of the property and filtered them, 239 ms a batch at 300,000 keys
 * (test/postgres-plans.test.ts holds the plan).
 */
function keysProbed(db: Conn, table: 'profile_keys' | 'profile_former_keys', workspaceId: number, propertyId: number, values: readonly string[]) {
  return sql<{ value_key: string; profile_id: string }>`select k.value_key, k.profile_id from unnest(${[...new Set(values)]}::text[]) as v(value_key)
    cross join lateral (select value_key, profile_id from ${sql.table(table)} where workspace_id = ${workspaceId} and property_id = ${propertyId} and value_key = v.value_key) k`
    .execute(db)
    .then((r) => r.rows);
}

async function ownersOf(db: Conn, workspaceId: number, propertyId: number, values: string[]): Promise<KeyRow[]> {
  if (!isPostgres(db)) return ownersIn(db, workspaceId, propertyId, values);
  return (await keysProbed(db, 'profile_keys', workspaceId, propertyId, values)).map((r) => ({ property_id: propertyId, ...r }));
}

async function findKeyOwners(db: Conn, workspaceId: number, keys: { property_id: number; value_key: string }[]): Promise<KeyRow[]> {
  const found: KeyRow[] = [];
  // Grouped by property, so each lookup is one IN list on the primary key.
  for (const [propertyId, propertyKeys] of Map.groupBy(keys, (k) => k.property_id)) {
    await inListChunks(
      propertyKeys.map((k) => k.value_key),
      KEY_ROWS_PER_INSERT,
      async (values) => found.push(...(await ownersOf(db, workspaceId, propertyId, values))),
    );
  }
  return found;
}

/** Erases a profile, its values, keys, former keys (its own and those of profiles merged into it) and the aliases that led to it. */
export async function deleteProfile(trx: Transaction<Database>, workspaceId: number, id: string): Promise<void> {
  for (const table of ['profile_values', 'profile_keys'] as const) {
    await trx.deleteFrom(table).where('workspace_id', '=', workspaceId).where('profile_id', '=', id).execute();
  }
  await trx
    .deleteFrom('profile_former_keys')
    .where('workspace_id', '=', workspaceId)
    .where((eb) =>
      eb.or([
        eb('profile_id', '=', id),
        eb('profile_id', 'in', eb.selectFrom('profile_aliases').select('alias').where('workspace_id', '=', workspaceId).where('profile_id', '=', id)),
      ]),
    )
    .execute();
  await trx.deleteFrom('profile_aliases').where('workspace_id', '=', workspaceId).where('profile_id', '=', id).execute();
  await trx.deleteFrom('profiles').where('workspace_id', '=', workspaceId).where('id', '=', id).execute();
}

/** Folds `from` into `into`: its id and every alias of it now answer with `into`. */
export async function mergeInto(trx: Transaction<Database>, workspaceId: number, from: string, into: string): Promise<void> {
  await trx.updateTable('profile_aliases').set({ profile_id: into }).where('workspace_id', '=', workspaceId).where('profile_id', '=', from).execute();
  for (const table of ['profile_values', 'profile_keys'] as const) {
    await trx.deleteFrom(table).where('workspace_id', '=', workspaceId).where('profile_id', '=', from).execute();
  }
  await trx.deleteFrom('profiles').where('workspace_id', '=', workspaceId).where('id', '=', from).execute();
  await trx.insertInto('profile_aliases').values({ workspace_id: workspaceId, alias: from, profile_id: into }).execute();
}

/**
 * Remembers values profiles held before they were replaced (each with the profile that held it),
 * under the current key; a value remembered again names its latest profile.
 */
export async function retireKeys(trx: Transaction<Database>, workspaceId: number, retired: { def: Property; value: unknown; profile_id: string }[], at: string, codec: ValueCodec): Promise<void> {
  for (const r of retired) {
    await trx
      .insertInto('profile_former_keys')
      .values({ workspace_id: workspaceId, property_id: r.def.id, value_key: codec.keyOf(r.def, r.value), profile_id: r.profile_id, retired_at: at })
      .onConflict((oc) => oc.columns(['workspace_id', 'property_id', 'value_key']).doUpdateSet((eb) => ({ profile_id: eb.ref('excluded.profile_id'), retired_at: eb.ref('excluded.retired_at') })))
      .execute();
  }
}

const formerOwnersIn = reusableQuery((db: Conn, workspaceId: number, propertyId: number, values: string[]) =>
  db.selectFrom('profile_former_keys').select(['value_key', 'profile_id']).where('workspace_id', '=', workspaceId).where('property_id', '=', propertyId).where('value_key', 'in', values),
);
const formerOwnersOf = (db: Conn, workspaceId: number, propertyId: number, values: string[]) =>
  isPostgres(db) ? keysProbed(db, 'profile_former_keys', workspaceId, propertyId, values) : formerOwnersIn(db, workspaceId, propertyId, values);

/** The profile (as it was named then) that formerly held each value (undefined: none), in the values' order. */
export async function formerKeyHolders(db: Conn, workspaceId: number, values: readonly { def: Property; value: unknown }[], codec: ValueCodec): Promise<(string | undefined)[]> {
  // During a key rotation a key may still be under the previous key's blind index.
  const keys = values.map((v) => codec.keysOf(v.def, v.value).map((value_key) => ({ property_id: v.def.id, value_key })));
  const found = new Map<string, string>();
  for (const [propertyId, forms] of Map.groupBy(keys.flat(), (k) => k.property_id)) {
    await inListChunks(
      forms.map((k) => k.value_key),
      KEY_ROWS_PER_INSERT,
      async (chunk) => {
        for (const row of await formerOwnersOf(db, workspaceId, propertyId, chunk)) found.set(`${propertyId}:${row.value_key}`, row.profile_id);
      },
    );
  }
  return keys.map((forms) => forms.map((k) => found.get(`${k.property_id}:${k.value_key}`)).find((id) => id !== undefined));
}

/** How many profiles hold a value of this property. */
export async function countHolders(db: Conn, workspaceId: number, propertyId: number): Promise<number> {
  // A held value has exactly one first item: counting those needs no distinct (and no sort).
  const row = await db
    .selectFrom('profile_values')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .where('property_id', '=', propertyId)
    .where('position', '=', 0)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** A filter the plan looks up in the value index, its few matches being the candidates; otherwise checked per profile. */
interface SearchFilter extends ValueFilter {
  drives: boolean;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The filter's test of one stored value; none for `exists`, which every value passes. */
function valueTest(col: Expression<unknown>, f: ValueFilter): RawBuilder<SqlBool> | undefined {
  const value = f.value as string | number;
  switch (f.op) {
    case 'eq':
    case 'ne':
      // A PII value during a key rotation: its blind index under either key.
      if (Array.isArray(f.value)) return sql`${col} in (${sql.join(f.value as string[])})`;
      return sql`${col} = ${value}`;
    case 'gt':
      return sql`${col} > ${value}`;
    case 'gte':
      return sql`${col} >= ${value}`;
    case 'lt':
      return sql`${col} < ${value}`;
    case 'lte':
      return sql`${col} <= ${value}`;
    case 'in':
      return sql`${col} in (${sql.join(f.value as (string | number)[])})`;
    case 'contains':
      return sql`lower(${col}) like ${`%${escapeLike(String(value).toLowerCase())}%`} escape '\\'`;
    case 'prefix':
      // A range keeps the prefix search on the index, where LIKE would not.
      return sql`${col} >= ${String(value)} and ${col} < ${`${String(value)}\u{10FFFF}`}`;
    case 'exists':
      return undefined;
  }
}

/**
 * Profile ids holding a value the filter matches: a range of the value index. An equality on one
 * value (an identity lookup) reads its matches in profile order: only the index on the column it
 * tests gives that order, so PostgreSQL probes that index whatever its statistics say. Without
 * them (a fresh load, autovacuum not yet run) it counts a property's values as one row on either
 * value index, and took the other one, reading every value of the property to test each.
 */
function matchingValues(db: Conn, workspaceId: number, f: ValueFilter) {
  const query = db.selectFrom('profile_values as v').where('v.workspace_id', '=', workspaceId).where('v.property_id', '=', f.property_id);
  const test = valueTest(sql.ref(`v.${f.column}`), f);
  if (!test) return query;
  return f.op === 'eq' && !Array.isArray(f.value) ? query.where(test).orderBy('v.profile_id') : query.where(test);
}

/** Where the outer query names the profile a check is about: a profile row, or a walked value. */
type Outer = 'p' | 's';
const OUTER = {
  p: { workspace: sql.ref<number>('p.workspace_id'), profile: sql.ref<string>('p.id') },
  s: { workspace: sql.ref<number>('s.workspace_id'), profile: sql.ref<string>('s.profile_id') },
};

/**
 * A check of the outer query's profile, made once per profile by primary key. `offset 0` keeps
 * PostgreSQL from turning it into a join that reads every match first, which it does when its
 * statistics are missing or stale.
 */
function perProfile(db: Conn, propertyId: number, outer: Outer) {
  return db
    .selectFrom('profile_values as v')
    .select(sql.lit(1).as('one'))
    .where('v.workspace_id', '=', OUTER[outer].workspace)
    .where('v.profile_id', '=', OUTER[outer].profile)
    .where('v.property_id', '=', propertyId)
    .limit(1)
    .offset(0);
}

/**
 * Whether the outer query's profile holds a value the filter matches. The column is wrapped so
 * that no index serves the test: the profile's own rows are then read by primary key, where a
 * range on the value index would be scanned once per profile.
 */
function heldBy(db: Conn, f: ValueFilter, outer: Outer) {
  const test = valueTest(f.column === 'v_num' ? sql`(${sql.ref('v.v_num')} + 0)` : sql`(${sql.ref('v.v_text')} || '')`, f);
  return test ? perProfile(db, f.property_id, outer).where(test) : perProfile(db, f.property_id, outer);
}

/**
 * Whether a filter matches many values (at least `threshold`). Found by counting at most that
 * many entries of its index, so it costs little either way.
 */
async function isBroad(db: Conn, workspaceId: number, f: ValueFilter, threshold: number): Promise<boolean> {
  const { n } = await db
    .selectFrom(matchingValues(db, workspaceId, f).select(sql.lit(1).as('one')).limit(threshold).as('m'))
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(n) >= threshold;
}

/**
 * The first filter found to match few values (under `broadFilter`), or an equality on an identity
 * or unique property, drives the search; the rest
 * are checked per candidate. Without one, profiles are walked in order and every filter checked
 * per profile. An equality on an identity or unique property (an identity lookup) matches as
 * many profiles as it names values at most, so it is not counted.
 */
async function plan(db: Conn, workspaceId: number, filters: readonly ValueFilter[], broadFilter: number): Promise<SearchFilter[]> {
  const planned = filters.map((f) => ({ ...f, drives: false }));
  for (const f of planned) {
    if (excludes(f)) continue;
    // An identity or unique value is held by one profile (a value stored before the property
    // became one may be held by a few): an equality on it drives without counting its matches.
    if ((f.keyed && f.op === 'eq') || !(await isBroad(db, workspaceId, f, broadFilter))) {
      f.drives = true;
      break;
    }
  }
  return planned;
}

export type SortValue = string | number | null;
/** Where a page ends: the last profile's value at every sort key, and its id. */
export type Cursor = { values: SortValue[]; id: string };
type Hit = { row: ProfileRow; sortValues: SortValue[] };
/** A sort key as the query orders by it: an expression giving the profile's value, or null. */
type Ordered = { expr: Expression<SortValue>; desc: boolean };

const beyondOf = (desc: boolean) => sql.raw(desc ? '<' : '>');

/** The first value (position 0) of a sort key's property held by the outer query's profile, or null. */
function firstValueOf(db: Conn, key: ProfileSort, outer: Outer): RawBuilder<SortValue> {
  const value = db
    .selectFrom('profile_values as v')
    .select(`v.${key.column}`)
    .where('v.workspace_id', '=', OUTER[outer].workspace)
    .where('v.profile_id', '=', OUTER[outer].profile)
    .where('v.property_id', '=', key.property_id)
    .where('v.position', '=', 0);
  return sql<SortValue>`(${value})`;
}

/**
 * Whether a profile comes after the cursor in the order of `keys` (each missing value after
 * every present one at its key), then of its id: beyond the cursor at some key, equal at every
 * key before it.
 */
function afterCursor(keys: readonly Ordered[], id: Expression<string>, idDesc: boolean, after: Cursor): RawBuilder<SqlBool> {
  const all = (parts: RawBuilder<SqlBool>[]) => sql<SqlBool>`(${sql.join(parts, sql` and `)})`;
  const equal: RawBuilder<SqlBool>[] = [];
  const ways: RawBuilder<SqlBool>[] = [];
  keys.forEach(({ expr, desc }, i) => {
    const at = after.values[i];
    // Past a missing value at this key, only another missing one follows.
    if (at !== null) ways.push(all([...equal, sql<SqlBool>`(${expr} ${beyondOf(desc)} ${at} or ${expr} is null)`]));
    equal.push(at === null ? sql<SqlBool>`${expr} is null` : sql<SqlBool>`${expr} = ${at}`);
  });
  ways.push(all([...equal, sql<SqlBool>`${id} ${beyondOf(idDesc)} ${after.id}`]));
  return sql<SqlBool>`(${sql.join(ways, sql` or `)})`;
}

/** The profiles passing every filter: a driving one looked up in the value index, the others checked per profile. */
function candidates(db: Conn, workspaceId: number, filters: readonly SearchFilter[]) {
  let query = db.selectFrom('profiles as p').where('p.workspace_id', '=', workspaceId);
  for (const f of filters) {
    if (f.drives && !excludes(f)) query = query.where('p.id', 'in', matchingValues(db, workspaceId, f).select('v.profile_id'));
    else query = query.where((eb) => (excludes(f) ? eb.not(eb.exists(heldBy(db, f, 'p'))) : eb.exists(heldBy(db, f, 'p'))));
  }
  return query;
}

/** How many profiles match every filter (an export announces it before its first row). */
export async function countProfiles(db: Conn, workspaceId: number, given: readonly ValueFilter[], broadFilter: number): Promise<number> {
  const filters = await plan(db, workspaceId, given, broadFilter);
  const { n } = await candidates(db, workspaceId, filters)
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(n);
}

/**
 * Profiles matching every filter, ordered by the sort keys: each by its property's first value
 * (descending with `desc`), profiles without a value after those with one at that key, ties
 * broken by the next key, then by id in the last key's direction; by id alone without keys.
 * The plan follows the filters (see `plan`):
 * - a filter that drives is an index lookup; its few matches are the candidates, sorted whole;
 * - otherwise profiles are walked in order, by id or along the first key's value index (see
 *   `walk`), and each checked against the filters; the walk stops as soon as the page is full.
 */
export async function searchProfiles(
  db: Conn,
  workspaceId: number,
  given: readonly ValueFilter[],
  sort: readonly ProfileSort[],
  page: { limit: number; after: Cursor | undefined; broadFilter: number },
): Promise<Hit[]> {
  const filters = await plan(db, workspaceId, given, page.broadFilter);
  const idDesc = sort.at(-1)?.desc ?? false;
  if (sort.length === 0 || !filters.some((f) => f.drives && !excludes(f))) return walk(db, workspaceId, filters, sort, { idDesc, broadFilter: page.broadFilter }, page.limit, page.after);

  // Few candidates: each with its value at every key, sorted whole.
  const keys = sort.map((key, i) => ({ key, alias: `k${i}` }));
  const ordered: Ordered[] = keys.map(({ key, alias }) => ({ expr: sql.ref<SortValue>(`c.${alias}`), desc: key.desc }));
  const rows = await db
    .selectFrom(
      candidates(db, workspaceId, filters)
        .select(['p.id', 'p.created_at', 'p.updated_at', ...keys.map(({ key, alias }) => firstValueOf(db, key, 'p').as(alias))])
        .as('c'),
    )
    .selectAll('c')
    .$if(page.after !== undefined, (q) => q.where(afterCursor(ordered, sql.ref('c.id'), idDesc, page.after!)))
    .$call((q) => ordered.reduce((acc, { expr, desc }) => acc.orderBy(sql`${expr} ${sql.raw(desc ? 'desc' : 'asc')} nulls last`), q))
    .orderBy('c.id', idDesc ? 'desc' : 'asc')
    .limit(page.limit)
    .execute();
  return rows.map((r) => {
    const row = r as unknown as ProfileRow & Record<string, SortValue>;
    return { row: { id: row.id, created_at: row.created_at, updated_at: row.updated_at }, sortValues: keys.map(({ alias }) => row[alias]) };
  });
}

/**
 * The one filter of a search that is an identity lookup (an equality on one value of an identity
 * or unique property, no sort), which keyLookup answers in one statement; undefined otherwise.
 */
export function keyLookupOf(filters: readonly ValueFilter[], sort: readonly ProfileSort[]): (ValueFilter & { value: string | number }) | undefined {
  const [f] = filters;
  if (filters.length !== 1 || sort.length !== 0 || !f.keyed || f.op !== 'eq' || (typeof f.value !== 'string' && typeof f.value !== 'number')) return undefined;
  return f as ValueFilter & { value: string | number };
}

/**
 * The page of an identity lookup with each profile's values, as the plan reads it (the matches
 * from the value index of the tested column, each checked by the profiles' primary key, in id
 * order), joined to their values by primary key. Compiled once per column and cursor.
 */
function keyLookupQuery(column: ValueColumn, withCursor: boolean) {
  return reusableQuery((db: Conn, workspaceId: number, propertyId: number, value: string | number, limit: number, after: string) => {
    const filter: SearchFilter = { property_id: propertyId, column, op: 'eq', value, single: true, keyed: true, drives: true };
    const page = candidates(db, workspaceId, [filter])
      .$if(withCursor, (q) => q.where('p.id', '>', after))
      .select(['p.workspace_id', 'p.id', 'p.created_at', 'p.updated_at'])
      .orderBy('p.id')
      .limit(limit);
    return db
      .selectFrom(page.as('c'))
      .leftJoin('profile_values as v', (join) => join.onRef('v.workspace_id', '=', 'c.workspace_id').onRef('v.profile_id', '=', 'c.id'))
      .select(['c.id', 'c.created_at', 'c.updated_at', 'v.profile_id', 'v.property_id', 'v.position', 'v.v_text', 'v.v_num', 'v.v_json', 'v.source', 'v.written_at'])
      .orderBy('c.id')
      .orderBy('v.property_id')
      .orderBy('v.position');
  });
}
const keyLookups = {
  v_text: { first: keyLookupQuery('v_text', false), next: keyLookupQuery('v_text', true) },
  v_num: { first: keyLookupQuery('v_num', false), next: keyLookupQuery('v_num', true) },
};

/**
 * Up to `limit` profiles holding the identity value (after the profile id `after`), in id order,
 * with their stored values as loadState gives them: one statement.
 */
export async function keyLookup(
  db: Conn,
  workspaceId: number,
  f: ValueFilter & { value: string | number },
  page: { limit: number; after: string | undefined },
  defs: ReadonlyMap<number, Property>,
  codec: ValueCodec,
): Promise<{ row: ProfileRow; state: Map<number, StoredValue> }[]> {
  const queries = keyLookups[f.column];
  const rows = await (page.after === undefined ? queries.first : queries.next)(db, workspaceId, f.property_id, f.value, page.limit, page.after ?? '');
  // A profile without values comes as one row whose value columns are null.
  const state = stateOfRows(rows.filter((r) => r.profile_id !== null) as ValueRow[], defs, codec);
  const found: { row: ProfileRow; state: Map<number, StoredValue> }[] = [];
  for (const [i, r] of rows.entries()) {
    if (i > 0 && rows[i - 1].id === r.id) continue;
    found.push({ row: { id: r.id, created_at: r.created_at, updated_at: r.updated_at }, state: state.get(r.id) ?? new Map() });
  }
  return found;
}

/**
 * How many profiles sharing the first sort key's value, as a multiple of the broad-filter count
 * (10,000 by default), make a page walk them along the next key's index rather than sort them.
 * Sorting costs a read per tie; the walk, a read per profile holding the next key until the page
 * is full: about the page size times the workspace over the ties. At 100 a page in a million
 * profiles the two meet at 10,000 ties, so either way a page reads at most about 10,000 entries.
 */
const TIES_PER_BROAD_FILTER = 2;

/** The first value of a sort key's property in its order (within the bounds of filters on it), if any. */
async function firstValueAt(db: Conn, workspaceId: number, key: ProfileSort, bounds: readonly ValueFilter[]): Promise<SortValue | undefined> {
  const col = sql.ref<SortValue>(`s.${key.column}`);
  let query = db.selectFrom('profile_values as s').where('s.workspace_id', '=', workspaceId).where('s.property_id', '=', key.property_id).where('s.position', '=', 0);
  for (const f of bounds) query = query.where(valueTest(col, f)!);
  const row = await query.select(sql<SortValue>`${col}`.as('v')).orderBy(col, key.desc ? 'desc' : 'asc').limit(1).executeTakeFirst();
  return row?.v ?? undefined;
}

/**
 * Many candidates: the profiles holding a value of the first key are walked along its value
 * index from the cursor; ties on that value are ordered by the other keys, looked up per
 * profile, so a page sorts only the ties it reaches. When the page starts among many ties (see
 * TIES_PER_BROAD_FILTER), those profiles are walked instead along the next key's index, each
 * checked to hold that value, so that a page does not sort them all; the walk then goes on past
 * that value. A filter on the first key's property
 * itself, single-valued, narrows the walk's range instead of being checked. The walk reads the
 * value index alone (joined to profiles, PostgreSQL without statistics would read every value
 * and sort them); the page's profile rows are read after it. The profiles without a value of the
 * first key follow, walked the same way by the remaining keys; with no key left, by id.
 * Longer than a screen: the two parts and the cursor read best side by side.
 */
async function walk(
  db: Conn,
  workspaceId: number,
  filters: readonly SearchFilter[],
  sort: readonly ProfileSort[],
  opts: { idDesc: boolean; broadFilter: number },
  limit: number,
  after: Cursor | undefined,
): Promise<Hit[]> {
  const { idDesc } = opts;
  if (sort.length === 0) {
    const rows = await candidates(db, workspaceId, filters)
      .$if(after !== undefined, (q) => q.where('p.id', idDesc ? '<' : '>', after!.id))
      .select(['p.id', 'p.created_at', 'p.updated_at'])
      .orderBy('p.id', idDesc ? 'desc' : 'asc')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ row, sortValues: [] }));
  }

  const [first, ...next] = sort;
  const hits: Hit[] = [];
  // A filter on the first key's property may leave only its holders, or none of them: the other
  // part of the walk then has nothing to find, and is not read.
  const onFirst = filters.filter((f) => f.property_id === first.property_id);
  const holdersOnly = onFirst.some((f) => !excludes(f));
  const noHolders = onFirst.some((f) => f.op === 'exists' && f.value === false);
  if (after?.values[0] !== null && !noHolders) {
    const col = sql.ref<SortValue>(`s.${first.column}`);
    const bounds = filters.filter((f) => f.property_id === first.property_id && f.single && !excludes(f) && f.op !== 'exists');
    // Where the walk resumes: after the cursor, or past every profile holding the value `past`.
    let past: SortValue | undefined;
    if (next.length > 0 && first.single) {
      const at = after ? after.values[0] : await firstValueAt(db, workspaceId, first, bounds);
      const ties: ValueFilter | undefined = at === undefined || at === null ? undefined : { property_id: first.property_id, column: first.column, op: 'eq', value: at, single: true };
      if (ties && (await isBroad(db, workspaceId, ties, opts.broadFilter * TIES_PER_BROAD_FILTER))) {
        const within = await walk(db, workspaceId, [...filters, { ...ties, drives: true }], next, opts, limit, after && { values: after.values.slice(1), id: after.id });
        hits.push(...within.map((h) => ({ row: h.row, sortValues: [at!, ...h.sortValues] })));
        if (hits.length === limit) return hits;
        past = at!;
      }
    }
    let walked = db
      .selectFrom('profile_values as s')
      .where('s.workspace_id', '=', workspaceId)
      .where('s.property_id', '=', first.property_id)
      .where('s.position', '=', 0);
    for (const f of filters) {
      if (bounds.includes(f)) walked = walked.where(valueTest(col, f)!);
      else walked = walked.where((eb) => (excludes(f) ? eb.not(eb.exists(heldBy(db, f, 's'))) : eb.exists(heldBy(db, f, 's'))));
    }
    const ordered: Ordered[] = [{ expr: col, desc: first.desc }, ...next.map((key) => ({ expr: firstValueOf(db, key, 's'), desc: key.desc }))];
    if (past !== undefined) {
      walked = walked.where(sql<SqlBool>`${col} ${beyondOf(first.desc)} ${past}`);
    } else if (after && next.length === 0) {
      // One key: the row value seeks the index straight to the cursor.
      walked = walked.where(sql<SqlBool>`(${col}, ${sql.ref('s.profile_id')}) ${beyondOf(first.desc)} (${after.values[0]}, ${after.id})`);
    } else if (after) {
      // The range bound keeps the walk on the index; the ties at the cursor's value are sorted again.
      walked = walked.where(sql<SqlBool>`${col} ${sql.raw(first.desc ? '<=' : '>=')} ${after.values[0]}`).where(afterCursor(ordered, sql.ref('s.profile_id'), idDesc, after));
    }
    const room = limit - hits.length;
    const rows = await walked
      .select(['s.profile_id', ...ordered.map(({ expr }, i) => sql<SortValue>`${expr}`.as(`k${i}`))])
      .$call((q) => ordered.reduce((acc, { expr, desc }, i) => acc.orderBy(i === 0 ? sql`${expr} ${sql.raw(desc ? 'desc' : 'asc')}` : sql`${expr} ${sql.raw(desc ? 'desc' : 'asc')} nulls last`), q))
      .orderBy('s.profile_id', idDesc ? 'desc' : 'asc')
      .limit(room)
      .execute();
    const found = rows as unknown as ({ profile_id: string } & Record<string, SortValue>)[];
    const profiles = new Map((await findProfiles(db, workspaceId, found.map((w) => w.profile_id))).map((r) => [r.id, r]));
    // A profile erased between the two reads is left out, as if erased just before.
    for (const w of found) {
      const row = profiles.get(w.profile_id);
      if (row) hits.push({ row, sortValues: ordered.map((_, i) => w[`k${i}`]) });
    }
    if (found.length === room) return hits;
  }
  if (holdersOnly) return hits;
  // Then the profiles without a value of the first key, ordered by the remaining keys.
  const without: SearchFilter = { property_id: first.property_id, column: first.column, op: 'exists', value: false, single: true, drives: false };
  const rest = await walk(db, workspaceId, [...filters, without], next, opts, limit - hits.length, after?.values[0] === null ? { values: after.values.slice(1), id: after.id } : undefined);
  return [...hits, ...rest.map((h) => ({ row: h.row, sortValues: [null, ...h.sortValues] }))];
}

/**
 * Removes one property's values (and their keys) from up to `limit` profiles; returns how many
 * profiles. The last step, finding fewer, also forgets the property's retired ids.
 */
export async function purgeValues(trx: Transaction<Database>, workspaceId: number, propertyId: number, limit: number): Promise<number> {
  const holders = await trx
    .selectFrom('profile_values')
    .select('profile_id')
    .distinct()
    .where('workspace_id', '=', workspaceId)
    .where('property_id', '=', propertyId)
    .limit(limit)
    .execute();
  const ids = holders.map((h) => h.profile_id);
  if (ids.length > 0) {
    for (const table of ['profile_values', 'profile_keys'] as const) {
      await trx.deleteFrom(table).where('workspace_id', '=', workspaceId).where('property_id', '=', propertyId).where('profile_id', 'in', ids).execute();
    }
  }
  if (ids.length < limit) await dropKeys(trx, workspaceId, propertyId, 'profile_former_keys');
  return ids.length;
}

/**
 * Deletes every key of a property (`profile_keys`: its values' keys; `profile_former_keys`: its
 * retired ids), in one statement along the table's primary key.
 */
export async function dropKeys(trx: Transaction<Database>, workspaceId: number, propertyId: number, table: 'profile_keys' | 'profile_former_keys'): Promise<void> {
  await trx.deleteFrom(table).where('workspace_id', '=', workspaceId).where('property_id', '=', propertyId).execute();
}

/**
 * Re-stores up to `limit` profiles' values of a property whose `pii` flag changed: encrypted (or
 * decrypted) by the definition as it is now, their keys re-derived. Returns how many profiles.
 */
export async function reencodeValues(trx: Transaction<Database>, workspaceId: number, def: Property, limit: number, codec: ValueCodec): Promise<number> {
  const state = await loadState(trx, workspaceId, await profilesToReencode(trx, workspaceId, def, limit), new Map([[def.id, def]]), codec, def.id);
  for (const [profileId, stored] of state) {
    const { value, source, written_at } = stored.get(def.id)!;
    const write = [{ def, value, source, written_at }];
    await storeChanges(trx, workspaceId, profileId, { clear: [def.id], unkey: [def.id], write, keys: isKeyed(def) ? [{ def, value }] : [] }, codec);
  }
  return state.size;
}

/** Up to `limit` profiles whose values of a property are stored in the other form (plain or encrypted). */
async function profilesToReencode(trx: Transaction<Database>, workspaceId: number, def: Property, limit: number): Promise<string[]> {
  const rows = await trx
    .selectFrom('profile_values')
    .select('profile_id')
    .distinct()
    .where('workspace_id', '=', workspaceId)
    .where('property_id', '=', def.id)
    .where('v_json', def.pii ? 'not like' : 'like', 'enc:%')
    .limit(limit)
    .execute();
  return rows.map((r) => r.profile_id);
}

/** One stored encrypted value, from any workspace (with `notUnder`, one that does not start so). */
export async function sampleEncryptedValue(db: Conn, notUnder?: string): Promise<string | undefined> {
  let query = db.selectFrom('profile_values').select('v_json').where('v_json', 'like', 'enc:%');
  if (notUnder !== undefined) query = query.where('v_json', 'not like', `${notUnder}%`);
  return (await query.limit(1).executeTakeFirst())?.v_json;
}

/** Workspaces holding encrypted values not under `prefix` (the current key's), and how many profiles each. */
export async function workspacesToRotate(db: Conn, prefix: string): Promise<{ workspace_id: number; profiles: number }[]> {
  const rows = await db
    .selectFrom('profile_values')
    .select(['workspace_id', (eb) => eb.fn.count<number | string>('profile_id').distinct().as('profiles')])
    .where('v_json', 'like', 'enc:%')
    .where('v_json', 'not like', `${prefix}%`)
    .groupBy('workspace_id')
    .execute();
  return rows.map((r) => ({ workspace_id: r.workspace_id, profiles: Number(r.profiles) }));
}

/**
 * One bounded step of a key rotation in a workspace: up to `limit` profiles holding a PII value
 * not under the current key get it re-encrypted, with its blind index and identity key, under
 * the current one. Returns how many profiles it did.
 */
export async function rotateValues(trx: Transaction<Database>, workspaceId: number, defs: ReadonlyMap<number, Property>, limit: number, codec: ValueCodec): Promise<number> {
  const pii = [...defs.values()].filter((d) => d.pii).map((d) => d.id);
  if (pii.length === 0 || codec.currentPrefix === undefined) return 0;
  const stale = await trx
    .selectFrom('profile_values')
    .select('profile_id')
    .distinct()
    .where('workspace_id', '=', workspaceId)
    .where('property_id', 'in', pii)
    .where('v_json', 'like', 'enc:%')
    .where('v_json', 'not like', `${codec.currentPrefix}%`)
    .limit(limit)
    .execute();
  const state = await loadState(trx, workspaceId, stale.map((r) => r.profile_id), defs, codec);
  for (const [profileId, values] of state) {
    // Every PII value of the profile is stored again (those already under the current key too).
    const write = [...values]
      .filter(([id]) => defs.get(id)?.pii)
      .map(([id, stored]) => ({ def: defs.get(id)!, value: stored.value, source: stored.source, written_at: stored.written_at }));
    const keys = write.filter((w) => isKeyed(w.def)).map((w) => ({ def: w.def, value: w.value }));
    await storeChanges(trx, workspaceId, profileId, { clear: write.map((w) => w.def.id), unkey: keys.map((k) => k.def.id), write, keys }, codec);
  }
  return stale.length;
}

// ---- definition changes with data: values read through the property's index (the
// property-changes module stages their converted forms and lands them) --------------------

/** Where a walk of a property's values stands: the last value's searchable form and profile. */
export type ValueCursor = [string | number | null, string];

/**
 * The next `limit` profiles holding a value of `def`, read along the property's value index
 * (its first items, one per profile, in the index's order), after `after`; with their values.
 * A single-valued, non-PII value is read from the index entry itself (its searchable form is the
 * value, unless cut at INDEXED_CHARS); any other is decoded from its rows, read by primary key.
 */
export async function holdersPage(
  db: Conn,
  workspaceId: number,
  def: Property,
  after: ValueCursor | undefined,
  limit: number,
  codec: ValueCodec,
): Promise<{ values: HeldValue[]; next: ValueCursor | undefined }> {
  // A json value has no searchable form: its index entries are in profile order under null.
  const column = def.data_type === 'json' ? undefined : codec.columnOf(def);
  const ref = sql.ref(`v.${column ?? 'v_text'}`);
  let walk = db
    .selectFrom('profile_values as v')
    .select(['v.profile_id', `v.${column ?? 'v_text'} as at`])
    .where('v.workspace_id', '=', workspaceId)
    .where('v.property_id', '=', def.id)
    .where('v.position', '=', 0);
  if (column === undefined) {
    walk = walk.where('v.v_text', 'is', null);
    if (after) walk = walk.where('v.profile_id', '>', after[1]);
    walk = walk.orderBy('v.profile_id');
  } else {
    if (after) walk = walk.where(sql<SqlBool>`(${ref}, ${sql.ref('v.profile_id')}) > (${after[0]}, ${after[1]})`);
    walk = walk.orderBy(`v.${column}`).orderBy('v.profile_id');
  }
  const found = await walk.limit(limit).execute();
  const last = found[found.length - 1];
  const next: ValueCursor | undefined = last && [last.at as string | number | null, last.profile_id];
  const fromIndex = (at: unknown): { value: unknown } | undefined => {
    if (def.pii || def.multi_valued || column === undefined) return undefined;
    if (column === 'v_num') return { value: at };
    if (typeof at !== 'string' || at.length >= INDEXED_CHARS) return undefined;
    return { value: def.data_type === 'boolean' ? at === 'true' : at };
  };
  const read = found.map((f) => ({ profile_id: f.profile_id, known: fromIndex(f.at) }));
  const rest = read.filter((r) => r.known === undefined).map((r) => r.profile_id);
  const state = rest.length === 0 ? new Map() : await loadState(db, workspaceId, rest, new Map([[def.id, def]]), codec, def.id);
  const itemised = def.multi_valued && def.data_type !== 'json';
  const values = read.flatMap((r) => {
    if (r.known) return [{ profile_id: r.profile_id, value: r.known.value, items: 1 }];
    const stored = state.get(r.profile_id)?.get(def.id);
    return stored ? [{ profile_id: r.profile_id, value: stored.value, items: itemised ? (stored.value as unknown[]).length : 1 }] : [];
  });
  return { values, next };
}

/** A stored value as a change reads it: its profile, its value and how many rows (items) it has. */
export interface HeldValue {
  profile_id: string;
  value: unknown;
  items: number;
}
