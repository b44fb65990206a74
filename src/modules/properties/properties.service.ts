// Business rules for property definitions. Knows nothing of HTTP or of any vendor: every
// surface (native and vendor) calls these functions, so a rule lives in one place.
import type { Kysely, Transaction } from 'kysely';
import { isUniqueViolation } from '../../db/db-errors.ts';
import type { Database } from '../../db/schema.ts';
import { type Clock, isoNow } from '../../shared/clock.ts';
import { AppError, type ErrorDetail, type ErrorReason, validationFailed } from '../../shared/errors.ts';
import { type IdGenerator, isStoredId } from '../../shared/ids.ts';
import { decodeCursor, toPage, type Page } from '../../shared/pagination.ts';
import type { Job } from '../jobs/job.ts';
import type { JobService } from '../jobs/jobs.service.ts';
import {
  applyPatch,
  checkDefinition,
  diffFields,
  fieldsOf,
  IMMUTABLE_FIELDS,
  keysOf,
  normaliseAliases,
  repeatsWithinBatch,
  sortOrderOf,
  withDefaults,
  type Property,
  type PropertyCreate,
  type PropertyFields,
  type PropertyPatch,
} from './property.ts';
import { keyClaimingFields, narrowingFields, planChange, type ChangeScan, type DefinitionChange, type ValueMap } from './property-change.ts';
import * as repo from './properties.repository.ts';
import type { HistoryEntry, PropertyListFilter, PropertyRef, PropertySearch } from './properties.repository.ts';
import { SYSTEM_PROPERTIES } from './system-properties.ts';
import { createDictionaryCache } from './dictionary-cache.ts';
import type { Broadcast } from '../../shared/broadcast.ts';

type Conn = Kysely<Database> | Transaction<Database>;

/** A name, alias or display name another property holds. */
interface Clash {
  reason: Extract<ErrorReason, 'NAME_TAKEN' | 'ALIAS_TAKEN' | 'DISPLAY_NAME_TAKEN'>;
  detail: ErrorDetail;
}

/** Who acts, recorded in history. */
export interface Actor {
  actor: string;
}

/**
 * What the modules that use a property say about it before it is purged or retyped, asked
 * inside the change's transaction. Wired in services.ts (the profiles and sources services answer),
 * so this module depends on neither.
 */
export interface PropertyUsage {
  /** How many profiles hold values of the property. */
  holders(trx: Transaction<Database>, workspaceId: number, propertyId: number): Promise<number>;
  /** Names of the data sources whose mappings use the property. */
  mappedBy(trx: Transaction<Database>, workspaceId: number, propertyId: number): Promise<string[]>;
  /** Drops the keys a definition no longer has (unique and identity turned off), in the change's transaction. */
  releaseKeys(trx: Transaction<Database>, workspaceId: number, from: Property, to: Property): Promise<void>;
  /** What a change from one definition to another would do to the stored values (`masked`: samples as "***"). */
  scanChange(conn: Conn, workspaceId: number, from: Property, to: Property, valueMap: ValueMap, masked: boolean): Promise<ChangeScan>;
}

/** What a preview answers: the counts, the samples and the definition diff. */
export type ChangePreview = ChangeScan & { changes: Record<string, { from: unknown; to: unknown }> };

/** Where the change flow is, in the words a refused PATCH or vendor PUT points at. */
export const changeFlow = (name: string) =>
  `preview it with POST /v1/workspaces/{ws}/properties/${name}/changes/preview, then apply it with POST /v1/workspaces/{ws}/properties/${name}/changes`;

export type PropertyService = ReturnType<typeof createPropertyService>;

/** Whether any workspace has a PII property (the server then needs its encryption key). */
export function anyPiiProperty(db: Kysely<Database>): Promise<boolean> {
  return repo.anyPiiProperty(db);
}

