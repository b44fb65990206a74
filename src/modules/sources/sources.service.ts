import type { Kysely, Transaction } from 'kysely';
import { isUniqueViolation } from '../../db/db-errors.ts';
import type { Database } from '../../db/schema.ts';
import { type Clock, isoNow } from '../../shared/clock.ts';
import { AppError, type ErrorDetail, validationFailed } from '../../shared/errors.ts';
import { decodeCursor, toPage, type Page } from '../../shared/pagination.ts';
import { findProperty } from '../properties/properties.repository.ts';
import { mergeFunctionsFor } from '../properties/property.ts';
import { mappingWithDefaults, type MappingInput, type Source, type SourceInput, type SourcePatch } from './source.ts';
import * as repo from './sources.repository.ts';
import type { StoredMapping } from './sources.repository.ts';

export type SourceService = ReturnType<typeof createSourceService>;

export function createSourceService({ db, clock }: { db: Kysely<Database>; clock: Clock }) {
  /** Every mapping must name a live property once, with a merge function its type allows. */
  async function resolveMappings(trx: Transaction<Database>, workspaceId: number, inputs: MappingInput[]): Promise<StoredMapping[]> {
    const problems: ErrorDetail[] = [];
    const stored: StoredMapping[] = [];
    const seen = new Set<number>();
    for (const [i, input] of inputs.entries()) {
      const m = mappingWithDefaults(input);
      const property = await findProperty(trx, workspaceId, { name: m.property });
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
      stored.push({ ...m, property: property.name, property_id: property.id });
    }
    if (problems.length > 0) throw validationFailed(problems);
    return stored;
  }

  /**
   * The identity properties a source writes Segment's ids to: each must be a live property with
   * an identity role, so that a call's userId and anonymousId find their profile.
   */
  async function resolveIdentityProperties(
    trx: Transaction<Database>,
    workspaceId: number,
    input: Pick<SourceInput, 'user_id_property' | 'anonymous_id_property'>,
    current: repo.SourceIdentityColumns,
  ): Promise<repo.SourceIdentityColumns> {
    const problems: ErrorDetail[] = [];
    const resolve = async (field: 'user_id_property' | 'anonymous_id_property', kept: number | null): Promise<number | null> => {
      const name = input[field];
      if (name === undefined) return kept;
      if (name === null) return null;
      const property = await findProperty(trx, workspaceId, { name });
      if (!property || property.archived) problems.push({ field, problem: `no property "${name}" in this workspace` });
      else if (property.identity.role === 'none') problems.push({ field, problem: `"${property.name}" is not an identity property (its identity role is none)` });
      return property?.id ?? null;
    };
    const resolved = {
      user_id_property_id: await resolve('user_id_property', current.user_id_property_id),
      anonymous_id_property_id: await resolve('anonymous_id_property', current.anonymous_id_property_id),
    };
    if (resolved.user_id_property_id !== null && resolved.user_id_property_id === resolved.anonymous_id_property_id) {
      problems.push({ field: 'anonymous_id_property', problem: 'must differ from user_id_property, or a user id and an anonymous id could be taken for one another' });
    }
    if (problems.length > 0) throw validationFailed(problems);
    return resolved;
  }

  async function mustFind(conn: Kysely<Database> | Transaction<Database>, workspaceId: number, id: number): Promise<Source> {
    const [source] = await repo.findSources(conn, workspaceId, { id });
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
      const rows = await repo.findSources(db, workspaceId, { limit: limit + 1, afterId: after?.[0] });
      return toPage(rows, limit, (s) => [s.id], (s) => s);
    },

    get(workspaceId: number, id: number): Promise<Source> {
      return mustFind(db, workspaceId, id);
    },

    async update(workspaceId: number, id: number, patch: SourcePatch): Promise<Source> {
      return write(async (trx) => {
        const current = await mustFind(trx, workspaceId, id);
        if (patch.mappings !== undefined) await repo.replaceMappings(trx, workspaceId, id, await resolveMappings(trx, workspaceId, patch.mappings));
        const identities = await resolveIdentityProperties(trx, workspaceId, patch, await repo.identityColumns(trx, workspaceId, id));
        await repo.updateSource(trx, workspaceId, {
          id,
          name: patch.name ?? current.name,
          priority: patch.priority ?? current.priority,
          updated_at: isoNow(clock),
          ...identities,
        });
        return mustFind(trx, workspaceId, id);
      });
    },

    async remove(workspaceId: number, id: number): Promise<void> {
      const deleted = await write((trx) => repo.deleteSource(trx, workspaceId, id));
      if (!deleted) throw new AppError('NOT_FOUND', `Source ${id} not found.`);
    },
  };
}
