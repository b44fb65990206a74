import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../../db/db-errors.ts';
import type { Database } from '../../db/schema.ts';
import { type Clock, isoNow } from '../../shared/clock.ts';
import { AppError } from '../../shared/errors.ts';
import { isStoredId } from '../../shared/ids.ts';
import { decodeCursor, toPage, type Page } from '../../shared/pagination.ts';
import { canSeeTenant, type Principal } from '../auth/auth.ts';
import * as repo from './tenants.repository.ts';
import type { Tenant } from './tenants.repository.ts';

export type TenantService = ReturnType<typeof createTenantService>;

export function createTenantService({ db, clock }: { db: Kysely<Database>; clock: Clock }) {
  return {
    async create(name: string): Promise<Tenant> {
      // Two creations racing for the same next id: the loser retries with the one after.
      for (let attempt = 0; ; attempt++) {
        try {
          return await db.transaction().execute((trx) => repo.insertTenant(trx, name, isoNow(clock)));
        } catch (error) {
          if (!isUniqueViolation(error) || attempt >= 5) throw error;
        }
      }
    },

    async list(limit: number, cursor?: string): Promise<Page<Tenant>> {
      const after = decodeCursor(cursor, 1) as [number] | undefined;
      return toPage(await repo.listTenants(db, limit + 1, after?.[0]), limit, (t) => [t.id], (t) => t);
    },

    /** The tenant if the caller may see it; another tenant's answers 404, as if absent. */
    async get(principal: Principal, id: number): Promise<Tenant> {
      const tenant = canSeeTenant(principal, id) && isStoredId(id) ? await repo.findTenant(db, id) : undefined;
      if (!tenant) throw new AppError('NOT_FOUND', `Tenant ${id} not found.`);
      return tenant;
    },
  };
}
