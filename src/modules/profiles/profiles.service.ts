// Profiles whose values obey their property definitions. This service orchestrates: values are
// checked and turned into change sets by change-set.ts (pure), stored and searched by the
// repository; definitions come from the properties service's cached dictionary. Knows nothing
// of HTTP.
import type { Kysely, Transaction } from 'kysely';
import { isDeadlock, isUniqueViolation } from '../../db/db-errors.ts';
import type { Database } from '../../db/schema.ts';
import { type Clock, isoNow } from '../../shared/clock.ts';
import { AppError, type ErrorDetail, validationFailed } from '../../shared/errors.ts';
import type { IdGenerator } from '../../shared/ids.ts';
import { decodeCursor, encodeCursor, type Page } from '../../shared/pagination.ts';
import type { JobService } from '../jobs/jobs.service.ts';
import type { PropertyService } from '../properties/properties.service.ts';
import type { MergeFunction, Property } from '../properties/property.ts';
import { changeSet, checkWrite, claimsOf, freshRecords, identityOrder, isKeyed, knownRecords, matchedProfiles, stateAfter, survivorFirst, type Checked, type Incoming, type StoredState } from './change-set.ts';
import { dictionaryView, MASK, profileOf, type DictionaryView, type Profile } from './profile.ts';
import { typeSearch, type ProfileSort, type SearchQuery } from './profile-search.ts';
import * as repo from './profiles.repository.ts';
import type { HeldValue, ProfileRow, ValueCursor } from './profiles.repository.ts';
import type { ValueCodec } from './value-codec.ts';
import { checkValue, toInstant } from './values.ts';

type Conn = Kysely<Database> | Transaction<Database>;

/**
 * A search cursor: the last profile's value at every sort key, then its id. One made for
 * another sort, or altered, is refused here rather than compared with values of another type.
 */
function cursorOf(cursor: string | undefined, sort: readonly ProfileSort[]): repo.Cursor | undefined {
  const key = decodeCursor(cursor, sort.length + 1);
  if (key === undefined) return undefined;
  const id = key[sort.length];
  const fits = sort.every((k, i) => key[i] === null || (k.column === 'v_num' ? Number.isFinite(key[i]) : typeof key[i] === 'string'));
  if (typeof id !== 'string' || !fits) throw validationFailed([{ field: 'cursor', problem: 'is not a cursor this list returned' }]);
  return { values: key.slice(0, sort.length), id };
}

/** How long after a definition change lands a write checked against the older definition is refused. */
const LANDED_RECENTLY_MS = 60_000;

/**
 * A definition change as a write sees it: running, or landed at a version. `keyedOnly`: a
 * `reencode_property` job, which holds back the writes of a unique or identity property only.
 */
type ChangeState = { job: string; running: boolean; landedVersion: number; keyedOnly: boolean };

/** By default, a filter matching this many values is checked per profile rather than looked up. */
const BROAD_FILTER = 5000;

/** A record as a batch carries it: values by property name. */
export interface ProfileRecord {
  id?: string;
  properties: Record<string, unknown>;
  /** A data source's name: its priority applies. */
  source?: string;
  /** When the values were true (RFC 3339); older values do not replace newer ones under update. */
  timestamp?: string;
}

/** A record for writeRecords: a batch record, plus what a caller such as source ingestion adds. */
export interface WriteRecord extends ProfileRecord {
  /** Merge functions that replace the properties' own for this record, by property name (a source mapping's). */
  mergeFunctions?: Readonly<Record<string, MergeFunction>>;
  /** Problems the caller found already (a mandatory mapping missing): the record is rejected, these first. */
  problems?: ErrorDetail[];
}

export interface WriteOptions {
  /** upsert (default): match or create; create: a record that matches a profile is rejected; update: one that matches none is. */
  mode?: 'upsert' | 'create' | 'update';
  /** Check and resolve every record as a real write would, then roll everything back. */
  dryRun?: boolean;
}

/** `unchanged`: the record matched one profile and changed none of its values. */
export type WriteResult =
  | { index: number; status: 'created' | 'updated' | 'merged' | 'unchanged'; id: string }
  | { index: number; status: 'rejected'; errors: ErrorDetail[] };

/** A result as the native batch and source ingestion answer it (no `unchanged`: those are `updated`). */
export type RecordResult =
  | { index: number; status: 'created' | 'updated' | 'merged'; id: string }
  | { index: number; status: 'rejected'; errors: ErrorDetail[] };

/** A profile as a snapshot reads it: its id and the chosen properties' values, in their order. */
export interface SnapshotProfile {
  id: string;
  values: unknown[];
}

export interface ReadOptions {
  provenance?: boolean;
  /** false: PII values come back as "***". */
  piiReadable: boolean;
}

/** Source priorities by name (1 the highest), read in the caller's connection. */
export type SourcePriorities = (conn: Conn, workspaceId: number) => Promise<ReadonlyMap<string, number>>;

type Prepared = { index: number; record: WriteRecord; checked: Checked; problems: ErrorDetail[] };
/** The profile holding each of a record's claims (claimsOf order; undefined: none), by the record's index. */
type ClaimOwners = ReadonlyMap<number, readonly (string | undefined)[]>;

/** An identity value named by its property's name, as a caller outside the module gives it. */
export interface IdentityValue {
  property: string;
  value: unknown;
}

