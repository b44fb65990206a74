import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.ts';

type Conn = Kysely<Database> | Transaction<Database>;

export interface Tenant {
  id: number;
  name: string;
  created_at: string;
}

export async function insertTenant(trx: Transaction<Database>, name: string, at: string): Promise<Tenant> {
  const { next } = await trx
    .selectFrom('tenants')
    .select((eb) => eb(eb.fn.coalesce(eb.fn.max('id'), eb.lit(0)), '+', 1).as('next'))
    .executeTakeFirstOrThrow();
  return trx.insertInto('tenants').values({ id: Number(next), name, created_at: at }).returningAll().executeTakeFirstOrThrow();
}

export function findTenant(db: Conn, id: number): Promise<Tenant | undefined> {
  return db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listTenants(db: Conn, limit: number, afterId: number | undefined): Promise<Tenant[]> {
  let query = db.selectFrom('tenants').selectAll();
  if (afterId !== undefined) query = query.where('id', '>', afterId);
  return query.orderBy('id').limit(limit).execute();
}
