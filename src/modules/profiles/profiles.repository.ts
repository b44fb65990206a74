// All SQL about profiles: rows, values, identity keys and aliases. `db`/`trx` first, the
// workspace second, in every function.
import { sql, type Expression, type Kysely, type RawBuilder, type SqlBool, type Transaction } from 'kysely';
import type { Database, ProfileValuesTable } from '../../db/schema.ts';

type Conn = Kysely<Database> | Transaction<Database>;

export interface ProfileRow {
  id: string;
  created_at: string;
  updated_at: string;
}

export type ValueRow = Omit<ProfileValuesTable, 'workspace_id'>;

/** The profile an id names: itself, or the profile it was merged into. */
export async function findProfile(db: Conn, workspaceId: number, id: string): Promise<ProfileRow | undefined> {
  const direct = await db.selectFrom('profiles').select(['id', 'created_at', 'updated_at']).where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
  if (direct) return direct;
  const alias = await db.selectFrom('profile_aliases').select('profile_id').where('workspace_id', '=', workspaceId).where('alias', '=', id).executeTakeFirst();
  if (!alias) return undefined;
  return db.selectFrom('profiles').select(['id', 'created_at', 'updated_at']).where('workspace_id', '=', workspaceId).where('id', '=', alias.profile_id).executeTakeFirst();
}

export async function findProfiles(db: Conn, workspaceId: number, ids: string[]): Promise<ProfileRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('profiles').select(['id', 'created_at', 'updated_at']).where('workspace_id', '=', workspaceId).where('id', 'in', ids).execute();
}

export async function insertProfile(trx: Transaction<Database>, workspaceId: number, row: ProfileRow): Promise<void> {
  await trx.insertInto('profiles').values({ workspace_id: workspaceId, ...row }).execute();
}

export async function touchProfile(trx: Transaction<Database>, workspaceId: number, id: string, at: string): Promise<void> {
  await trx.updateTable('profiles').set({ updated_at: at }).where('workspace_id', '=', workspaceId).where('id', '=', id).execute();
}

export async function loadValues(db: Conn, workspaceId: number, profileIds: string[]): Promise<ValueRow[]> {
  if (profileIds.length === 0) return [];
  return db
    .selectFrom('profile_values')
    .select(['profile_id', 'property_id', 'position', 'v_text', 'v_num', 'v_json', 'source', 'written_at'])
    .where('workspace_id', '=', workspaceId)
    .where('profile_id', 'in', profileIds)
    .orderBy('profile_id')
    .orderBy('property_id')
    .orderBy('position')
    .execute();
}

/**
 * Clears a profile's values (and identity keys) of the `cleared` properties, then inserts
 * `rows` and `keys`. A key another profile holds raises a unique violation.
 */
export async function replaceValues(
  trx: Transaction<Database>,
  workspaceId: number,
  profileId: string,
  cleared: number[],
  rows: Omit<ValueRow, 'profile_id'>[],
  keys: { property_id: number; value_key: string }[],
): Promise<void> {
  if (cleared.length > 0) {
    for (const table of ['profile_values', 'profile_keys'] as const) {
      await trx.deleteFrom(table).where('workspace_id', '=', workspaceId).where('profile_id', '=', profileId).where('property_id', 'in', cleared).execute();
    }
  }
  await insertValues(trx, workspaceId, rows.map((r) => ({ ...r, profile_id: profileId })));
  await insertKeys(trx, workspaceId, keys.map((k) => ({ ...k, profile_id: profileId })));
}

// Rows per statement: each stays under SQLite's limit of 32,766 bound parameters.
const VALUE_ROWS_PER_INSERT = 3000;
const KEY_ROWS_PER_INSERT = 5000;

export async function insertValues(trx: Transaction<Database>, workspaceId: number, rows: ValueRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += VALUE_ROWS_PER_INSERT) {
    await trx
      .insertInto('profile_values')
      .values(rows.slice(i, i + VALUE_ROWS_PER_INSERT).map((r) => ({ workspace_id: workspaceId, ...r })))
      .execute();
  }
}