/** The value as the property checks it, or undefined when it names no live identity property or breaks its rules. */
function identityClaim(v: DictionaryView, { property, value }: IdentityValue): { def: Property; value: unknown } | undefined {
  const def = v.live.get(property.toLowerCase());
  if (!def || def.name !== property || def.identity.role === 'none') return undefined;
  const checked = checkValue(def, value);
  return checked.ok && checked.value !== null ? { def, value: checked.value } : undefined;
}
type Written = { status: 'created' | 'updated' | 'merged' | 'unchanged'; id: string };

export type ProfileService = ReturnType<typeof createProfileService>;
export type { HeldValue, ValueCursor };

/**
 * One stored encrypted value, from any workspace: what the key met at start is tried on; with
 * `notUnder` (the current key's prefix), one still under another key (a rotation not finished).
 */
export function sampleEncryptedValue(db: Kysely<Database>, notUnder?: string): Promise<string | undefined> {
  return repo.sampleEncryptedValue(db, notUnder);
}

// A factory, as every service here (style.md, rule 5): its short functions share the
// dependencies given once; the closure is long only because it holds them all.
export function createProfileService({
  db,
  clock,
  ids,
  codec,
  properties,
  sourcePriorities,
  jobs,
  broadFilter = BROAD_FILTER,
}: {
  db: Kysely<Database>;
  clock: Clock;
  ids: Pick<IdGenerator, 'profileId'>;
  codec: ValueCodec;
  properties: Pick<PropertyService, 'dictionary'>;
  sourcePriorities: SourcePriorities;
  jobs: Pick<JobService, 'registerStep' | 'enqueue' | 'hasActive' | 'active' | 'gate' | 'gatePass'>;
  broadFilter?: number;
}) {
  // The dictionary is the same array while it is unchanged, so its lookups are built once.
  const views = new WeakMap<readonly Property[], DictionaryView>();
  async function view(conn: Conn, workspaceId: number): Promise<DictionaryView> {
    const defs = await properties.dictionary(workspaceId, conn);
    let found = views.get(defs);
    if (!found) views.set(defs, (found = dictionaryView(defs)));
    return found;
  }

  async function stateOf(conn: Conn, workspaceId: number, profileId: string, v: DictionaryView): Promise<StoredState> {
    return (await repo.loadState(conn, workspaceId, [profileId], v.byId, codec)).get(profileId) ?? new Map();
  }

  /** Profiles as callers see them; a page of them costs one query, whatever its size. */
  async function present(conn: Conn, workspaceId: number, rows: ProfileRow[], opts: ReadOptions, v?: DictionaryView): Promise<Profile[]> {
    const dictionary = v ?? (await view(conn, workspaceId));
    const state = await repo.loadState(conn, workspaceId, rows.map((r) => r.id), dictionary.byId, codec);
    return rows.map((row) => profileOf(row, state.get(row.id) ?? new Map(), dictionary.visible, opts));
  }

  async function mustFind(conn: Conn, workspaceId: number, id: string): Promise<ProfileRow> {
    const row = await repo.findProfile(conn, workspaceId, id);
    if (!row) throw new AppError('NOT_FOUND', `Profile "${id}" not found.`);
    return row;
  }

  /** Turns a unique violation on a claimed key into a clear 409 naming the values and their holders. */
  async function claimFailed(conn: Conn, workspaceId: number, own: string[], checked: Checked): Promise<AppError> {
    const claims = claimsOf(checked);
    const owners = await repo.keyOwners(conn, workspaceId, claims, codec);
    const details = claims.flatMap(({ def }, i) => {
      const owner = owners[i];
      return owner !== undefined && !own.includes(owner) ? [{ field: `properties.${def.name}`, problem: `is already held by profile ${owner}` }] : [];
    });
    return new AppError('CONFLICT', 'Some values are unique and another profile holds them.', details);
  }

  /** The profiles a record's identities point to (change-set.ts's matchedProfiles). */
  async function resolveIdentity(conn: Conn, workspaceId: number, checked: Checked): Promise<string[]> {
    const identities = identityOrder(checked);
    if (identities.length === 0) return [];
    return matchedProfiles(identities, await repo.keyOwners(conn, workspaceId, identities, codec));
  }

  // Definition changes of the workspace's properties, by property id, read once per write
  // transaction, inside it, so that a write and a change are ordered by the database: those
  // running, and those that landed a moment ago (a server's cached definitions may be that old).
  const runningIn = new WeakMap<object, Promise<Map<number, ChangeState>>>();
  // Write transactions whose first statement passed the start gate already (see writeOne).
  const gatePassed = new WeakSet<object>();
  function runningChanges(trx: Transaction<Database>, workspaceId: number): Promise<Map<number, ChangeState>> {
    let found = runningIn.get(trx);
    if (!found) {
      const since = new Date(clock.now().getTime() - LANDED_RECENTLY_MS).toISOString();
      // Past the gate first: a change starting now waits for this write to commit, so its job
      // reads the value written here rather than overwrite it when it lands. The jobs are read
      // by a later statement than the gate's, which sees what committed while it waited.
      const passed = gatePassed.has(trx) ? Promise.resolve() : jobs.gate(trx, workspaceId, 'pass');
      // A pii flag's re-encoding counts as a change of a keyed property: until its job is done,
      // the property's keys are held in two forms (plain and blind index) and a lookup in one
      // misses the other. Its definition landed with the PATCH that queued it.
      // A property with several such jobs (pii turned on, then off) is held by the one that
      // holds back the most writes: a running change, a running re-encoding, the latest landed.
      const rank = (c: ChangeState) => (c.running ? (c.keyedOnly ? 1 : 2) : 0);
      found = passed.then(() => jobs.active(trx, workspaceId, ['change_property', 'reencode_property'], since)).then((changes) => {
        const byProperty = new Map<number, ChangeState>();
        for (const j of changes) {
          const reencode = j.type === 'reencode_property';
          const landedVersion = reencode ? Number(j.payload.version) : Number((j.payload.from as Property).version) + 1;
          const state = { job: j.id, running: j.status !== 'done', landedVersion, keyedOnly: reencode };
          const other = byProperty.get(Number(j.payload.property_id));
          if (!other || rank(state) > rank(other) || (rank(state) === rank(other) && state.landedVersion > other.landedVersion)) byProperty.set(Number(j.payload.property_id), state);
        }
        return byProperty;
      });
      runningIn.set(trx, found);
    }
    return found;
  }

  /**
   * Values of a property whose change runs are refused, naming the job; so are values checked
   * against a definition older than one a change just landed (the write is then sent again, and
   * checked against the new one). A re-encoding holds back a unique or identity property only.
   */
  function changeRunning(running: ReadonlyMap<number, ChangeState>, defs: Iterable<Property>): ErrorDetail[] {
    return [...defs].flatMap((def) => {
      const change = running.get(def.id);
      if (!change || (change.keyedOnly && !isKeyed(def))) return [];
      if (change.running) return [{ field: `properties.${def.name}`, problem: `is being changed by job ${change.job}; write it again once the job is done` }];
      if (def.version < change.landedVersion) return [{ field: `properties.${def.name}`, problem: `was changed by job ${change.job} a moment ago; write it again` }];
      return [];
    });
  }

  /** Stores a change set, or throws its problems (the caller's savepoint or transaction drops what was written). */
  async function store(trx: Transaction<Database>, workspaceId: number, profileId: string, change: ReturnType<typeof changeSet>): Promise<void> {
    if (change.problems.length > 0) throw validationFailed(change.problems);
    const running = await runningChanges(trx, workspaceId);
    if (running.size > 0) {
      const v = await view(trx, workspaceId);
      const touched = new Set([...change.clear, ...change.write.map((w) => w.def.id)]);
      const refused = changeRunning(running, [...touched].flatMap((id) => v.byId.get(id) ?? []));
      if (refused.length > 0) throw new AppError('CONFLICT', `A definition change is running: ${refused[0].field.slice('properties.'.length)} ${refused[0].problem}.`, refused, 'CHANGE_RUNNING');
    }
    await repo.storeChanges(trx, workspaceId, profileId, change, codec);
  }

  /** One write of one profile by id, in its own transaction. */
  async function writeOne(
    workspaceId: number,
    id: string,
    values: Record<string, unknown>,
    mode: 'replace' | 'merge',
    opts: { create: 'allow' | 'forbid' | 'require' } & ReadOptions,
  ): Promise<{ profile: Profile; created: boolean }> {
    const v = await view(db, workspaceId);
    const { checked, problems } = checkWrite(v.index, values, 'properties');
    // A profile that must exist is looked for first: a missing one answers 404 whatever the values.
    if (problems.length > 0 && opts.create !== 'forbid') throw validationFailed(problems);
    const at = isoNow(clock);
    const taken = () => new AppError('ALREADY_EXISTS', `Profile "${id}" already exists.`, [{ field: 'id', problem: 'is taken' }]);
    const attempt = () =>
      db.transaction().execute(async (trx) => {
        // The first statement passes the start gate too (PostgreSQL), saving a round trip.
        const gate = jobs.gatePass;
        let found: ProfileRow | undefined;
        if (opts.create === 'require') {
          if (!(await repo.insertNewProfile(trx, workspaceId, { id, created_at: at, updated_at: at }, gate))) throw taken();
          gatePassed.add(trx);
        } else if ((found = await repo.touchProfile(trx, workspaceId, id, at, gate))) {
          gatePassed.add(trx);
        } else if ((found = await repo.findProfile(trx, workspaceId, id))) {
          // An alias: the profile it was merged into is written.
          await repo.touchProfiles(trx, workspaceId, [found.id], at);
        } else if (opts.create === 'forbid') {
          throw new AppError('NOT_FOUND', `Profile "${id}" not found.`);
        } else {
          await repo.insertProfile(trx, workspaceId, { id, created_at: at, updated_at: at });
        }
        if (problems.length > 0) throw validationFailed(problems);
        const row = found ?? { id, created_at: at, updated_at: at };
        const stored = found ? await stateOf(trx, workspaceId, row.id, v) : new Map();
        const incoming = [...checked].map(([def, value]) => ({ def, value, source: null, written_at: at, dated: false }));
        const change = changeSet(stored, incoming, { mode, priorities: new Map(), defs: v.byId });
        await store(trx, workspaceId, row.id, change);
        // The answer is the state just stored, not read back.
        return { profile: profileOf({ ...row, updated_at: at }, stateAfter(stored, change), v.visible, opts), created: !found };
      });
    try {
      return await attempt();
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const existing = await repo.findProfile(db, workspaceId, id);
      if (existing?.id === id && opts.create === 'require') throw taken();
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

  /** A record's values as they arrive, each dated and sourced by the record. */
  function incomingOf({ record, checked }: Prepared, at: string): Incoming[] {
    const source = record.source ?? null;
    const written_at = (record.timestamp && toInstant(record.timestamp)) || at;
    const dated = record.timestamp !== undefined;
    const fns = record.mergeFunctions;
    // Each value a literal of its own: copying a shared object into each by spread cost ten
    // times as much, a tenth of a Segment batch's CPU.
    const incoming: Incoming[] = [];
    for (const [def, value] of checked) incoming.push({ def, value, source, written_at, dated, fn: fns?.[def.name] });
    return incoming;
  }

  /** Folds `others` into `survivor`: each value combined by its merge function, keeping its own date and source. */
  async function mergeProfiles(trx: Transaction<Database>, workspaceId: number, survivor: string, others: string[], priorities: ReadonlyMap<string, number>, v: DictionaryView): Promise<void> {
    for (const other of others) {
      const theirs = await stateOf(trx, workspaceId, other, v);
      await repo.mergeInto(trx, workspaceId, other, survivor);
      const incoming = [...theirs].flatMap(([propertyId, held]) => {
        const def = v.byId.get(propertyId);
        return def ? [{ def, value: held.value, source: held.source, written_at: held.written_at, dated: true }] : [];
      });
      await store(trx, workspaceId, survivor, changeSet(await stateOf(trx, workspaceId, survivor, v), incoming, { mode: 'merge', priorities }));
    }
  }

  /**
   * Writes one checked record: to the profile its id names, else to the profiles its identities
   * match (several are merged into the oldest), else to a new profile. `mode` refuses a match
   * (create) or its absence (update) as a problem of the record.
   */
  async function writeRecord(trx: Transaction<Database>, workspaceId: number, p: Prepared, mode: WriteOptions['mode'], priorities: ReadonlyMap<string, number>, v: DictionaryView): Promise<Written> {
    const at = isoNow(clock);
    const refuse = (field: string, problem: string) => validationFailed([{ field, problem }]);
    let status: Written['status'] = 'updated';
    let id: string;
    if (p.record.id !== undefined) {
      const row = await repo.findProfile(trx, workspaceId, p.record.id);
      if (row && mode === 'create') throw refuse('id', `names profile ${row.id}, which exists; mode create writes new profiles only`);
      if (!row && mode === 'update') throw refuse('id', 'names no profile; mode update writes existing profiles only');
      id = row?.id ?? p.record.id;
      if (!row) status = 'created';
    } else {
      const matches = survivorFirst(await repo.findProfiles(trx, workspaceId, await resolveIdentity(trx, workspaceId, p.checked)));
      if (matches.length > 0 && mode === 'create') throw refuse('properties', `matches profile ${matches[0].id} by its identities; mode create writes new profiles only`);
      if (matches.length === 0 && mode === 'update') throw refuse('properties', 'matches no profile by its identities; mode update writes existing profiles only');
      id = matches[0]?.id ?? ids.profileId();
      if (matches.length === 0) status = 'created';
      else if (matches.length > 1) {
        await mergeProfiles(trx, workspaceId, id, matches.slice(1).map((o) => o.id), priorities, v);
        status = 'merged';
      }
    }
    if (status === 'created') await repo.insertProfile(trx, workspaceId, { id, created_at: at, updated_at: at });
    else await repo.touchProfiles(trx, workspaceId, [id], at);
    const stored = status === 'created' ? new Map() : await stateOf(trx, workspaceId, id, v);
    const change = changeSet(stored, incomingOf(p, at), { mode: 'merge', priorities });
    await store(trx, workspaceId, id, change);
    return { status: status === 'updated' && !change.changed ? 'unchanged' : status, id };
  }

  /**
   * One record in a savepoint of its own, so it is written whole or not at all. A unique
   * violation means another writer claimed one of its keys first: the record is resolved again.
   */
  async function writeAlone(trx: Transaction<Database>, workspaceId: number, p: Prepared, mode: WriteOptions['mode'], priorities: ReadonlyMap<string, number>, v: DictionaryView): Promise<WriteResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return { index: p.index, ...(await repo.inSavepoint(trx, () => writeRecord(trx, workspaceId, p, mode, priorities, v))) };
      } catch (error) {
        if (error instanceof AppError && (error.code === 'VALIDATION_FAILED' || error.reason === 'CHANGE_RUNNING')) return { index: p.index, status: 'rejected', errors: error.details };
        if (!isUniqueViolation(error)) throw error;
        // A value held by the profile the record now resolves to was claimed by a concurrent
        // writer: resolved again, the record updates that profile. A value held by any other
        // profile is a conflict no retry mends.
        const own = p.record.id !== undefined ? [(await repo.findProfile(trx, workspaceId, p.record.id))?.id ?? p.record.id] : await resolveIdentity(trx, workspaceId, p.checked);
        const conflict = await claimFailed(trx, workspaceId, own, p.checked);
        if (conflict.details.length > 0 || attempt >= 2) {
          return { index: p.index, status: 'rejected', errors: conflict.details.length ? conflict.details : [{ field: 'properties', problem: conflict.message }] };
        }
      }
    }
  }

  /**
   * Records that can only create new profiles (no id; no profile holds, and no other record
   * repeats, any of their identity or unique values) are created together in a few statements.
   * Returns their new ids by index, with the holders found of the other candidates' claims
   * (updateKnown needs them); neither when another writer claimed one of those values meanwhile
   * (the records are then written by the later passes).
   */
  async function createFresh(trx: Transaction<Database>, workspaceId: number, valid: Prepared[], priorities: ReadonlyMap<string, number>): Promise<{ created: Map<number, string>; owners: ClaimOwners }> {
    const claims = valid.map((p) => claimsOf(p.checked));
    const candidates = valid.map((p) => p.record.id === undefined);
    const owners = await repo.keyOwners(trx, workspaceId, claims.filter((_, i) => candidates[i]).flat(), codec);
    let next = 0;
    const ownersOf: (string | undefined)[][] = claims.map((c, i) => (candidates[i] ? c.map(() => owners[next++]) : []));
    const isFresh = freshRecords(valid.map((_, i) => ({ candidate: candidates[i], claims: claims[i], held: ownersOf[i].map((o) => o !== undefined) })));
    // What the rest's claims were found held by: no fresh record shares one (freshRecords), so
    // creating them changes none of it.
    const known: ClaimOwners = new Map(valid.flatMap((p, i) => (candidates[i] && !isFresh[i] ? [[p.index, ownersOf[i]] as const] : [])));
    const fresh = valid.filter((_, i) => isFresh[i]);
    if (fresh.length === 0) return { created: new Map(), owners: known };
    const at = isoNow(clock);
    const created = fresh.map((p) => ({
      row: { id: ids.profileId(), created_at: at, updated_at: at },
      change: changeSet(new Map(), incomingOf(p, at), { mode: 'merge', priorities }),
    }));
    const createdIds = new Map(fresh.map((p, i) => [p.index, created[i].row.id]));
    // Where no other writer can claim a value between the lookup above and these inserts
    // (SQLite), no savepoint guards them: a savepoint makes SQLite copy every page the inserts
    // change into a sub-journal first, about a tenth of an import's CPU (docs/benchmarks.md,
    // "Import and export"). A unique violation there is a fault, and fails the caller's transaction.
    if (!repo.writersInterleave(trx)) {
      await repo.insertProfilesWith(trx, workspaceId, created, codec);
      return { created: createdIds, owners: known };
    }
    try {
      await repo.inSavepoint(trx, () => repo.insertProfilesWith(trx, workspaceId, created, codec));
      return { created: createdIds, owners: known };
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      // Another writer claimed some of these values meanwhile: nothing looked up holds.
      return { created: new Map(), owners: new Map() };
    }
  }

  /**
   * Records that each match one existing profile, alone in the batch and claiming nothing another
   * profile holds (change-set.ts's knownRecords), update their profiles together: their values
   * read in one query, their change sets stored in a few statements. Returns their results by
   * index; none when another writer claimed one of those values meanwhile (they are then written
   * one by one).
   */
  async function updateKnown(trx: Transaction<Database>, workspaceId: number, pending: Prepared[], priorities: ReadonlyMap<string, number>, v: DictionaryView, found: ClaimOwners): Promise<Map<number, WriteResult>> {
    if (pending.length === 0) return new Map();
    const named = await repo.findProfiles(trx, workspaceId, [...new Set(pending.flatMap((p) => p.record.id ?? []))]);
    const exists = new Set(named.map((r) => r.id));
    const claims = pending.map((p) => claimsOf(p.checked));
    // Claims createFresh looked up already are not looked up again.
    const missing = pending.flatMap((p, i) => (found.has(p.index) ? [] : claims[i]));
    const looked = await repo.keyOwners(trx, workspaceId, missing, codec);
    let next = 0;
    const owners = pending.map((p, i) => found.get(p.index) ?? claims[i].map(() => looked[next++]));
    // An identity value is a claim: its owner is the claim's.
    const identities = pending.map((p) => (p.record.id === undefined ? identityOrder(p.checked) : []));
    const identityOwners = identities.map((ids, i) => ids.map(({ def }) => owners[i][claims[i].findIndex((c) => c.def === def)]));
    const targets = pending.map(({ record }, i) => (record.id === undefined ? matchedProfiles(identities[i], identityOwners[i]) : exists.has(record.id) ? [record.id] : []));
    const known = knownRecords(pending.map((_, i) => ({ targets: targets[i], claims: claims[i], owners: owners[i] })));
    const chosen = pending.flatMap((p, i) => (known[i] ? [{ p, id: targets[i][0] }] : []));
    if (chosen.length === 0) return new Map();
    const at = isoNow(clock);
    await repo.touchProfiles(trx, workspaceId, chosen.map((c) => c.id), at);
    const state = await repo.loadState(trx, workspaceId, chosen.map((c) => c.id), v.byId, codec);
    const changes = chosen.map(({ p, id }) => ({ p, id, change: changeSet(state.get(id) ?? new Map(), incomingOf(p, at), { mode: 'merge', priorities }) }));
    const writes = changes.filter((c) => c.change.problems.length === 0);
    try {
      await repo.inSavepoint(trx, () => repo.updateProfilesWith(trx, workspaceId, writes, codec));
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      return new Map();
    }
    return new Map(
      changes.map(({ p, id, change }): [number, WriteResult] => [
        p.index,
        change.problems.length > 0 ? { index: p.index, status: 'rejected', errors: change.problems } : { index: p.index, status: change.changed ? 'updated' : 'unchanged', id },
      ]),
    );
  }

  /**
   * The write path of every bulk writer (the native batch, source ingestion, imports): writes
   * `records` inside the caller's transaction, so a caller can commit a chunk of records with
   * its own progress atomically. Returns one result per record, in input order. A bad record is
   * rejected with its reasons and never sinks the rest; each is written whole or not at all. Records
   * that only create (createFresh) or that each update one profile alone (updateKnown) are
   * written as sets; the rest one at a time, in a savepoint each. A dry run resolves every record as a write would and leaves nothing behind.
   * PostgreSQL may abort the caller's transaction on a deadlock between two writers: the caller
   * runs it again (see `batch`).
   */
  async function writeRecords(trx: Transaction<Database>, workspaceId: number, records: readonly WriteRecord[], options: WriteOptions = {}): Promise<WriteResult[]> {
    const { mode = 'upsert', dryRun = false } = options;
    const [v, priorities, running] = await Promise.all([view(trx, workspaceId), sourcePriorities(trx, workspaceId), runningChanges(trx, workspaceId)]);
    const prepared: Prepared[] = records.map((record, index) => {
      const { checked, problems } = checkWrite(v.index, record.properties, 'properties');
      problems.unshift(...(record.problems ?? []));
      if (running.size > 0) problems.push(...changeRunning(running, checked.keys()));
      if (record.source !== undefined && !priorities.has(record.source)) problems.push({ field: 'source', problem: `no data source "${record.source}" in this workspace` });
      if (record.timestamp !== undefined && toInstant(record.timestamp) === undefined) {
        problems.push({ field: 'timestamp', problem: 'must be a real RFC 3339 date and time with an offset, such as 2026-11-23T12:00:00Z (the date must exist, the offset be at most ±23:59)' });
      }
      return { index, record, checked, problems };
    });
    const run = async () => {
      const valid = prepared.filter((p) => p.problems.length === 0);
      const { created, owners } = mode === 'update' ? { created: new Map<number, string>(), owners: new Map() } : await createFresh(trx, workspaceId, valid, priorities);
      const rest = valid.filter((p) => !created.has(p.index));
      const updated = mode === 'create' ? new Map<number, WriteResult>() : await updateKnown(trx, workspaceId, rest, priorities, v, owners);
      const results: WriteResult[] = [];
      for (const p of prepared) {
        const id = created.get(p.index);
        if (p.problems.length > 0) results.push({ index: p.index, status: 'rejected', errors: p.problems });
        else if (id !== undefined) results.push({ index: p.index, status: 'created', id });
        else results.push(updated.get(p.index) ?? (await writeAlone(trx, workspaceId, p, mode, priorities, v)));
      }
      return results;
    };
    return dryRun ? repo.inSavepoint(trx, run, { undo: true }) : run();
  }

  /** writeRecords in a transaction of its own, committed before it returns. */
  async function writeCommitted(workspaceId: number, records: readonly WriteRecord[], options?: WriteOptions): Promise<WriteResult[]> {
    // Two batches claiming the same new identities in other orders can deadlock in PostgreSQL,
    // which then aborts one of them: that one runs again, and sees the other's profiles.
    for (let attempt = 1; ; attempt++) {
      try {
        return await db.transaction().execute((trx) => writeRecords(trx, workspaceId, records, options));
      } catch (error) {
        if (!isDeadlock(error) || attempt >= 3) throw error;
      }
    }
  }

  // Values of a purged property are removed, and those of a property whose pii flag changed
  // re-stored, in bounded background steps (the properties service queues the jobs).
  jobs.registerStep('purge_property', (trx, job, limit) => repo.purgeValues(trx, job.workspace_id, Number(job.payload.property_id), limit));
  jobs.registerStep('reencode_property', async (trx, job, limit) => {
    const def = (await properties.dictionary(job.workspace_id, trx)).find((d) => d.id === Number(job.payload.property_id));
    // Purged meanwhile: its purge job removes the values. The job says which way to store them,
    // whatever a cache says of the definition.
    return def ? repo.reencodeValues(trx, job.workspace_id, { ...def, pii: job.payload.pii === true }, limit, codec) : 0;
  });

  // A key rotation re-encrypts, workspace by workspace, every PII value still under the previous key.
  jobs.registerStep('rotate_key', async (trx, job, limit) => {
    const defs = new Map((await properties.dictionary(job.workspace_id, trx)).map((d) => [d.id, d]));
    return repo.rotateValues(trx, job.workspace_id, defs, limit, codec);
  });

  return {
    writeRecords,

    /**
     * Queues a `rotate_key` job in every workspace holding PII values not under the current key
     * (none twice); the jobs, with their workspaces. Called at start while a rotation runs.
     */
    async queueKeyRotation(): Promise<{ workspace_id: number; job: string }[]> {
      if (codec.currentPrefix === undefined) return [];
      const queued: { workspace_id: number; job: string }[] = [];
      for (const { workspace_id, profiles } of await repo.workspacesToRotate(db, codec.currentPrefix)) {
        await db.transaction().execute(async (trx) => {
          if (await jobs.hasActive(trx, workspace_id, 'rotate_key')) return;
          const job = await jobs.enqueue(trx, workspace_id, { type: 'rotate_key', total: profiles, payload: { to: codec.currentPrefix } });
          queued.push({ workspace_id, job: job.id });
        });
      }
      return queued;
    },

    /**
     * The next `limit` profiles holding a value of `def`, with their values, read along the
     * property's value index after `after` (a definition change walks them so).
     */
    holdersPage(conn: Conn, workspaceId: number, def: Property, after: ValueCursor | undefined, limit: number): Promise<{ values: HeldValue[]; next: ValueCursor | undefined }> {
      return repo.holdersPage(conn, workspaceId, def, after, limit, codec);
    },

    /** How many profiles hold a value of the property (asked before a property is purged or retyped). */
    countHolders(trx: Transaction<Database>, workspaceId: number, propertyId: number): Promise<number> {
      return repo.countHolders(trx, workspaceId, propertyId);
    },

    /**
     * Keys exist exactly for keyed properties' stored values: a definition that stops being
     * unique and an identity loses its values' keys, and one that stops being an identity its
     * retired ids, in the transaction that changes it. Turning keys on again then finds none
     * left (with values, the change flow claims them afresh).
     */
    async releaseKeys(trx: Transaction<Database>, workspaceId: number, from: Property, to: Property): Promise<void> {
      if (isKeyed(from) && !isKeyed(to)) await repo.dropKeys(trx, workspaceId, from.id, 'profile_keys');
      if (from.identity.role !== 'none' && to.identity.role === 'none') await repo.dropKeys(trx, workspaceId, from.id, 'profile_former_keys');
    },

    async get(workspaceId: number, id: string, opts: ReadOptions): Promise<Profile> {
      const v = await view(db, workspaceId);
      const found = await repo.findProfileWithState(db, workspaceId, id, v.byId, codec);
      if (!found) throw new AppError('NOT_FOUND', `Profile "${id}" not found.`);
      return profileOf(found.row, found.state, v.visible, opts);
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
      return (await writeOne(workspaceId, id, values, 'merge', { ...opts, create: 'forbid' })).profile;
    },

    /** The profile holding each identity value now (undefined: none), in the caller's transaction. */
    async holders(trx: Transaction<Database>, workspaceId: number, values: readonly IdentityValue[]): Promise<(string | undefined)[]> {
      const v = await view(trx, workspaceId);
      const claims = values.map((value) => identityClaim(v, value));
      const owners = await repo.keyOwners(trx, workspaceId, claims.filter((c) => c !== undefined), codec);
      let next = 0;
      return claims.map((c) => (c === undefined ? undefined : owners[next++]));
    },

    /**
     * For each identity value no profile holds now: the profile that held it before `retire`
     * remembered it, or the one that profile was merged into since (undefined: none, or erased).
     * One query when none was retired.
     */
    async formerHolders(trx: Transaction<Database>, workspaceId: number, values: readonly IdentityValue[]): Promise<(string | undefined)[]> {
      const v = await view(trx, workspaceId);
      const claims = values.map((value) => identityClaim(v, value));
      const present = claims.flatMap((claim, index) => (claim === undefined ? [] : [{ claim, index }]));
      const former = await repo.formerKeyHolders(trx, workspaceId, present.map((p) => p.claim), codec);
      const hits = present.flatMap((p, i) => (former[i] === undefined ? [] : [{ ...p, profile: former[i] }]));
      const found: (string | undefined)[] = values.map(() => undefined);
      if (hits.length === 0) return found;
      const owners = await repo.keyOwners(trx, workspaceId, hits.map((h) => h.claim), codec);
      for (const [i, hit] of hits.entries()) {
        if (owners[i] === undefined) found[hit.index] = (await repo.findProfile(trx, workspaceId, hit.profile))?.id;
      }
      return found;
    },

    /** What each profile holds of a property, by profile id (none: absent). */
    async valuesOf(trx: Transaction<Database>, workspaceId: number, ids: readonly string[], property: string): Promise<Map<string, unknown>> {
      const v = await view(trx, workspaceId);
      const def = v.live.get(property.toLowerCase());
      if (!def || ids.length === 0) return new Map();
      const state = await repo.loadState(trx, workspaceId, [...ids], v.byId, codec);
      return new Map(ids.flatMap((id) => {
        const held = state.get(id)?.get(def.id);
        return held && held.value !== null ? [[id, held.value] as const] : [];
      }));
    },

    /**
     * Merges `others` into `survivor` as a record matching several profiles does (each value
     * combined by its merge function; their ids become aliases of the survivor), in a savepoint:
     * all or nothing. Returns the problems that refused it (none: merged).
     */
    async absorb(trx: Transaction<Database>, workspaceId: number, survivor: string, others: readonly string[]): Promise<ErrorDetail[]> {
      if (others.length === 0) return [];
      const [v, priorities] = await Promise.all([view(trx, workspaceId), sourcePriorities(trx, workspaceId)]);
      try {
        await repo.inSavepoint(trx, async () => {
          await repo.touchProfiles(trx, workspaceId, [survivor], isoNow(clock));
          await mergeProfiles(trx, workspaceId, survivor, [...others], priorities, v);
        });
        return [];
      } catch (error) {
        if (error instanceof AppError && (error.code === 'VALIDATION_FAILED' || error.reason === 'CHANGE_RUNNING')) return error.details;
        throw error;
      }
    },

    /**
     * Remembers identity values profiles held before a write replaced them (Segment's alias of a
     * former user id), so that formerHolders still finds each one's profile.
     */
    async retire(trx: Transaction<Database>, workspaceId: number, property: string, held: readonly { value: unknown; profile: string }[]): Promise<void> {
      const v = await view(trx, workspaceId);
      const retired = held.flatMap((h) => {
        const claim = identityClaim(v, { property, value: h.value });
        return claim ? [{ ...claim, profile_id: h.profile }] : [];
      });
      await repo.retireKeys(trx, workspaceId, retired, isoNow(clock), codec);
    },

    /** Erases the profile, its identity keys and its aliases. */
    async remove(workspaceId: number, id: string): Promise<void> {
      const row = await mustFind(db, workspaceId, id);
      await db.transaction().execute((trx) => repo.deleteProfile(trx, workspaceId, row.id));
    },

    /**
     * Upserts up to MAX_BATCH_RECORDS records (the native batch and source ingestion), committed
     * before it answers; `unchanged` is answered as `updated` there.
     */
    async batch(workspaceId: number, records: readonly WriteRecord[]): Promise<RecordResult[]> {
      const results = await writeCommitted(workspaceId, records);
      return results.map((r) => (r.status === 'unchanged' ? { ...r, status: 'updated' } : r) as RecordResult);
    },

    /**
     * Every profile matching the filters, in id order a page at a time, read from one snapshot: a
     * read-only transaction (repeatable read on PostgreSQL) held until the pages end or the caller
     * returns early. Each profile comes as its id and the values of `propertyIds` in that order
     * (undefined where it holds none or the property is no longer live; PII masked without
     * pii:read): an export reads nothing else, and a page of thousands is built without the
     * presentation of a read. `total` is counted in the same snapshot, so it matches the pages. A
     * caller that stops before the pages end calls `close()` (more than once does no harm).
     */
    async snapshot(
      workspaceId: number,
      filters: SearchQuery['filters'],
      opts: ReadOptions & { propertyIds: readonly number[]; pageSize?: number },
    ): Promise<{ total: number; pages: AsyncGenerator<SnapshotProfile[]>; close(): Promise<void> }> {
      const trx = await db.startTransaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute();
      let open = true;
      const close = async () => {
        if (!open) return;
        open = false;
        await trx.commit().execute();
      };
      try {
        const v = await view(trx, workspaceId);
        const typed = typeSearch(v.live, { filters, sort: [] }, opts.piiReadable, codec).filters;
        const total = await repo.countProfiles(trx, workspaceId, typed, broadFilter);
        const defs = opts.propertyIds.map((id) => v.visible.get(id)?.def);
        const masked = opts.piiReadable ? [] : defs.flatMap((d, i) => (d?.pii ? [i] : []));
        async function* pages(): AsyncGenerator<SnapshotProfile[]> {
          try {
            let after: string | undefined;
            for (;;) {
              const rows = await repo.searchProfiles(trx, workspaceId, typed, [], { limit: opts.pageSize ?? 500, after: after === undefined ? undefined : { values: [], id: after }, broadFilter });
              if (rows.length === 0) return;
              const ids = rows.map(({ row }) => row.id);
              const values = await repo.loadColumns(trx, workspaceId, { ids, contiguous: typed.length === 0 }, defs, codec);
              yield ids.map((id) => {
                const held = values.get(id) ?? new Array(defs.length);
                for (const i of masked) if (held[i] !== undefined) held[i] = MASK;
                return { id, values: held };
              });
              after = ids[ids.length - 1];
            }
          } finally {
            await close();
          }
        }
        return { total, pages: pages(), close };
      } catch (error) {
        open = false;
        await trx.rollback().execute();
        throw error;
      }
    },

    /** Filtered, sorted, cursor-paged profiles; every filter is typed by its property. */
    async search(workspaceId: number, query: SearchQuery, opts: ReadOptions): Promise<Page<Profile>> {
      const v = await view(db, workspaceId);
      const { filters, sort } = typeSearch(v.live, query, opts.piiReadable, codec);
      const key = repo.keyLookupOf(filters, sort);
      if (key) {
        // An identity lookup: the page and its values in one statement.
        const found = await repo.keyLookup(db, workspaceId, key, { limit: query.limit + 1, after: cursorOf(query.cursor, sort)?.id }, v.byId, codec);
        const page = found.slice(0, query.limit);
        return {
          data: page.map((p) => profileOf(p.row, p.state, v.visible, opts)),
          next_cursor: found.length > query.limit ? encodeCursor([page[page.length - 1].row.id]) : null,
        };
      }
      const rows = await repo.searchProfiles(db, workspaceId, filters, sort, { limit: query.limit + 1, after: cursorOf(query.cursor, sort), broadFilter });
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return {
        data: await present(db, workspaceId, page.map(({ row }) => row), opts, v),
        next_cursor: rows.length > query.limit && last ? encodeCursor([...last.sortValues, last.row.id]) : null,
      };
    },
  };
}
