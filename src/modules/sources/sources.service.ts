import type { Kysely, Transaction } from 'kysely';
import { isUniqueViolation } from '../../db/db-errors.ts';
import type { Database } from '../../db/schema.ts';
import { type Clock, isoNow } from '../../shared/clock.ts';
import { AppError, type ErrorDetail, validationFailed } from '../../shared/errors.ts';
import { isStoredId } from '../../shared/ids.ts';
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

  async function mustFind(conn: Kysely<Database> | Transaction<Database>, workspaceId: number, id: number): Promise<Source> {
    const [source] = isStoredId(id) ? await repo.findSources(conn, workspaceId, { id }) : [];
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
        const id = await repo.nextSourceId(trx, workspaceId);
        const at = isoNow(clock);
        await repo.insertSource(trx, workspaceId, { id, name: input.name, priority: input.priority ?? 1, created_at: at, updated_at: at });
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
        await repo.updateSource(trx, workspaceId, {
          id,
          name: patch.name ?? current.name,
          priority: patch.priority ?? current.priority,
          updated_at: isoNow(clock),
        });
        return mustFind(trx, workspaceId, id);
      });
    },

    async remove(workspaceId: number, id: number): Promise<void> {
      const deleted = isStoredId(id) && (await write((trx) => repo.deleteSource(trx, workspaceId, id)));
      if (!deleted) throw new AppError('NOT_FOUND', `Source ${id} not found.`);
    },
  };
}