export function createPropertyService({
  db,
  clock,
  ids,
  piiStorable,
  broadcast,
  jobs,
  usage,
}: {
  db: Kysely<Database>;
  clock: Clock;
  ids: Pick<IdGenerator, 'uid'>;
  piiStorable: boolean;
  broadcast: Broadcast;
  jobs: Pick<JobService, 'enqueue' | 'active' | 'gate'>;
  usage: PropertyUsage;
}) {
  // List pages and the numbered searches some surfaces list with, kept until the dictionary changes.
  const reads = createDictionaryCache<Page<Property> | { total: number; items: Property[] } | Property | Property[]>({ clock, broadcast });
  /** PII values are encrypted at rest, so a PII property needs the server's key. */
  function checkPiiStorable(fields: Pick<PropertyFields, 'pii'>, prefix: string): void {
    if (fields.pii && !piiStorable) {
      throw new AppError(
        'CONFLICT',
        'PII properties need PROPDICT_ENCRYPTION_KEY on the server, which is not set.',
        [{ field: `${prefix}pii`, problem: 'needs PROPDICT_ENCRYPTION_KEY on the server' }],
        'NO_ENCRYPTION_KEY',
      );
    }
  }

  /** A path segment may name a property by numeric id, uid or name; names never start with a digit or hold '-'. */
  function parseRef(ref: string): PropertyRef {
    if (/^\d+$/.test(ref)) return { id: Number(ref) };
    if (ref.includes('-')) return { uid: ref };
    return { name: ref };
  }

  async function mustFind(conn: Kysely<Database> | Transaction<Database>, workspaceId: number, ref: string): Promise<Property> {
    const parsed = parseRef(ref);
    const property = 'id' in parsed && !isStoredId(parsed.id) ? undefined : await repo.findProperty(conn, workspaceId, parsed);
    if (!property) throw new AppError('NOT_FOUND', `Property "${ref}" not found.`);
    return property;
  }

  /** Names, aliases and display names must be free in the workspace; lists every clash. */
  async function checkFree(
    conn: Kysely<Database> | Transaction<Database>,
    workspaceId: number,
    fields: PropertyFields,
    prefix: string,
    exceptId?: number,
  ): Promise<Clash[]> {
    const problems: Clash[] = [];
    const taken = new Set((await repo.findTakenKeys(conn, workspaceId, keysOf(fields), exceptId)).map((t) => t.key));
    if (taken.has(fields.name.toLowerCase())) {
      problems.push({ reason: 'NAME_TAKEN', detail: { field: `${prefix}name`, problem: `"${fields.name}" is already taken in this workspace` } });
    }
    fields.import_aliases.forEach((alias, i) => {
      if (taken.has(alias.toLowerCase())) {
        problems.push({ reason: 'ALIAS_TAKEN', detail: { field: `${prefix}import_aliases[${i}]`, problem: `"${alias}" is already a name or alias in this workspace` } });
      }
    });
    const owner = await repo.findDisplayNameOwner(conn, workspaceId, fields.display_name);
    if (owner !== undefined && owner !== exceptId) {
      problems.push({ reason: 'DISPLAY_NAME_TAKEN', detail: { field: `${prefix}display_name`, problem: `"${fields.display_name}" is already used by another property` } });
    }
    return problems;
  }

  /** One 409 for every clash; its reason is the weightiest one: a name, then an alias, then a display name. */
  function clashed(message: string, clashes: Clash[]): AppError {
    const reason = (['NAME_TAKEN', 'ALIAS_TAKEN', 'DISPLAY_NAME_TAKEN'] as const).find((r) => clashes.some((c) => c.reason === r));
    return new AppError('ALREADY_EXISTS', message, clashes.map((c) => c.detail), reason);
  }

  function prepare(input: PropertyCreate, prefix: string): { fields: PropertyFields; problems: ErrorDetail[] } {
    const fields = normaliseAliases(withDefaults(input));
    const problems = checkDefinition(fields).map((d) => ({ ...d, field: prefix + d.field }));
    return { fields, problems };
  }

  async function insertNew(trx: Transaction<Database>, workspaceId: number, fields: PropertyFields, system: boolean, actor: string | null, cap?: number): Promise<Property> {
    const { id, customProperties, limit } = await repo.nextPropertyId(trx, workspaceId, !system);
    // Counted under the workspace row's lock: two concurrent creates cannot both pass the limit.
    if (!system) limitReached(customProperties - 1, 1, limit, cap);
    const at = isoNow(clock);
    const property = await repo.insertProperty(trx, workspaceId, { id, uid: ids.uid(), system, at, fields });
    await repo.insertPropertyKeys(trx, workspaceId, id, keysOf(fields));
    await repo.insertHistory(trx, workspaceId, id, { version: 1, at, key_id: actor, action: 'created', changes: diffFields(null, fields) });
    return property;
  }

  /** `cap` lowers the workspace's limit for one caller (a surface whose vendor allows fewer). */
  function limitReached(used: number, adding: number, stored: number, cap?: number): void {
    const limit = cap === undefined ? stored : Math.min(cap, stored);
    if (used + adding > limit) {
      throw new AppError(
        'LIMIT_EXCEEDED',
        `This workspace allows ${limit} custom properties and has ${used}.`,
        [{ field: 'name', problem: `the workspace limit of ${limit} custom properties is reached` }],
        'PROPERTY_LIMIT',
      );
    }
  }

  /** Refuses early, before any clash check, when the workspace is already full. */
  async function checkLimit(trx: Transaction<Database>, workspaceId: number, adding: number, cap?: number): Promise<void> {
    const { used, limit } = await repo.countCustomProperties(trx, workspaceId);
    limitReached(used, adding, limit, cap);
  }

  /** A definition change running on the property: 409 naming its job. */
  async function refuseWhileChanging(trx: Transaction<Database>, workspaceId: number, property: Property): Promise<void> {
    const running = (await jobs.active(trx, workspaceId, 'change_property')).find((j) => Number(j.payload.property_id) === property.id);
    if (running) {
      throw new AppError(
        'CONFLICT',
        `A change of "${property.name}" is running as job ${running.id}; wait until it is done (GET /v1/workspaces/${workspaceId}/jobs/${running.id}).`,
        [{ field: 'name', problem: `is being changed by job ${running.id}` }],
        'CHANGE_RUNNING',
      );
    }
  }

  /** The definition a change asks for, or the 4xx that says why it cannot be asked for. */
  function plan(current: Property, change: DefinitionChange): { next: Property; changes: Record<string, { from: unknown; to: unknown }> } {
    if (current.system) throw new AppError('CONFLICT', `System property "${current.name}" cannot be changed.`, [], 'SYSTEM_PROPERTY');
    if (current.archived) {
      throw new AppError('CONFLICT', `Property "${current.name}" is archived; restore it (POST .../properties/${current.name}/restore) before changing it.`, [], 'ARCHIVED_PROPERTY');
    }
    const { next, problems } = planChange(fieldsOf(current), change);
    if (problems.length > 0) {
      const refused = problems.find((p) => p.allowed && (p.field === 'data_type' || p.field === 'multi_valued'));
      throw new AppError('VALIDATION_FAILED', refused ? `This conversion is not in the table: ${refused.problem}.` : 'The change is not valid.', problems, refused ? 'CONVERSION_NOT_ALLOWED' : undefined);
    }
    checkPiiStorable(next, '');
    const changes = diffFields(fieldsOf(current), next);
    if (Object.keys(changes).length === 0 && Object.keys(change.value_map ?? {}).length === 0) {
      throw new AppError(
        'VALIDATION_FAILED',
        `The change leaves "${current.name}" as it is: give at least one of data_type, multi_valued, options, validation, unique, identity or value_map with a new value.`,
        [{ field: 'body', problem: 'changes nothing' }],
        'NOT_A_CHANGE',
      );
    }
    return { next: { ...current, ...next }, changes };
  }

  /**
   * Runs a write to a workspace's dictionary; a unique index that fires becomes the 409 `explain`
   * gives (what clashes, read once the write is rolled back), else one that names nothing (a
   * race whose winner is gone again). Once committed, cached list pages of the workspace are dropped.
   */
  async function write<T>(workspaceId: number, fn: (trx: Transaction<Database>) => Promise<T>, explain?: () => Promise<AppError | undefined>): Promise<T> {
    try {
      const result = await db.transaction().execute(fn);
      await reads.changed(workspaceId);
      return result;
    } catch (error) {
      if (isUniqueViolation(error)) throw (await explain?.()) ?? new AppError('ALREADY_EXISTS', 'A property with that name, alias or display name already exists.', [], 'NAME_TAKEN');
      throw error;
    }
  }

  return {
    /** Dictionary reads answered from memory, and read from the database. */
    cacheStats: reads.stats,

    parseRef,

    /** A page of the list; the same page object is returned while the dictionary is unchanged. */
    async list(workspaceId: number, filter: PropertyListFilter, limit: number, cursor?: string): Promise<Page<Property>> {
      const key = JSON.stringify(['list', filter, limit, cursor ?? null]);
      const cached = reads.get(workspaceId, key) as Page<Property> | undefined;
      if (cached) return cached;
      const after = decodeCursor(cursor, 2) as [number, string] | undefined;
      const rows = await repo.listProperties(db, workspaceId, filter, limit + 1, after);
      const page = toPage(rows, limit, (p) => [sortOrderOf(p.display_order), p.name.toLowerCase()], (p) => p);
      reads.set(workspaceId, key, page);
      return page;
    },

    /** One property by name, id or uid; the same object is returned while the dictionary is unchanged. */
    async get(workspaceId: number, ref: string): Promise<Property> {
      const key = JSON.stringify(['get', ref]);
      const cached = reads.get(workspaceId, key) as Property | undefined;
      if (cached) return cached;
      const property = await mustFind(db, workspaceId, ref);
      reads.set(workspaceId, key, property);
      return property;
    },

    /**
     * Every definition of the workspace, archived ones included, for the modules that read and
     * write values by definition (profiles, imports, exports); the same array while unchanged.
     * A caller inside a transaction passes it (SQLite has one connection, which it holds).
     */
    dictionary(workspaceId: number, conn: Conn = db): Promise<readonly Property[]> {
      // Concurrent misses outside a transaction share one read of every definition.
      // Past its time, it is read again only if the definitions' summary has moved.
      return reads.load(workspaceId, 'dictionary', () => repo.allProperties(conn, workspaceId), conn === db, () => repo.dictionaryFingerprint(conn, workspaceId)) as Promise<Property[]>;
    },

    /** Numbered pages with a total, any sort: for the dialects that list that way. */
    search(workspaceId: number, search: Omit<PropertySearch, 'archived'> & { archived?: boolean }): Promise<{ total: number; items: Property[] }> {
      const full = { ...search, archived: search.archived ?? false };
      const key = JSON.stringify(['search', full]);
      const cached = reads.get(workspaceId, key) as { total: number; items: Property[] } | undefined;
      if (cached) return Promise.resolve(cached);
      return repo.searchProperties(db, workspaceId, full).then((result) => {
        reads.set(workspaceId, key, result);
        return result;
      });
    },

    /** Seeds the system properties of a new workspace, inside the transaction that creates it. */
    async seedSystemProperties(trx: Transaction<Database>, workspaceId: number): Promise<void> {
      for (const input of SYSTEM_PROPERTIES) {
        await insertNew(trx, workspaceId, normaliseAliases(withDefaults(input)), true, null);
      }
    },

    async create(workspaceId: number, input: PropertyCreate, { actor, maxCustom }: Actor & { maxCustom?: number }): Promise<Property> {
      const { fields, problems } = prepare(input, '');
      if (problems.length > 0) throw validationFailed(problems);
      checkPiiStorable(fields, '');
      // The unique indexes on names, aliases and display names refuse a clash; what clashed is
      // read only then. The limit is checked first, by the counter's update.
      return write(
        workspaceId,
        (trx) => insertNew(trx, workspaceId, fields, false, actor, maxCustom),
        async () => {
          const clashes = await checkFree(db, workspaceId, fields, '');
          return clashes.length > 0 ? clashed(`Property "${fields.name}" clashes with an existing property.`, clashes) : undefined;
        },
      );
    },

    /** All or nothing: every problem of every item is reported, and nothing is written unless all pass. */
    async createBatch(workspaceId: number, inputs: PropertyCreate[], { actor }: Actor): Promise<Property[]> {
      const prepared = inputs.map((input, i) => prepare(input, `inputs[${i}].`));
      // Names, aliases and display names must also be distinct within the batch.
      const problems = [...prepared.flatMap((p) => p.problems), ...repeatsWithinBatch(prepared.map((p) => p.fields))];
      if (problems.length > 0) throw validationFailed(problems);
      prepared.forEach(({ fields }, i) => checkPiiStorable(fields, `inputs[${i}].`));
      return write(workspaceId, async (trx) => {
        await checkLimit(trx, workspaceId, inputs.length);
        const clashes = (await Promise.all(prepared.map(({ fields }, i) => checkFree(trx, workspaceId, fields, `inputs[${i}].`)))).flat();
        if (clashes.length > 0) throw clashed('Some properties clash with existing ones; nothing was created.', clashes);
        const created: Property[] = [];
        for (const { fields } of prepared) created.push(await insertNew(trx, workspaceId, fields, false, actor));
        return created;
      });
    },

    async update(workspaceId: number, ref: string, patch: PropertyPatch, opts: Actor & { ifMatch?: number }): Promise<Property> {
      return write(workspaceId, async (trx) => {
        const current = await mustFind(trx, workspaceId, ref);
        if (opts.ifMatch !== undefined && opts.ifMatch !== current.version) {
          throw new AppError('PRECONDITION_FAILED', `Property "${current.name}" is at version ${current.version}, not ${opts.ifMatch}.`, [], 'STALE_VERSION');
        }
        if (current.system) throw new AppError('CONFLICT', `System property "${current.name}" cannot be changed.`, [], 'SYSTEM_PROPERTY');
        const immutable = IMMUTABLE_FIELDS.filter((f) => patch[f] !== undefined && patch[f] !== current[f]).map((f) => ({
          field: f,
          problem: f === 'multi_valued' ? `changes with its values only: ${changeFlow(current.name)}` : 'cannot be changed after creation',
        }));
        if (immutable.length > 0) throw new AppError('CONFLICT', 'Some fields cannot be changed.', immutable, 'IMMUTABLE_FIELD');
        await refuseWhileChanging(trx, workspaceId, current);

        const fields = normaliseAliases(applyPatch(fieldsOf(current), patch));
        const problems = checkDefinition(fields);
        if (problems.length > 0) throw validationFailed(problems);
        checkPiiStorable(fields, '');
        const changes = diffFields(fieldsOf(current), fields);
        if (Object.keys(changes).length === 0) return current;
        // Writers that read the definition before this change commit first, so that the checks
        // below count their values (a type, a key claim, a narrowing) and a re-encoding queued
        // here re-stores them; writers after it wait for this commit.
        await jobs.gate(trx, workspaceId, 'start');
        if (changes.data_type) {
          const holders = await usage.holders(trx, workspaceId, current.id);
          if (holders > 0) {
            const hold = `${holders} profile${holders === 1 ? ' holds' : 's hold'}`;
            throw new AppError(
              'CONFLICT',
              `data_type cannot change by PATCH while ${hold} values of "${current.name}": ${changeFlow(current.name)}.`,
              [{ field: 'data_type', problem: `${hold} values` }],
              'TYPE_FROZEN',
            );
          }
        }
        await refuseKeyClaims(trx, workspaceId, current, fields);
        await refuseBreakingValues(trx, workspaceId, current, fields);

        const clashes = await checkFree(trx, workspaceId, fields, '', current.id);
        if (clashes.length > 0) throw clashed('The change clashes with another property.', clashes);
        const at = isoNow(clock);
        const updated = await repo.updateProperty(trx, workspaceId, current.id, current.version, { fields, at });
        if (!updated) throw new AppError('PRECONDITION_FAILED', `Property "${current.name}" changed while it was being updated; read it again.`, [], 'STALE_VERSION');
        await repo.replacePropertyKeys(trx, workspaceId, current.id, keysOf(fields));
        await usage.releaseKeys(trx, workspaceId, current, updated);
        await repo.insertHistory(trx, workspaceId, current.id, { version: updated.version, at, key_id: opts.actor, action: 'updated', changes });
        // Values already stored are encrypted (or decrypted) in the background; while the job
        // runs, writes of a unique or identity property are refused (the profiles service reads
        // the job), and afterwards those checked against an older version for a moment.
        if (changes.pii) {
          const holders = await usage.holders(trx, workspaceId, current.id);
          if (holders > 0) {
            await jobs.enqueue(trx, workspaceId, { type: 'reencode_property', total: holders, payload: { property_id: current.id, pii: fields.pii, version: updated.version } });
          }
        }
        return updated;
      });
    },

    async archive(workspaceId: number, ref: string, opts: Actor): Promise<Property> {
      return setArchived(workspaceId, ref, true, opts.actor);
    },

    async restore(workspaceId: number, ref: string, opts: Actor): Promise<Property> {
      return setArchived(workspaceId, ref, false, opts.actor);
    },

    /** Removes the definition for good and frees its name; its values are purged by the job. */
    async purge(workspaceId: number, ref: string, { actor }: Actor): Promise<Job> {
      return write(workspaceId, async (trx) => {
        const current = await mustFind(trx, workspaceId, ref);
        if (current.system) throw new AppError('CONFLICT', `System property "${current.name}" cannot be deleted.`, [], 'SYSTEM_PROPERTY');
        await refuseWhileChanging(trx, workspaceId, current);
        const sources = await usage.mappedBy(trx, workspaceId, current.id);
        if (sources.length > 0) {
          throw new AppError(
            'CONFLICT',
            `Property "${current.name}" is mapped by the data sources ${sources.map((s) => `"${s}"`).join(', ')}; remove those mappings first.`,
            [{ field: 'sources', problem: 'these data sources map the property', allowed: sources }],
            'MAPPED_BY_SOURCES',
          );
        }
        const at = isoNow(clock);
        await repo.deleteProperty(trx, workspaceId, current.id);
        await repo.insertHistory(trx, workspaceId, current.id, {
          version: current.version + 1,
          at,
          key_id: actor,
          action: 'purged',
          changes: {},
        });
        // The definition is gone at once; the job runner removes its values in bounded batches.
        return jobs.enqueue(trx, workspaceId, {
          type: 'purge_property',
          total: await usage.holders(trx, workspaceId, current.id),
          payload: { property_id: current.id, name: current.name },
        });
      });
    },

    /** What a change would do to the stored values, and the definition diff; writes nothing. */
    async previewChange(workspaceId: number, ref: string, change: DefinitionChange, opts: { piiReadable: boolean }): Promise<ChangePreview> {
      const current = await mustFind(db, workspaceId, ref);
      const { next, changes } = plan(current, change);
      const scan = await usage.scanChange(db, workspaceId, current, next, change.value_map ?? {}, (current.pii || next.pii) && !opts.piiReadable);
      return { ...scan, changes };
    },

    /**
     * Starts a change: a job converts the values and lands the definition with them. `ifMatch`
     * is required: the change applies to the version previewed.
     */
    async startChange(workspaceId: number, ref: string, change: DefinitionChange & { on_failure: 'abort' | 'clear' }, opts: Actor & { ifMatch: number | undefined }): Promise<Job> {
      return write(workspaceId, async (trx) => {
        const current = await mustFind(trx, workspaceId, ref);
        if (opts.ifMatch === undefined) {
          throw new AppError(
            'PRECONDITION_REQUIRED',
            `A change applies to the version previewed: send If-Match: "${current.version}" (the ETag of GET .../properties/${current.name}).`,
            [{ field: 'If-Match', problem: 'is required' }],
            'IF_MATCH_REQUIRED',
          );
        }
        if (opts.ifMatch !== current.version) {
          throw new AppError('PRECONDITION_FAILED', `Property "${current.name}" is at version ${current.version}, not ${opts.ifMatch}.`, [], 'STALE_VERSION');
        }
        // Writers that already checked for a running change commit before this one is queued.
        await jobs.gate(trx, workspaceId, 'start');
        await refuseWhileChanging(trx, workspaceId, current);
        const { on_failure, value_map = {}, ...fields } = change;
        const { next } = plan(current, { ...fields, value_map });
        return jobs.enqueue(trx, workspaceId, {
          type: 'change_property',
          total: await usage.holders(trx, workspaceId, current.id),
          payload: { property_id: current.id, from: current, to: next, value_map, on_failure, actor: opts.actor, phase: 'stage' },
        });
      });
    },

    /**
     * Lands a change's definition inside the job's last transaction: the version bumps once and
     * the history entry records the change and the counts. Undefined when the definition moved
     * meanwhile (the job then changes nothing).
     */
    async landChange(
      trx: Transaction<Database>,
      workspaceId: number,
      c: { from: Property; to: Property; actor: string | null; job: string; counts: { profiles_with_values: number; converted: number; cleared: number } },
    ): Promise<Property | undefined> {
      const at = isoNow(clock);
      const fields = fieldsOf(c.to);
      const updated = await repo.updateProperty(trx, workspaceId, c.from.id, c.from.version, { fields, at });
      if (!updated) return undefined;
      await usage.releaseKeys(trx, workspaceId, c.from, updated);
      const changes = { ...diffFields(fieldsOf(c.from), fields), values: { from: { profiles: c.counts.profiles_with_values }, to: { converted: c.counts.converted, cleared: c.counts.cleared, job: c.job } } };
      await repo.insertHistory(trx, workspaceId, c.from.id, { version: updated.version, at, key_id: c.actor, action: 'updated', changes });
      return updated;
    },

    /** Drops the workspace's cached definitions here and, through the broadcast, on every server. */
    changed(workspaceId: number): Promise<void> {
      return reads.changed(workspaceId);
    },

    async history(workspaceId: number, ref: string, limit: number, cursor?: string): Promise<Page<HistoryEntry>> {
      const property = await mustFind(db, workspaceId, ref);
      const after = decodeCursor(cursor, 1) as [number] | undefined;
      const rows = await repo.listHistory(db, workspaceId, property.id, limit + 1, after?.[0]);
      return toPage(rows, limit, (h) => [h.version], (h) => h);
    },

    async limits(workspaceId: number): Promise<{ used: number; limit: number }> {
      return repo.countCustomProperties(db, workspaceId);
    },
  };

  /**
   * A PATCH that turns unique or the identity role on while profiles hold values: 409 with how
   * many, pointing at the change flow, whose job checks the values for duplicates and claims
   * their keys as it lands. Without values the PATCH goes through (there is nothing to claim).
   */
  async function refuseKeyClaims(trx: Transaction<Database>, workspaceId: number, current: Property, fields: PropertyFields): Promise<void> {
    const claiming = keyClaimingFields(current, fields);
    if (claiming.length === 0) return;
    const holders = await usage.holders(trx, workspaceId, current.id);
    if (holders === 0) return;
    const hold = `${holders} profile${holders === 1 ? ' holds' : 's hold'}`;
    throw new AppError(
      'CONFLICT',
      `${claiming.join(' and ')} cannot be turned on by PATCH while ${hold} values of "${current.name}": each value must claim its key, and duplicates be found, by a change with data: ${changeFlow(current.name)}.`,
      claiming.map((field) => ({ field, problem: `${hold} values, whose keys a change claims` })),
      'KEYS_NEED_CHANGE',
    );
  }

  /**
   * A PATCH that narrows options, validation or unique is checked against the stored values: if
   * any would break, 409 with how many profiles, pointing at the change flow. Loosening never reads.
   */
  async function refuseBreakingValues(trx: Transaction<Database>, workspaceId: number, current: Property, fields: PropertyFields): Promise<void> {
    const narrowed = narrowingFields(fieldsOf(current), fields);
    if (narrowed.length === 0 || (await usage.holders(trx, workspaceId, current.id)) === 0) return;
    const scan = await usage.scanChange(trx, workspaceId, current, { ...current, ...fields }, {}, true);
    if (scan.failing === 0) return;
    const profiles = `${scan.failing} profile${scan.failing === 1 ? ' holds a value' : 's hold values'}`;
    throw new AppError(
      'CONFLICT',
      `This change would break stored values: ${profiles} of "${current.name}" that ${narrowed.join(', ')} would refuse. To convert or clear them, ${changeFlow(current.name)}.`,
      narrowed.map((field) => ({ field, problem: `${profiles} this would refuse` })),
      'VALUES_BREAK',
    );
  }

  async function setArchived(workspaceId: number, ref: string, archived: boolean, actor: string): Promise<Property> {
    return write(workspaceId, async (trx) => {
      const current = await mustFind(trx, workspaceId, ref);
      if (current.system) throw new AppError('CONFLICT', `System property "${current.name}" cannot be ${archived ? 'archived' : 'restored'}.`, [], 'SYSTEM_PROPERTY');
      if (current.archived === archived) return current;
      await refuseWhileChanging(trx, workspaceId, current);
      const at = isoNow(clock);
      const updated = await repo.updateProperty(trx, workspaceId, current.id, current.version, { archived, at });
      if (!updated) throw new AppError('PRECONDITION_FAILED', `Property "${current.name}" changed meanwhile; try again.`, [], 'STALE_VERSION');
      await repo.insertHistory(trx, workspaceId, current.id, {
        version: updated.version,
        at,
        key_id: actor,
        action: archived ? 'archived' : 'restored',
        changes: { archived: { from: !archived, to: archived } },
      });
      return updated;
    });
  }
}
