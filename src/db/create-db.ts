import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, type LogEvent, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import { DatabaseUnreachableError } from './db-errors.ts';
import type { Database } from './schema.ts';
import { nodeSqliteDialect, openSqlite, SNAPSHOT_CACHE_KIB, type SqliteSynchronous } from './sqlite-driver.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface DbHandle {
  db: Kysely<Database>;
  dialect: Dialect;
}

export interface DbOptions {
  /** SQLite: how long a statement waits for another process's write lock (ms). */
  busyTimeoutMs?: number;
  /** SQLite: `full` (the default) syncs every commit to disk; `normal` only at checkpoints. */
  synchronous?: SqliteSynchronous;
  /** SQLite: told of every commit, with how many transactions it held (group commit) and how long it took. */
  onCommit?: (transactions: number, ms: number) => void;
  /** Told of every statement, with its duration and parameters (PostgreSQL's commits are among them). */
  onQuery?: (ms: number, sql: string, parameters: readonly unknown[]) => void;
  /** PostgreSQL: connections the pool opens at most (10 by default; see README, PROPDICT_PG_POOL_MAX). */
  poolMax?: number;
  /** PostgreSQL: statements prepared by name (true by default; see README, PROPDICT_PG_PREPARED). */
  prepared?: boolean;
  /** PostgreSQL: an idle connection was lost (the server restarted, failed over, or ended it). */
  onConnectionError?: (error: Error) => void;
}

/** The file a `sqlite:` URL names, or undefined for `sqlite::memory:` and PostgreSQL. */
export function sqliteFile(databaseUrl: string): string | undefined {
  if (!databaseUrl.startsWith('sqlite:')) return undefined;
  const path = databaseUrl.slice('sqlite:'.length);
  return path === ':memory:' ? undefined : path;
}

/** Texts prepared by name, at most, per process: past it a text is sent unnamed (parsed and planned each time). */
const NAMED_STATEMENTS = 500;
/** Each text's name; '' for a text never prepared by name. */
const statementNames = new Map<string, string>();
let named = 0;
/**
 * Every column of a table (`select *`, `returning *`): PostgreSQL refuses to run such a statement,
 * once prepared, after a migration adds a column to the table ("cached plan must not change
 * result type"), which a server still running the older code would meet during an upgrade.
 */
const EVERY_COLUMN = /\b(?:select|returning) \*/;
/**
 * The name a statement text is prepared under. node-postgres parses a named statement once per
 * connection and then sends only its parameters; PostgreSQL keeps it with its plan and, after five
 * runs, reuses a generic plan where that costs no more than planning each run (plan_cache_mode
 * `auto`): a profile GET, PATCH or POST is no longer parsed and planned each time
 * (docs/architecture.md). test/postgres-plans.test.ts holds the generic plans of the one-profile
 * requests to the same rules as their custom ones. Values are parameters and lists come in a few
 * lengths, so the texts are few; the cap bounds what each connection keeps all the same. A text
 * that reads every column of a table is sent unnamed (EVERY_COLUMN).
 */
function statementName(sql: string): string | undefined {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = named < NAMED_STATEMENTS && !EVERY_COLUMN.test(sql) ? `propdict_${named++}` : '';
    // Unnamed texts are remembered up to a bound too, so that the test above runs once for each.
    if (name !== '' || statementNames.size < 10 * NAMED_STATEMENTS) statementNames.set(sql, name);
  }
  return name === '' ? undefined : name;
}

/**
 * The pool as Kysely uses it, with every failure to get a connection, or a connection lost under
 * a query (which pg reports without a code), raised as DatabaseUnreachableError: a request then
 * answers 503, and the next one tries a new connection.
 */
function resilientPool(pool: pg.Pool, prepared: boolean, onConnectionError?: (error: Error) => void): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw new DatabaseUnreachableError(error);
      }
      // The pool listens for errors on idle connections only: one lost while a request holds it
      // (terminated by the server, reset) would otherwise be an unhandled 'error' event that
      // ends the process. Its query fails (503) and the broken connection is dropped at release.
      let lost: Error | undefined;
      const onError = (error: Error) => {
        lost = error;
        onConnectionError?.(error);
      };
      client.on('error', onError);
      return {
        query: (async (sql: string, parameters: unknown[]) => {
          try {
            const name = prepared && parameters.length > 0 ? statementName(sql) : undefined;
            return await (name === undefined ? client.query(sql, parameters) : client.query({ name, text: sql, values: parameters }));
          } catch (error) {
            // Every error the server reports is a DatabaseError with its SQLSTATE; pg's own
            // plain errors here mean the connection is gone.
            if (error instanceof pg.DatabaseError || !(error instanceof Error) || error.constructor !== Error) throw error;
            throw new DatabaseUnreachableError(error);
          }
        }) as unknown as PostgresPoolClient['query'],
        release: () => {
          client.removeListener('error', onError);
          client.release(lost);
        },
      };
    },
    end: () => pool.end(),
  };
}

/** Kysely's log, when statements are to be timed. */
function queryLog({ onQuery }: DbOptions): ((event: LogEvent) => void) | undefined {
  return onQuery && ((event) => onQuery(event.queryDurationMillis, event.query.sql, event.query.parameters));
}

export function createDb(databaseUrl: string, options: DbOptions = {}): DbHandle {
  if (databaseUrl.startsWith('sqlite:')) {
    const file = sqliteFile(databaseUrl);
    if (file !== undefined) mkdirSync(dirname(file), { recursive: true });
    const database = openSqlite(file ?? ':memory:', options.synchronous);
    return { dialect: 'sqlite', db: new Kysely<Database>({ dialect: nodeSqliteDialect({ database, busyTimeoutMs: options.busyTimeoutMs ?? 5000, onCommit: options.onCommit, snapshots: file === undefined ? undefined : () => openSqlite(file, options.synchronous, SNAPSHOT_CACHE_KIB) }), log: queryLog(options) }) };
  }
  // A connection that cannot be made in time fails the request (503) rather than queueing it.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.poolMax ?? 10, connectionTimeoutMillis: 5000 });
  // Without a listener an idle connection's error (a restart, a failover, pg_terminate_backend)
  // would end the process; the pool drops that connection and opens another when next asked.
  pool.on('error', (error) => options.onConnectionError?.(error));
  return { dialect: 'postgres', db: new Kysely<Database>({ dialect: new PostgresDialect({ pool: resilientPool(pool, options.prepared ?? true, options.onConnectionError) }), log: queryLog(options) }) };
}
