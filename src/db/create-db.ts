import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { Kysely, PostgresDialect, SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface DbHandle {
  db: Kysely<Database>;
  dialect: Dialect;
}

// node:sqlite takes parameters as arguments and has no `reader` flag; Kysely's SQLite
// dialect expects the better-sqlite3 shape, so this adapter bridges the two.
class NodeSqliteStatement implements SqliteStatement {
  readonly reader: boolean;
  readonly #stmt: StatementSync;

  constructor(stmt: StatementSync) {
    this.#stmt = stmt;
    this.reader = stmt.columns().length > 0;
  }

  all(parameters: ReadonlyArray<unknown>): unknown[] {
    return this.#stmt.all(...toSqlite(parameters));
  }

  run(parameters: ReadonlyArray<unknown>) {
    const { changes, lastInsertRowid } = this.#stmt.run(...toSqlite(parameters));
    return { changes, lastInsertRowid };
  }

  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    return this.#stmt.iterate(...toSqlite(parameters));
  }
}

function toSqlite(parameters: ReadonlyArray<unknown>): SQLInputValue[] {
  return parameters.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : (p as SQLInputValue)));
}

class NodeSqliteDatabase implements SqliteDatabase {
  readonly #db: DatabaseSync;
  // Kysely prepares every query it runs; caching keeps hot queries from being re-parsed.
  readonly #cache = new Map<string, NodeSqliteStatement>();

  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -65536;');
    // SQLite's own lower() folds ASCII only; PostgreSQL's folds every script. Match it.
    this.#db.function('lower', { deterministic: true }, (value) => (typeof value === 'string' ? value.toLowerCase() : value));
  }

  prepare(sql: string): SqliteStatement {
    let stmt = this.#cache.get(sql);
    if (!stmt) {
      stmt = new NodeSqliteStatement(this.#db.prepare(sql));
      // Multi-row inserts differ by row count and are big: caching them would only hold memory.
      if (sql.length <= 4096) {
        if (this.#cache.size >= 200) this.#cache.clear();
        this.#cache.set(sql, stmt);
      }
    }
    return stmt;
  }

  close(): void {
    this.#cache.clear();
    this.#db.close();
  }
}

export function createDb(databaseUrl: string): DbHandle {
  if (databaseUrl.startsWith('sqlite:')) {
    const path = databaseUrl.slice('sqlite:'.length);
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    return {
      dialect: 'sqlite',
      db: new Kysely<Database>({ dialect: new SqliteDialect({ database: new NodeSqliteDatabase(path) }) }),
    };
  }
  return {
    dialect: 'postgres',
    db: new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 10 }) }),
    }),
  };
}
