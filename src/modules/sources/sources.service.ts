import type { Kysely, Transaction } from 'kysely';
import { isUniqueViolation } from '../../db/db-errors.ts';
import type { Database } from '../../db/schema.ts';
import { type Clock, isoNow } from '../../shared/clock.ts';
import { AppError, type ErrorDetail, validationFailed } from '../../shared/errors.ts';
import { isStoredId } from '../../shared/ids.ts';
import { decodeCursor, toPage, type Page } from '../../shared/pagination.ts';
import type { ProfileService, RecordResult } from '../profiles/profiles.service.ts';
import type { PropertyService } from '../properties/properties.service.ts';
import { mergeFunctionsFor } from '../properties/property.ts';
import { mappingWithDefaults, recordOf, type MappingInput, type Source, type SourceInput, type SourcePatch } from './source.ts';
import * as repo from './sources.repository.ts';
import type { StoredMapping } from './sources.repository.ts';

type Conn = Kysely<Database> | Transaction<Database>;

export type SourceService = ReturnType<typeof createSourceService>;

export function createSourceService({
  db,
  clock,
  properties,
  profiles,
}: {
  db: Kysely<Database>;
  clock: Clock;
  properties: Pick<PropertyService, 'dictionary'>;
  profiles: Pick<ProfileService, 'batch'>;
}) {
  /** Every mapping must name a live property once, with a merge function its type allows. */
  async function resolveMappings(trx: Transaction<Database>, workspaceId: number, inputs: MappingInput[]): Promise<StoredMapping[]> {
    const problems: ErrorDetail[] = [];
    const stored: StoredMapping[] = [];
    const seen = new Set<number>();
    const byName = new Map((await properties.dictionary(workspaceId, trx)).map((d) => [d.name.toLowerCase(), d]));
    for (const [i, input] of inputs.entries()) {
      const m = mappingWithDefaults(input);
      const property = byName.get(m.property.toLowerCase());
      if (!property || property.archived) {
        problems.push({ field: `mappings[${i}].property`, problem: `no property "${m.property}" in this workspace` });
        continue;
      }
      if (seen.has(property.id)) problems.push({ field: `mappings[${i}].property`, problem: `"${m.property}" is mapped twice` });
      seen.add(property.id);
      const allowed = mergeFunctionsFor(property.data_type, property.multi_valued);
      if (m.merge_function !== null && !allowed.includes(m.merge_function)) {
        problems.push({ field: `mappings[${i}].merge_function`, problem: `does not apply to "${property.name}"`, allowed });
      }
      const { property: _name, ...rest } = m;
      stored.push({ ...rest, property_id: property.id });
    }
    if (problems.length > 0) throw validationFailed(problems);
    return stored;
  }

  /**
   * The identity properties a source writes Segment's ids to: each must be a live property with
   * an identity role, so that a call's userId and anonymousId find their profile.
   */
  async function resolveIdentityProperties(
    conn: Conn,
    workspaceId: number,
    input: Pick<SourceInput, 'user_id_property' | 'anonymous_id_property'>,
    current: repo.SourceIdentityColumns,
  ): Promise<repo.SourceIdentityColumns> {
    const problems: ErrorDetail[] = [];
    const byName = new Map((await properties.dictionary(workspaceId, conn)).map((d) => [d.name.toLowerCase(), d]));
    const resolve = (field: 'user_id_property' | 'anonymous_id_property', kept: number | null): number | null => {
      const name = input[field];
      if (name === undefined) return kept;
      if (name === null) return null;
      const property = byName.get(name.toLowerCase());
      if (!property || property.archived) problems.push({ field, problem: `no property "${name}" in this workspace` });
      else if (property.identity.role === 'none') problems.push({ field, problem: `"${property.name}" is not an identity property (its identity role is none)` });
      return property?.id ?? null;
    };
    const resolved = {
      user_id_property_id: resolve('user_id_property', current.user_id_property_id),
      anonymous_id_property_id: resolve('anonymous_id_property', current.anonymous_id_property_id),
    };
    if (resolved.user_id_property_id !== null && resolved.user_id_property_id === resolved.anonymous_id_property_id) {
      problems.push({ field: 'anonymous_id_property', problem: 'must differ from user_id_property, or a user id and an anonymous id could be taken for one another' });
    }
    if (problems.length > 0) throw validationFailed(problems);
    return resolved;
  }

  /** Sources as callers see them: each mapping, and each id property, names its property. */
  async function named(conn: Conn, workspaceId: number, opts: Parameters<typeof repo.findSources>[2]): Promise<Source[]> {
    const found = await repo.findSources(conn, workspaceId, opts);
    if (found.length === 0) return [];
    // A mapped property (or one a source writes ids to) cannot be purged, so each is in the dictionary.
    const byId = new Map((await properties.dictionary(workspaceId, conn)).map((d) => [d.id, d.name]));
    const name = (id: number | null) => (id === null ? null : (byId.get(id) ?? `#${id}`));
    return found.map(({ user_id_property_id, anonymous_id_property_id, ...s }) => ({
      ...s,
      user_id_property: name(user_id_property_id),
      anonymous_id_property: name(anonymous_id_property_id),
      mappings: s.mappings.map(({ property_id, ...m }) => ({ property: byId.get(property_id) ?? `#${property_id}`, ...m })),
    }));
  }

  async function mustFind(conn: Conn, workspaceId: number, id: number): Promise<Source> {
    const [source] = isStoredId(id) ? await named(conn, workspaceId, { id }) : [];
    if (!source) throw new AppError('NOT_FOUND', `Source ${id} not found.`);
    return source;
  }

  async function write<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    try {
      return await db.transaction().execute(fn);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new AppError('ALREADY_EXISTS', 'A source with that name already exists.', [{ field: 'name', problem: 'is taken in this workspace' }]);
      }
      throw error;
    }
  }

  return {
    async create(workspaceId: number, input: SourceInput): Promise<Source> {
      return write(async (trx) => {
        const mappings = await resolveMappings(trx, workspaceId, input.mappings ?? []);
        const identities = await resolveIdentityProperties(trx, workspaceId, input, { user_id_property_id: null, anonymous_id_property_id: null });
        const id = await repo.nextSourceId(trx, workspaceId);
        const at = isoNow(clock);
        await repo.insertSource(trx, workspaceId, { id, name: input.name, priority: input.priority ?? 1, created_at: at, updated_at: at, ...identities });
        await repo.replaceMappings(trx, workspaceId, id, mappings);
        return mustFind(trx, workspaceId, id);
      });
    },

    async list(workspaceId: number, limit: number, cursor?: string): Promise<Page<Source>> {
      const after = decodeCursor(cursor, 1) as [number] | undefined;
      const rows = await named(db, workspaceId, { limit: limit + 1, afterId: after?.[0] });
      return toPage(rows, limit, (s) => [s.id], (s) => s);
    },

    get(workspaceId: number, id: number): Promise<Source> {
      return mustFind(db, workspaceId, id);
    },

    async update(workspaceId: number, id: number, patch: SourcePatch): Promise<Source> {
      return write(async (trx) => {
        const [current] = await repo.findSources(trx, workspaceId, { id });
        if (!current) throw new AppError('NOT_FOUND', `Source ${id} not found.`);
        if (patch.mappings !== undefined) await repo.replaceMappings(trx, workspaceId, id, await resolveMappings(trx, workspaceId, patch.mappings));
        await repo.updateSource(trx, workspaceId, {
          id,
          name: patch.name ?? current.name,
          priority: patch.priority ?? current.priority,
          updated_at: isoNow(clock),
          ...(await resolveIdentityProperties(trx, workspaceId, patch, current)),
        });
        return mustFind(trx, workspaceId, id);
      });
    },

    async remove(workspaceId: number, id: number): Promise<void> {
      const deleted = isStoredId(id) && (await write((trx) => repo.deleteSource(trx, workspaceId, id)));
      if (!deleted) throw new AppError('NOT_FOUND', `Source ${id} not found.`);
    },

    /**
     * Ingests raw JSON records through a source's mappings (source.ts's recordOf), matched by
     * identity like a batch; the source's priority and its mappings' merge functions apply.
     */
    async ingest(workspaceId: number, id: number, raws: unknown[]): Promise<RecordResult[]> {
      const source = await mustFind(db, workspaceId, id);
      return profiles.batch(workspaceId, raws.map((raw) => recordOf(source, raw)));
    },

    /** Each source's priority by name (1 the highest), in the caller's connection (profile writes rank values by it). */
    priorities(conn: Conn, workspaceId: number): Promise<ReadonlyMap<string, number>> {
      return repo.sourcePriorities(conn, workspaceId);
    },

    /** Names of the sources whose mappings use the property (a mapped property cannot be purged). */
    mappedBy(trx: Transaction<Database>, workspaceId: number, propertyId: number): Promise<string[]> {
      return repo.sourcesMappingProperty(trx, workspaceId, propertyId);
    },
  };
}