export async function insertKeys(trx: Transaction<Database>, workspaceId: number, keys: { profile_id: string; property_id: number; value_key: string }[]): Promise<void> {
  for (let i = 0; i < keys.length; i += KEY_ROWS_PER_INSERT) {
    await trx
      .insertInto('profile_keys')
      .values(keys.slice(i, i + KEY_ROWS_PER_INSERT).map((k) => ({ workspace_id: workspaceId, ...k })))
      .execute();
  }
}

export async function insertProfiles(trx: Transaction<Database>, workspaceId: number, rows: ProfileRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += KEY_ROWS_PER_INSERT) {
    await trx
      .insertInto('profiles')
      .values(rows.slice(i, i + KEY_ROWS_PER_INSERT).map((r) => ({ workspace_id: workspaceId, ...r })))
      .execute();
  }
}

export async function findKeyOwners(db: Conn, workspaceId: number, keys: { property_id: number; value_key: string }[]): Promise<{ property_id: number; value_key: string; profile_id: string }[]> {
  const found: { property_id: number; value_key: string; profile_id: string }[] = [];
  // Grouped by property, so each lookup is one IN list on the primary key.
  const byProperty = new Map<number, string[]>();
  for (const k of keys) byProperty.set(k.property_id, [...(byProperty.get(k.property_id) ?? []), k.value_key]);
  for (const [propertyId, values] of byProperty) {
    for (let i = 0; i < values.length; i += KEY_ROWS_PER_INSERT) {
      found.push(
        ...(await db
          .selectFrom('profile_keys')
          .select(['property_id', 'value_key', 'profile_id'])
          .where('workspace_id', '=', workspaceId)
          .where('property_id', '=', propertyId)
          .where('value_key', 'in', values.slice(i, i + KEY_ROWS_PER_INSERT))
          .execute()),
      );
    }
  }
  return found;
}

