import { LRUCache } from 'lru-cache';
import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../../db/db-errors.ts';
import type { Database } from '../../db/schema.ts';
import { type Clock, isoNow } from '../../shared/clock.ts';
import { AppError } from '../../shared/errors.ts';
import { isStoredId } from '../../shared/ids.ts';
import { decodeCursor, toPage, type Page } from '../../shared/pagination.ts';
import { canSeeWorkspace, type Principal } from '../auth/auth.ts';
import type { PropertyService } from '../properties/properties.service.ts';
import type { TenantService } from '../tenants/tenants.service.ts';
import * as repo from './workspaces.repository.ts';
import type { Workspace } from './workspace.ts';
import { cacheStats, counted } from '../../shared/cache-stats.ts';

export type WorkspaceService = ReturnType<typeof createWorkspaceService>;

export interface WorkspaceCreate {
  name: string;
  id?: number;
  property_limit?: number;
}

export function createWorkspaceService(deps: {
  db: Kysely<Database>;
  clock: Clock;
  tenants: TenantService;
  properties: PropertyService;
  defaultPropertyLimit: number;
}) {
  const { db, clock, tenants, properties } = deps;
  // Workspaces never change owner; the most used stay known, within a bound.
  const known = new LRUCache<number, Workspace>({ max: 10_000 });
  const stats = cacheStats();

  /** A workspace never changes owner and is never deleted, so once read it may be kept. */
  async function find(workspaceId: number): Promise<Workspace | undefined> {
    if (!isStoredId(workspaceId)) return undefined;
    const ws = counted(stats, known.get(workspaceId)) ?? (await repo.findWorkspace(db, workspaceId));
    if (ws) known.set(workspaceId, ws);
    return ws;
  }

  return {
    /** The workspace with this id, whoever asks (other modules check ownership themselves). */
    find,

    /** Workspace lookups answered from memory, and read from the database. */
    cacheStats: stats,

    async create(principal: Principal, tenantId: number, input: WorkspaceCreate): Promise<Workspace> {
      await tenants.get(principal, tenantId);
      if (principal.kind === 'key' && principal.workspaceIds !== null) {
        throw new AppError('FORBIDDEN', 'A key restricted to some workspaces cannot create workspaces.');
      }
      if (principal.kind === 'key' && input.property_limit !== undefined) {
        throw new AppError('FORBIDDEN', 'Only the operator may set property_limit.');
      }
      for (let attempt = 0; ; attempt++) {
        try {
          return await db.transaction().execute(async (trx) => {
            const ws = await repo.insertWorkspace(trx, {
              id: input.id ?? (await repo.nextWorkspaceId(trx)),
              tenant_id: tenantId,
              name: input.name,
              property_limit: input.property_limit ?? deps.defaultPropertyLimit,
              created_at: isoNow(clock),
            });
            await properties.seedSystemProperties(trx, ws.id);
            return ws;
          });
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
          if (input.id !== undefined) throw new AppError('ALREADY_EXISTS', `Workspace ${input.id} already exists.`, [{ field: 'id', problem: 'is taken' }]);
          if (attempt >= 5) throw error;
        }
      }
    },

    async list(principal: Principal, tenantId: number, limit: number, cursor?: string): Promise<Page<Workspace>> {
      await tenants.get(principal, tenantId);
      const only = principal.kind === 'key' ? principal.workspaceIds : null;
      const after = decodeCursor(cursor, 1) as [number] | undefined;
      return toPage(await repo.listWorkspaces(db, tenantId, only, limit + 1, after?.[0]), limit, (w) => [w.id], (w) => w);
    },

    /** The workspaces a key reaches, by id, at most `limit`; none for the operator (it lists tenants). */
    async reachable(principal: Principal, limit: number): Promise<Workspace[]> {
      if (principal.kind === 'operator') return [];
      return repo.listWorkspaces(db, principal.tenantId, principal.workspaceIds, limit, undefined);
    },

    /**
     * The workspace a request that names none acts on: the first of the key's workspace_ids,
     * or the tenant's oldest workspace when the key is not restricted.
     */
    async defaultFor(principal: Principal): Promise<Workspace | undefined> {
      if (principal.kind === 'operator') return undefined;
      if (principal.workspaceIds !== null) {
        const first = principal.workspaceIds[0];
        const ws = first === undefined ? undefined : await find(first);
        return ws && canSeeWorkspace(principal, ws) ? ws : undefined;
      }
      const [oldest] = await repo.firstWorkspaces(db, principal.tenantId, null, 1);
      return oldest;
    },

    /** The only workspace the key reaches, or undefined when it reaches none or several. */
    async onlyFor(principal: Principal): Promise<Workspace | undefined> {
      if (principal.kind === 'operator') return undefined;
      const found = await repo.firstWorkspaces(db, principal.tenantId, principal.workspaceIds, 2);
      return found.length === 1 ? found[0] : undefined;
    },

    /**
     * The workspace if the caller may touch it; otherwise 404, so existence does not leak. Every
     * request asks: one in memory comes back at once, any other as a promise of its read.
     */
    resolve(principal: Principal, workspaceId: number): Workspace | Promise<Workspace> {
      const held = isStoredId(workspaceId) ? known.get(workspaceId) : undefined;
      if (held === undefined) return find(workspaceId).then((ws) => visible(principal, ws, workspaceId));
      stats.hits++;
      return visible(principal, held, workspaceId);
    },
  };
}

function visible(principal: Principal, ws: Workspace | undefined, workspaceId: number): Workspace {
  if (!ws || !canSeeWorkspace(principal, ws)) throw new AppError('NOT_FOUND', `Workspace ${workspaceId} not found.`);
  return ws;
}
