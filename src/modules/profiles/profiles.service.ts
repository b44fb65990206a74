// Profiles whose values obey their property definitions: writes checked per type, merged per
// merge function, identities resolved and merged, searches on indexed values. Knows nothing of HTTP.
import { sql, type Kysely, type Transaction } from 'kysely';
import { isDeadlock, isUniqueViolation } from '../../db/db-errors.ts';
import type { Database } from '../../db/schema.ts';
import { type Clock, isoNow } from '../../shared/clock.ts';
import { AppError, type ErrorDetail, validationFailed } from '../../shared/errors.ts';
import type { IdGenerator } from '../../shared/ids.ts';
import { decodeCursor, encodeCursor, type Page } from '../../shared/pagination.ts';
import { rowToProperty } from '../properties/properties.repository.ts';
import type { MergeFunction, Property } from '../properties/property.ts';
import type { Source } from '../sources/source.ts';
import { mergeValue, type IncomingValue, type Profile, type StoredValue } from './profile.ts';
import * as repo from './profiles.repository.ts';
import type { FilterOp, ProfileRow, SearchFilter, ValueFilter, ValueRow } from './profiles.repository.ts';
import { checkValue } from './values.ts';
import type { ValueCodec } from './value-codec.ts';

type Conn = Kysely<Database> | Transaction<Database>;

export const MAX_BATCH_RECORDS = 1000;
/** By default, a filter matching this many values is checked per profile rather than looked up. */
const BROAD_FILTER = 5000;
const MASK = '***';

export interface ProfileRecord {
  id?: string;
  properties: Record<string, unknown>;
  source?: string;
  timestamp?: string;
}

export type RecordResult =
  | { index: number; status: 'created' | 'updated' | 'merged'; id: string }
  | { index: number; status: 'rejected'; errors: ErrorDetail[] };

export interface ReadOptions {
  provenance?: boolean;
  /** false: PII values come back as "***". */
  piiReadable: boolean;
}

export interface SearchQuery {
  filters: { property: string; op: FilterOp; value: string }[];
  sort?: { property: string; desc: boolean };
  limit: number;
  cursor?: string;
}

export type ProfileService = ReturnType<typeof createProfileService>;