/** Erases a profile, its values, keys and the aliases that led to it. */
export async function deleteProfile(trx: Transaction<Database>, workspaceId: number, id: string): Promise<void> {
  for (const table of ['profile_values', 'profile_keys'] as const) {
    await trx.deleteFrom(table).where('workspace_id', '=', workspaceId).where('profile_id', '=', id).execute();
  }
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

/** How many profiles hold a value of this property. */
export async function countHolders(db: Conn, workspaceId: number, propertyId: number): Promise<number> {
  const row = await db
    .selectFrom('profile_values')
    .select(sql<number | string>`count(distinct profile_id)`.as('n'))
    .where('workspace_id', '=', workspaceId)
    .where('property_id', '=', propertyId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export type FilterOp = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'in' | 'contains' | 'prefix' | 'exists';

export interface ValueFilter {
  property_id: number;
  column: 'v_text' | 'v_num';
  op: FilterOp;
  /** Already in the column's stored form; an array for `in`, a boolean for `exists`. */
  value: string | number | boolean | (string | number)[];
  /** The property holds at most one value per profile. */
  single: boolean;
}

export interface SearchFilter extends ValueFilter {
  /** Looked up in the value index, its few matches being the candidates; otherwise checked per profile. */
  drives: boolean;
}

export interface ProfileSort {
  property_id: number;
  column: 'v_text' | 'v_num';
  desc: boolean;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** ne and exists=false keep the profiles that hold no matching value. */
export const excludes = (f: ValueFilter) => f.op === 'ne' || (f.op === 'exists' && f.value === false);

/** The filter's test of one stored value; none for `exists`, which every value passes. */
function valueTest(col: Expression<unknown>, f: ValueFilter): RawBuilder<SqlBool> | undefined {
  const value = f.value as string | number;
  switch (f.op) {
    case 'eq':
    case 'ne':
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

/** Profile ids holding a value the filter matches: a range of the value index. */
function matchingValues(db: Conn, workspaceId: number, f: ValueFilter) {
  const query = db.selectFrom('profile_values as v').where('v.workspace_id', '=', workspaceId).where('v.property_id', '=', f.property_id);
  const test = valueTest(sql.ref(`v.${f.column}`), f);
  return test ? query.where(test) : query;
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
export async function isBroad(db: Conn, workspaceId: number, f: ValueFilter, threshold: number): Promise<boolean> {
  const { n } = await db
    .selectFrom(matchingValues(db, workspaceId, f).select(sql.lit(1).as('one')).limit(threshold).as('m'))
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(n) >= threshold;
}

type Cursor = { value: string | number | null; id: string };
type Hit = { row: ProfileRow; sortValue: string | number | null };

/**
 * Profiles matching every filter, ordered by the sort property's first value (descending
 * reverses the order; profiles without a value come last either way), ties by id, or by id
 * alone. The plan follows the filters:
 * - a filter that drives is an index lookup; its few matches are the candidates, sorted whole;
 * - otherwise profiles are walked in order, by id or along the sort property's value index, and
 *   each checked against the filters; the walk stops as soon as the page is full.
 */
export async function searchProfiles(db: Conn, workspaceId: number, filters: SearchFilter[], sort: ProfileSort | undefined, limit: number, after: Cursor | undefined): Promise<Hit[]> {
  const candidates = () => {
    let query = db.selectFrom('profiles as p').where('p.workspace_id', '=', workspaceId);
    for (const f of filters) {
      if (f.drives && !excludes(f)) query = query.where('p.id', 'in', matchingValues(db, workspaceId, f).select('v.profile_id'));
      else query = query.where((eb) => (excludes(f) ? eb.not(eb.exists(heldBy(db, f, 'p'))) : eb.exists(heldBy(db, f, 'p'))));
    }
    return query;
  };
  const dir = sort?.desc ? 'desc' : 'asc';
  const beyond = sort?.desc ? '<' : '>';

  if (!sort) {
    const rows = await candidates()
      .$if(after !== undefined, (q) => q.where('p.id', '>', after!.id))
      .select(['p.id', 'p.created_at', 'p.updated_at'])
      .orderBy('p.id')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ row, sortValue: null }));
  }

  const col = `s.${sort.column}` as const;
  const pair = sql`(${sql.ref(col)}, ${sql.ref('p.id')})`;
  if (filters.some((f) => f.drives && !excludes(f))) {
    // Few candidates: each joined to its sort value (position 0) and sorted whole.
    const rows = await candidates()
      .leftJoin('profile_values as s', (j) =>
        j.onRef('s.workspace_id', '=', 'p.workspace_id').onRef('s.profile_id', '=', 'p.id').on('s.property_id', '=', sort.property_id).on('s.position', '=', 0),
      )
      .$if(after !== undefined, (q) =>
        q.where((eb) =>
          after!.value === null
            ? eb.and([eb(col, 'is', null), eb('p.id', beyond, after!.id)])
            : eb.or([sql<SqlBool>`${pair} ${sql.raw(beyond)} (${after!.value}, ${after!.id})`, eb(col, 'is', null)]),
        ),
      )
      .select(['p.id', 'p.created_at', 'p.updated_at', `${col} as sort_value`])
      .orderBy(sql`case when ${sql.ref(col)} is null then 1 else 0 end`)
      .orderBy(col, dir)
      .orderBy('p.id', dir)
      .limit(limit)
      .execute();
    return rows.map(({ sort_value, ...row }) => ({ row, sortValue: sort_value as string | number | null }));
  }

  // Many candidates: walk the sort property's value index from the cursor. A filter on the
  // sort property itself, single-valued, narrows the walk's range instead of being checked. The
  // walk reads the value index alone (joined to profiles, PostgreSQL without statistics would
  // read every value and sort them); the page's profile rows are read after it.
  const hits: Hit[] = [];
  if (after?.value !== null) {
    const bounds = filters.filter((f) => f.property_id === sort.property_id && f.single && !excludes(f) && f.op !== 'exists');
    let walk = db
      .selectFrom('profile_values as s')
      .where('s.workspace_id', '=', workspaceId)
      .where('s.property_id', '=', sort.property_id)
      .where('s.position', '=', 0);
    for (const f of filters) {
      if (bounds.includes(f)) walk = walk.where(valueTest(sql.ref(col), f)!);
      else walk = walk.where((eb) => (excludes(f) ? eb.not(eb.exists(heldBy(db, f, 's'))) : eb.exists(heldBy(db, f, 's'))));
    }
    if (after) walk = walk.where(sql<SqlBool>`(${sql.ref(col)}, ${sql.ref('s.profile_id')}) ${sql.raw(beyond)} (${after.value}, ${after.id})`);
    const walked = await walk
      .select(['s.profile_id', `${col} as sort_value`])
      .orderBy(col, dir)
      .orderBy('s.profile_id', dir)
      .limit(limit)
      .execute();
    const rows = new Map((await findProfiles(db, workspaceId, walked.map((w) => w.profile_id))).map((r) => [r.id, r]));
    // A profile erased between the two reads is left out, as if erased just before.
    hits.push(...walked.flatMap((w) => (rows.has(w.profile_id) ? [{ row: rows.get(w.profile_id)!, sortValue: w.sort_value as string | number }] : [])));
    if (walked.length === limit) return hits;
  }
  // Then the profiles without a value, by id.
  const rest = await candidates()
    .where((eb) => eb.not(eb.exists(perProfile(db, sort.property_id, 'p').where('v.position', '=', 0))))
    .$if(after?.value === null, (q) => q.where('p.id', beyond, after!.id))
    .select(['p.id', 'p.created_at', 'p.updated_at'])
    .orderBy('p.id', dir)
    .limit(limit - hits.length)
    .execute();
  return [...hits, ...rest.map((row) => ({ row, sortValue: null }))];
}

/** Removes one property's values from up to `limit` profiles; returns how many profiles. */
export async function purgeValues(trx: Transaction<Database>, workspaceId: number, propertyId: number, limit: number): Promise<number> {
  const holders = await trx
    .selectFrom('profile_values')
    .select('profile_id')
    .distinct()
    .where('workspace_id', '=', workspaceId)
    .where('property_id', '=', propertyId)
    .limit(limit)
    .execute();
  if (holders.length === 0) return 0;
  const ids = holders.map((h) => h.profile_id);
  for (const table of ['profile_values', 'profile_keys'] as const) {
    await trx.deleteFrom(table).where('workspace_id', '=', workspaceId).where('property_id', '=', propertyId).where('profile_id', 'in', ids).execute();
  }
  return ids.length;
}

/** Up to `limit` profiles whose values of a property are stored in the other form (plain or encrypted), with those rows. */
export async function rowsToReencode(trx: Transaction<Database>, workspaceId: number, propertyId: number, toEncrypted: boolean, limit: number): Promise<ValueRow[]> {
  const pattern = 'enc:v1:%';
  const profiles = await trx
    .selectFrom('profile_values')
    .select('profile_id')
    .distinct()
    .where('workspace_id', '=', workspaceId)
    .where('property_id', '=', propertyId)
    .where('v_json', toEncrypted ? 'not like' : 'like', pattern)
    .limit(limit)
    .execute();
  if (profiles.length === 0) return [];
  return trx
    .selectFrom('profile_values')
    .select(['profile_id', 'property_id', 'position', 'v_text', 'v_num', 'v_json', 'source', 'written_at'])
    .where('workspace_id', '=', workspaceId)
    .where('property_id', '=', propertyId)
    .where(
      'profile_id',
      'in',
      profiles.map((p) => p.profile_id),
    )
    .orderBy('profile_id')
    .orderBy('position')
    .execute();
}

/** One stored encrypted value, from any workspace: what a key met at start is tried on. */
export async function sampleEncryptedValue(db: Conn): Promise<string | undefined> {
  const row = await db.selectFrom('profile_values').select('v_json').where('v_json', 'like', 'enc:%').limit(1).executeTakeFirst();
  return row?.v_json;
}
