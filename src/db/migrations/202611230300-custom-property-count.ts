import { sql, type Kysely } from 'kysely';

// Kysely<any>: a migration is frozen against the schema of its own time, not the app's types.

// The count of a workspace's custom properties lives on its row, changed in the transaction that
// creates or purges one: the limit check no longer counts every property on each create.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('workspaces').addColumn('custom_properties', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await sql`update workspaces set custom_properties = (select count(*) from properties p where p.workspace_id = workspaces.id and p.system = 0)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('workspaces').dropColumn('custom_properties').execute();
}
