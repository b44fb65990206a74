// Which database a connection speaks, for the few statements each writes its own way.
import { PostgresAdapter, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

export const isPostgres = (db: Kysely<Database>): boolean => db.getExecutor().adapter instanceof PostgresAdapter;