export function createProfileService({
  db,
  clock,
  ids,
  codec,
  broadFilter = BROAD_FILTER,
}: {
  db: Kysely<Database>;
  clock: Clock;
  ids: Pick<IdGenerator, 'profileId'>;
  codec: ValueCodec;
  broadFilter?: number;
}) {
  async function definitions(conn: Conn, workspaceId: number, by: { names?: string[]; ids?: number[] }): Promise<Property[]> {
    let query = conn.selectFrom('properties').selectAll().where('workspace_id', '=', workspaceId);
    if (by.names) query = query.where('name_key', 'in', by.names.length ? by.names.map((n) => n.toLowerCase()) : ['']);
    if (by.ids) query = query.where('id', 'in', by.ids.length ? by.ids : [-1]);
    return (await query.execute()).map(rowToProperty);
  }

  /** Checks every value of a write against its definition; lists every problem at once. */
  function checkWrite(defs: Property[], values: Record<string, unknown>, prefix: string): { checked: Map<Property, unknown>; problems: ErrorDetail[] } {
    const byName = new Map(defs.map((d) => [d.name.toLowerCase(), d]));
    const checked = new Map<Property, unknown>();
    const problems: ErrorDetail[] = [];
    for (const [name, value] of Object.entries(values)) {
      const field = `${prefix}.${name}`;
      const def = byName.get(name.toLowerCase());
      if (!def) problems.push({ field, problem: 'is not a property of this workspace' });
      else if (def.archived) problems.push({ field, problem: 'is archived' });
      else if (checked.has(def)) problems.push({ field, problem: `names ${def.name} again` });
      else {
        const result = checkValue(def, value);
        if (result.ok) checked.set(def, result.value);
        else problems.push(result.allowed ? { field, problem: result.problem, allowed: result.allowed } : { field, problem: result.problem });
      }
    }
    return { checked, problems };
  }

  function encode(def: Property, value: unknown, meta: { source: string | null; written_at: string }): Omit<ValueRow, 'profile_id' | 'property_id'>[] {
    if (value === null) return [];
    // A multi-valued json value is one JSON array: stored whole.
    const items = def.multi_valued && def.data_type !== 'json' ? (value as unknown[]) : [value];
    return items.map((item, position) => ({ position, ...codec.encodeItem(def, item), ...meta }));
  }

  function decode(def: Property, rows: ValueRow[]): unknown {
    const items = rows.map((r) => codec.decodeItem(def, r.v_json));
    return def.multi_valued && def.data_type !== 'json' ? items : items[0];
  }

  const keyOf = (def: Property, value: unknown) => codec.keyOf(def, value);

  const isKeyed = (def: Property) => def.unique || def.identity.role !== 'none';

  /** Stored values of one profile, by property id. */
  function group(rows: ValueRow[]): Map<number, ValueRow[]> {
    const byProperty = new Map<number, ValueRow[]>();
    for (const r of rows) byProperty.set(r.property_id, [...(byProperty.get(r.property_id) ?? []), r]);
    return byProperty;
  }

  async function present(conn: Conn, workspaceId: number, row: ProfileRow, opts: ReadOptions): Promise<Profile> {
    return (await presentAll(conn, workspaceId, [row], opts))[0];
  }

  /** Profiles as callers see them; a page of them costs two queries, whatever its size. */
  async function presentAll(conn: Conn, workspaceId: number, profileRows: ProfileRow[], opts: ReadOptions): Promise<Profile[]> {
    const rows = await repo.loadValues(conn, workspaceId, profileRows.map((r) => r.id));
    const defs = await definitions(conn, workspaceId, { ids: [...new Set(rows.map((r) => r.property_id))] });
    // Archived properties are hidden from profile reads; names sort the keys.
    const visible = new Map(defs.filter((d) => !d.archived).sort((a, b) => a.name.localeCompare(b.name)).map((d) => [d.id, d]));
    const byProfile = new Map<string, ValueRow[]>();
    for (const r of rows) byProfile.set(r.profile_id, [...(byProfile.get(r.profile_id) ?? []), r]);
    return profileRows.map((row) => {
      const profile: Profile = { id: row.id, properties: {}, identities: {}, created_at: row.created_at, updated_at: row.updated_at };
      if (opts.provenance) profile.provenance = {};
      const byProperty = group(byProfile.get(row.id) ?? []);
      for (const def of visible.values()) {
        const valueRows = byProperty.get(def.id);
        if (!valueRows) continue;
        const value = def.pii && !opts.piiReadable ? MASK : decode(def, valueRows);
        profile.properties[def.name] = value;
        if (def.identity.role !== 'none') profile.identities[def.name] = value;
        if (profile.provenance) profile.provenance[def.name] = { source: valueRows[0].source, updated_at: valueRows[0].written_at };
      }
      return profile;
    });
  }

  async function sourcePriorities(conn: Conn, workspaceId: number): Promise<Map<string, number>> {
    const rows = await conn.selectFrom('sources').select(['name', 'priority']).where('workspace_id', '=', workspaceId).execute();
    return new Map(rows.map((r) => [r.name, r.priority]));
  }

  /**
   * Writes checked values into a profile. `replace` clears every value not given; `merge`
   * combines each with the stored one by its merge function. Identity and unique values are
   * claimed in profile_keys, whose primary key refuses a value another profile holds.
   */
  async function applyValues(
    trx: Transaction<Database>,
    workspaceId: number,
    profileId: string,
    checked: Map<Property, unknown>,
    mode: 'replace' | 'merge',
    meta: {
      source: string | null;
      written_at: string;
      dated: boolean;
      priorities: ReadonlyMap<string, number>;
      /** A source mapping's own merge function, by property id. */
      mergeFunctions?: ReadonlyMap<number, MergeFunction>;
    },
    /** A profile created in this transaction holds nothing yet: no need to read or clear. */
    isNew = false,
  ): Promise<void> {
    const stored = isNew ? new Map<number, ValueRow[]>() : group(await repo.loadValues(trx, workspaceId, [profileId]));
    // Every change of the record is gathered, then written with one delete and one insert each
    // for values and keys: a record costs a handful of statements, not a few per property.
    const cleared: number[] = [];
    const rows: Omit<ValueRow, 'profile_id'>[] = [];
    const keys: { property_id: number; value_key: string }[] = [];
    const problems: ErrorDetail[] = [];
    if (mode === 'replace') {
      const kept = new Set([...checked.keys()].map((d) => d.id));
      const dropped = [...stored.keys()].filter((id) => !kept.has(id));
      // A replace clears what reads show: archived properties' values, hidden, stay for a restore.
      const archived = new Set(dropped.length > 0 ? (await definitions(trx, workspaceId, { ids: dropped })).filter((d) => d.archived).map((d) => d.id) : []);
      cleared.push(...dropped.filter((id) => !archived.has(id)));
    }
    for (const [def, value] of checked) {
      const storedRows = stored.get(def.id);
      const before: StoredValue | undefined = storedRows && { value: decode(def, storedRows), source: storedRows[0].source, written_at: storedRows[0].written_at };
      const incoming: IncomingValue = { value, source: meta.source, written_at: meta.written_at, dated: meta.dated };
      const fn = meta.mergeFunctions?.get(def.id) ?? def.merge_function;
      const next = mode === 'replace' ? value : mergeValue(fn, before, incoming, meta.priorities);
      if (next === undefined) continue;
      // A sum or a union can leave what each value was checked against (its range, the largest
      // safe integer, the number of items).
      if (mode === 'merge' && (fn === 'sum' || fn === 'append')) {
        const again = checkValue(def, next);
        if (!again.ok) problems.push({ field: `properties.${def.name}`, problem: `combined with the stored value by ${fn}, ${again.problem}` });
      }
      if (storedRows) cleared.push(def.id);
      rows.push(...encode(def, next, { source: meta.source, written_at: meta.written_at }).map((r) => ({ ...r, property_id: def.id })));
      if (isKeyed(def) && next !== null) keys.push({ property_id: def.id, value_key: keyOf(def, next) });
    }
    if (problems.length > 0) throw validationFailed(problems);
    await repo.replaceValues(trx, workspaceId, profileId, cleared, rows, keys);
  }

  /** Turns a unique violation on profile_keys into a clear 409 naming the values. */
  async function claimFailed(conn: Conn, workspaceId: number, own: string[], checked: Map<Property, unknown>): Promise<AppError> {
    const keyed = [...checked].filter(([def, v]) => isKeyed(def) && v !== null);
    const owners = await repo.findKeyOwners(conn, workspaceId, keyed.map(([def, v]) => ({ property_id: def.id, value_key: keyOf(def, v) })));
    const details = owners
      .filter((o) => !own.includes(o.profile_id))
      .map((o) => {
        const def = keyed.find(([d]) => d.id === o.property_id)![0];
        return { field: `properties.${def.name}`, problem: `is already held by profile ${o.profile_id}` };
      });
    return new AppError('CONFLICT', 'Some values are unique and another profile holds them.', details);
  }

  async function mustFind(conn: Conn, workspaceId: number, id: string): Promise<ProfileRow> {
    const row = await repo.findProfile(conn, workspaceId, id);
    if (!row) throw new AppError('NOT_FOUND', `Profile "${id}" not found.`);
    return row;
  }

  /** One write of one profile by id, in its own transaction. */
  async function writeOne(
    workspaceId: number,
    id: string,
    values: Record<string, unknown>,
    mode: 'replace' | 'merge',
    opts: { create: 'allow' | 'forbid' | 'require' } & ReadOptions,
  ): Promise<{ profile: Profile; created: boolean }> {
    const defs = await definitions(db, workspaceId, { names: Object.keys(values) });
    const { checked, problems } = checkWrite(defs, values, 'properties');
    if (problems.length > 0) throw validationFailed(problems);
    const at = isoNow(clock);
    const attempt = () =>
      db.transaction().execute(async (trx) => {
        let row = await repo.findProfile(trx, workspaceId, id);
        if (row && opts.create === 'require') throw new AppError('ALREADY_EXISTS', `Profile "${id}" already exists.`, [{ field: 'id', problem: 'is taken' }]);
        if (!row && opts.create === 'forbid') throw new AppError('NOT_FOUND', `Profile "${id}" not found.`);
        const created = !row;
        if (!row) {
          row = { id, created_at: at, updated_at: at };
          await repo.insertProfile(trx, workspaceId, row);
        } else {
          await repo.touchProfile(trx, workspaceId, row.id, at);
        }
        await applyValues(trx, workspaceId, row.id, checked, mode, { source: null, written_at: at, dated: false, priorities: new Map() }, created);
        return { profile: await present(trx, workspaceId, { ...row, updated_at: at }, opts), created };
      });
    try {
      return await attempt();
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const existing = await repo.findProfile(db, workspaceId, id);
      if (existing?.id === id && opts.create === 'require') throw new AppError('ALREADY_EXISTS', `Profile "${id}" already exists.`, [{ field: 'id', problem: 'is taken' }]);
      // A concurrent PUT created this id first: this one now replaces it.
      if (existing?.id === id && opts.create === 'allow') {
        try {
          return await attempt();
        } catch (again) {
          if (!isUniqueViolation(again)) throw again;
        }
      }
      throw await claimFailed(db, workspaceId, [existing?.id ?? id], checked);
    }
  }

  /**
   * The profiles a record's identities point to: every profile its primary identities match;
   * when none matches, the profile of the first secondary identity (by priority) that matches.
   */
  async function resolveIdentity(conn: Conn, workspaceId: number, checked: Map<Property, unknown>): Promise<string[]> {
    const identities = [...checked]
      .filter(([def, v]) => def.identity.role !== 'none' && v !== null)
      .sort(([a], [b]) => (a.identity.role === b.identity.role ? (a.identity.priority ?? 1) - (b.identity.priority ?? 1) : a.identity.role === 'primary' ? -1 : 1));
    if (identities.length === 0) return [];
    const owners = await repo.findKeyOwners(conn, workspaceId, identities.map(([def, v]) => ({ property_id: def.id, value_key: keyOf(def, v) })));
    const ownerOf = (def: Property, v: unknown) => owners.find((o) => o.property_id === def.id && o.value_key === keyOf(def, v))?.profile_id;
    const primaries = [...new Set(identities.filter(([d]) => d.identity.role === 'primary').map(([d, v]) => ownerOf(d, v)).filter((id) => id !== undefined))];
    if (primaries.length > 0) return primaries;
    for (const [def, v] of identities) {
      const owner = ownerOf(def, v);
      if (owner !== undefined) return [owner];
    }
    return [];
  }

  /** Folds `others` into `survivor`: values combined by each property's merge function. */
  async function mergeProfiles(trx: Transaction<Database>, workspaceId: number, survivor: string, others: string[], priorities: ReadonlyMap<string, number>): Promise<void> {
    for (const other of others) {
      const rows = group(await repo.loadValues(trx, workspaceId, [other]));
      const defs = await definitions(trx, workspaceId, { ids: [...rows.keys()] });
      await repo.mergeInto(trx, workspaceId, other, survivor);
      for (const def of defs) {
        const valueRows = rows.get(def.id)!;
        const value = decode(def, valueRows);
        // Each value keeps its own provenance, so timestamps and priorities still decide.
        await applyValues(trx, workspaceId, survivor, new Map([[def, value]]), 'merge', {
          source: valueRows[0].source,
          written_at: valueRows[0].written_at,
          dated: true,
          priorities,
        });
      }
    }
  }

  async function upsertRecord(
    trx: Transaction<Database>,
    workspaceId: number,
    record: ProfileRecord,
    checked: Map<Property, unknown>,
    priorities: ReadonlyMap<string, number>,
    mergeFunctions?: ReadonlyMap<number, MergeFunction>,
  ): Promise<{ status: 'created' | 'updated' | 'merged'; id: string }> {
    const at = isoNow(clock);
    const meta = {
      source: record.source ?? null,
      written_at: record.timestamp ? new Date(record.timestamp).toISOString() : at,
      dated: record.timestamp !== undefined,
      priorities,
      mergeFunctions,
    };
    let status: 'created' | 'updated' | 'merged' = 'updated';
    let id: string;
    if (record.id !== undefined) {
      const row = await repo.findProfile(trx, workspaceId, record.id);
      id = row?.id ?? record.id;
      if (!row) {
        await repo.insertProfile(trx, workspaceId, { id, created_at: at, updated_at: at });
        status = 'created';
      }
    } else {
      const matches = await repo.findProfiles(trx, workspaceId, await resolveIdentity(trx, workspaceId, checked));
      if (matches.length === 0) {
        id = ids.profileId();
        await repo.insertProfile(trx, workspaceId, { id, created_at: at, updated_at: at });
        status = 'created';
      } else {
        // The oldest profile survives; ties go to the smaller id.
        const [survivor, ...others] = matches.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
        id = survivor.id;
        if (others.length > 0) {
          await mergeProfiles(trx, workspaceId, id, others.map((o) => o.id), priorities);
          status = 'merged';
        }
      }
    }
    if (status !== 'created') await repo.touchProfile(trx, workspaceId, id, at);
    await applyValues(trx, workspaceId, id, checked, 'merge', meta, status === 'created');
    return { status, id };
  }

  type ValidRecord = { index: number; record: ProfileRecord; checked: Map<Property, unknown> };

  /**
   * Records without an id whose identity and unique values no profile holds and no other
   * record of the batch repeats: each of them creates a profile, whatever order they are in.
   */
  async function freshRecords(trx: Transaction<Database>, workspaceId: number, valid: ValidRecord[]): Promise<ValidRecord[]> {
    const candidates = valid.filter(({ record }) => record.id === undefined);
    const keysOf = ({ checked }: ValidRecord) =>
      [...checked].filter(([def, v]) => isKeyed(def) && v !== null).map(([def, v]) => ({ property_id: def.id, value_key: keyOf(def, v) }));
    const uses = new Map<string, number>();
    for (const r of valid) for (const k of keysOf(r)) uses.set(`${k.property_id}:${k.value_key}`, (uses.get(`${k.property_id}:${k.value_key}`) ?? 0) + 1);
    const owned = new Set(
      (await repo.findKeyOwners(trx, workspaceId, candidates.flatMap(keysOf))).map((o) => `${o.property_id}:${o.value_key}`),
    );
    return candidates.filter((r) => keysOf(r).every((k) => uses.get(`${k.property_id}:${k.value_key}`) === 1 && !owned.has(`${k.property_id}:${k.value_key}`)));
  }

  /** Creates one profile per record, all in a few statements; returns the new ids in order. */
  async function createAll(trx: Transaction<Database>, workspaceId: number, fresh: ValidRecord[]): Promise<string[]> {
    const at = isoNow(clock);
    const profileIds = fresh.map(() => ids.profileId());
    const values: ValueRow[] = [];
    const keys: { profile_id: string; property_id: number; value_key: string }[] = [];
    fresh.forEach(({ record, checked }, i) => {
      const meta = { source: record.source ?? null, written_at: record.timestamp ? new Date(record.timestamp).toISOString() : at };
      for (const [def, value] of checked) {
        if (value === null) continue;
        values.push(...encode(def, value, meta).map((r) => ({ ...r, profile_id: profileIds[i], property_id: def.id })));
        if (isKeyed(def)) keys.push({ profile_id: profileIds[i], property_id: def.id, value_key: keyOf(def, value) });
      }
    });
    await repo.insertProfiles(trx, workspaceId, profileIds.map((id) => ({ id, created_at: at, updated_at: at })));
    await repo.insertValues(trx, workspaceId, values);
    await repo.insertKeys(trx, workspaceId, keys);
    return profileIds;
  }

  /**
   * Upserts records in input order. A bad record is rejected with its reasons and never sinks
   * the rest; each record is written whole or not at all (a savepoint each), and the batch is
   * committed before it is answered.
   */
  async function upsertAll(
    workspaceId: number,
    items: { record: ProfileRecord; mergeFunctions?: ReadonlyMap<number, MergeFunction>; rejected?: ErrorDetail[] }[],
  ): Promise<RecordResult[]> {
    const names = [...new Set(items.flatMap(({ record }) => Object.keys(record.properties)))];
    const [defs, priorities] = await Promise.all([definitions(db, workspaceId, { names }), sourcePriorities(db, workspaceId)]);
    const results: RecordResult[] = [];
    const valid: { index: number; record: ProfileRecord; checked: Map<Property, unknown>; mergeFunctions?: ReadonlyMap<number, MergeFunction> }[] = [];
    items.forEach(({ record, mergeFunctions, rejected = [] }, index) => {
      const { checked, problems } = checkWrite(defs, record.properties, 'properties');
      problems.unshift(...rejected);
      if (record.source !== undefined && !priorities.has(record.source)) problems.push({ field: 'source', problem: `no data source "${record.source}" in this workspace` });
      if (problems.length > 0) results[index] = { index, status: 'rejected', errors: problems };
      else valid.push({ index, record, checked, mergeFunctions });
    });

    // Two batches claiming the same new identities in other orders can deadlock in PostgreSQL,
    // which then aborts one of them: that one runs again, and sees the other's profiles.
    for (let attempt = 1; ; attempt++) {
      try {
        await writeBatch(workspaceId, valid, priorities, results);
        return results;
      } catch (error) {
        if (!isDeadlock(error) || attempt >= 3) throw error;
        for (const { index } of valid) delete results[index];
      }
    }
  }

  async function writeBatch(
    workspaceId: number,
    valid: (ValidRecord & { mergeFunctions?: ReadonlyMap<number, MergeFunction> })[],
    priorities: ReadonlyMap<string, number>,
    results: RecordResult[],
  ): Promise<void> {
    await db.transaction().execute(async (trx) => {
      // Records that can only create new profiles are written together, in a few statements.
      const fresh = await freshRecords(trx, workspaceId, valid);
      if (fresh.length > 0) {
        await sql`savepoint fresh`.execute(trx);
        try {
          const created = await createAll(trx, workspaceId, fresh);
          await sql`release savepoint fresh`.execute(trx);
          fresh.forEach(({ index }, i) => (results[index] = { index, status: 'created', id: created[i] }));
        } catch (error) {
          // Another writer claimed one of these identities meanwhile: take them one by one.
          await sql`rollback to savepoint fresh`.execute(trx);
          await sql`release savepoint fresh`.execute(trx);
          if (!isUniqueViolation(error)) throw error;
        }
      }
      for (const { index, record, checked, mergeFunctions } of valid) {
        if (results[index] !== undefined) continue;
        // A unique violation means another writer claimed an identity first: resolve again.
        for (let attempt = 0; ; attempt++) {
          await sql`savepoint record`.execute(trx);
          try {
            const done = await upsertRecord(trx, workspaceId, record, checked, priorities, mergeFunctions);
            await sql`release savepoint record`.execute(trx);
            results[index] = { index, ...done };
            break;
          } catch (error) {
            await sql`rollback to savepoint record`.execute(trx);
            await sql`release savepoint record`.execute(trx);
            if (error instanceof AppError && error.code === 'VALIDATION_FAILED') {
              results[index] = { index, status: 'rejected', errors: error.details };
              break;
            }
            if (!isUniqueViolation(error)) throw error;
            // A value held by the profile the record now resolves to was claimed by a concurrent
            // writer: resolved again, the record updates that profile. A value held by any other
            // profile is a conflict no retry mends.
            const own = record.id !== undefined ? [(await repo.findProfile(trx, workspaceId, record.id))?.id ?? record.id] : await resolveIdentity(trx, workspaceId, checked);
            const conflict = await claimFailed(trx, workspaceId, own, checked);
            if (conflict.details.length > 0 || attempt >= 2) {
              results[index] = { index, status: 'rejected', errors: conflict.details.length ? conflict.details : [{ field: 'properties', problem: conflict.message }] };
              break;
            }
          }
        }
      }
    });
  }

  return {
    /**
     * One bounded step of re-storing a property's values after its `pii` flag changed: up to
     * `limit` profiles' values encrypted (or decrypted) and their identity keys re-derived.
     * Returns how many profiles it did. Reads work throughout: each value says how it is stored.
     */
    async reencodeStep(trx: Transaction<Database>, workspaceId: number, propertyId: number, limit: number): Promise<number> {
      const [def] = await definitions(trx, workspaceId, { ids: [propertyId] });
      if (!def) return 0; // purged meanwhile: its purge job removes the values
      const rows = await repo.rowsToReencode(trx, workspaceId, propertyId, def.pii, limit);
      const byProfile = new Map<string, ValueRow[]>();
      for (const r of rows) byProfile.set(r.profile_id, [...(byProfile.get(r.profile_id) ?? []), r]);
      for (const [profileId, valueRows] of byProfile) {
        const value = decode(def, valueRows);
        const rows = encode(def, value, { source: valueRows[0].source, written_at: valueRows[0].written_at }).map((r) => ({ ...r, property_id: propertyId }));
        await repo.replaceValues(trx, workspaceId, profileId, [propertyId], rows, isKeyed(def) ? [{ property_id: propertyId, value_key: keyOf(def, value) }] : []);
      }
      return byProfile.size;
    },

    async get(workspaceId: number, id: string, opts: ReadOptions): Promise<Profile> {
      return present(db, workspaceId, await mustFind(db, workspaceId, id), opts);
    },

    /** POST: a new profile; the id is generated when absent. */
    async create(workspaceId: number, input: { id?: string; properties: Record<string, unknown> }, opts: ReadOptions): Promise<Profile> {
      return (await writeOne(workspaceId, input.id ?? ids.profileId(), input.properties, 'replace', { ...opts, create: 'require' })).profile;
    },

    /** PUT: creates the profile or replaces every value it holds. */
    replace(workspaceId: number, id: string, values: Record<string, unknown>, opts: ReadOptions) {
      return writeOne(workspaceId, id, values, 'replace', { ...opts, create: 'allow' });
    },

    /** PATCH: each value merged with the stored one by its property's merge function. */
    async merge(workspaceId: number, id: string, values: Record<string, unknown>, opts: ReadOptions): Promise<Profile> {
      const row = await mustFind(db, workspaceId, id);
      return (await writeOne(workspaceId, row.id, values, 'merge', { ...opts, create: 'forbid' })).profile;
    },

    /** Erases the profile, its identity keys and its aliases. */
    async remove(workspaceId: number, id: string): Promise<void> {
      const row = await mustFind(db, workspaceId, id);
      await db.transaction().execute((trx) => repo.deleteProfile(trx, workspaceId, row.id));
    },

    /** Upserts up to MAX_BATCH_RECORDS records; see upsertAll. */
    batch(workspaceId: number, records: ProfileRecord[]): Promise<RecordResult[]> {
      return upsertAll(workspaceId, records.map((record) => ({ record })));
    },

    /**
     * Ingests raw JSON records through a source's mappings: each property's value is read at
     * its input path, else at its alternate paths in order; a mandatory one missing rejects
     * the record. The source's priority and its mappings' merge functions apply.
     */
    async ingest(workspaceId: number, source: Source, raws: unknown[]): Promise<RecordResult[]> {
      const defs = await definitions(db, workspaceId, { names: source.mappings.map((m) => m.property) });
      const byName = new Map(defs.map((d) => [d.name, d]));
      const mergeFunctions = new Map(
        source.mappings.filter((m) => m.merge_function !== null && byName.has(m.property)).map((m) => [byName.get(m.property)!.id, m.merge_function!]),
      );
      const prepared = raws.map((raw) => {
        const properties: Record<string, unknown> = {};
        const missing: ErrorDetail[] = [];
        for (const m of source.mappings) {
          const value = [m.input_path, ...m.alternate_paths].map((path) => readPath(raw, path)).find((v) => v !== undefined);
          if (value !== undefined) properties[m.property] = value;
          else if (m.mandatory) missing.push({ field: m.input_path, problem: `is required by the mapping to ${m.property} (also tried: ${m.alternate_paths.join(', ') || 'no alternate path'})` });
        }
        return { record: { properties, source: source.name }, mergeFunctions, rejected: missing };
      });
      return upsertAll(workspaceId, prepared);
    },

    /** Filtered, sorted, cursor-paged profiles; every filter is typed by its property. */
    async search(workspaceId: number, query: SearchQuery, opts: ReadOptions): Promise<Page<Profile>> {
      const names = [...query.filters.map((f) => f.property), ...(query.sort ? [query.sort.property] : [])];
      const defs = await definitions(db, workspaceId, { names });
      const byName = new Map(defs.filter((d) => !d.archived).map((d) => [d.name.toLowerCase(), d]));
      const problems: ErrorDetail[] = [];
      const filters: ValueFilter[] = [];
      for (const f of query.filters) {
        const field = `filter[${f.property}][${f.op}]`;
        const def = byName.get(f.property.toLowerCase());
        if (!def) {
          problems.push({ field, problem: 'names no property of this workspace' });
          continue;
        }
        if (def.pii && !opts.piiReadable && f.op !== 'exists') {
          throw new AppError('FORBIDDEN', `Filtering on the values of PII property "${def.name}" needs the pii:read scope.`);
        }
        const typed = codec.filterValue(def, f.op, f.value);
        if ('problem' in typed) problems.push({ field, problem: typed.problem, ...(typed.allowed ? { allowed: typed.allowed } : {}) });
        else filters.push({ property_id: def.id, column: codec.columnOf(def), op: f.op, value: typed.value, single: !def.multi_valued || def.data_type === 'json' });
      }
      const sortDef = query.sort && byName.get(query.sort.property.toLowerCase());
      if (query.sort && !sortDef) problems.push({ field: 'sort', problem: `names no property of this workspace: ${query.sort.property}` });
      else if (sortDef && (sortDef.data_type === 'json' || sortDef.pii)) problems.push({ field: 'sort', problem: `${sortDef.name} cannot be sorted by` });
      if (problems.length > 0) throw validationFailed(problems);

      const after = decodeCursor(query.cursor, 2) as [string | number | null, string] | undefined;
      const sort = sortDef && query.sort ? { property_id: sortDef.id, column: codec.columnOf(sortDef), desc: query.sort.desc } : undefined;
      // The first filter found to match few values drives the search; the rest are checked per
      // candidate. Without one, profiles are walked in order and every filter checked per profile.
      const planned: SearchFilter[] = filters.map((f) => ({ ...f, drives: false }));
      for (const f of planned) {
        if (repo.excludes(f)) continue;
        if (!(await repo.isBroad(db, workspaceId, f, broadFilter))) {
          f.drives = true;
          break;
        }
      }
      const rows = await repo.searchProfiles(db, workspaceId, planned, sort, query.limit + 1, after && { value: after[0], id: after[1] });
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return {
        data: await presentAll(db, workspaceId, page.map(({ row }) => row), opts),
        next_cursor: rows.length > query.limit && last ? encodeCursor([last.sortValue, last.row.id]) : null,
      };
    },
  };
}

/** The value at a dot path such as `properties.customer_id` or `ids[0].value`; undefined when absent. */
export function readPath(record: unknown, path: string): unknown {
  let current: unknown = record;
  for (const part of path.split('.')) {
    const [, key, indexes] = /^([^[]+)((?:\[\d+\])*)$/.exec(part) ?? [];
    if (key === undefined || current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
    for (const index of indexes.match(/\d+/g) ?? []) {
      if (!Array.isArray(current)) return undefined;
      current = current[Number(index)];
    }
  }
  return current;
}
