// A Kysely driver for node:sqlite. SQLite has one writer at a time, across every process that
// opens the file, so two things differ from a plain driver:
// - a transaction takes the write lock when it begins (BEGIN IMMEDIATE). A deferred one that
//   reads and then writes fails at once (SQLITE_BUSY_SNAPSHOT) when another process committed in
//   between, and no busy timeout can wait that out;
// - a statement that finds the lock held by another process waits for it without blocking the
//   event loop: a short wait inside SQLite, then asynchronous retries until `busyTimeoutMs` has
//   passed. Then it fails with SQLITE_BUSY, which requests answer as 503 (see db-errors.ts).
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { isBusy } from './db-errors.ts';

/** How long SQLite itself blocks (the event loop with it) before a retry is scheduled instead. */
const BLOCKING_WAIT_MS = 10;
/** Prepared statements kept; Kysely prepares every query it runs. */
const STATEMENT_CACHE = 200;

export interface SqliteOptions {
  /** Opened by openSqlite. */
  database: DatabaseSync;
  /** How long a statement waits for another process's write lock before failing with SQLITE_BUSY. */
  busyTimeoutMs: number;
}

function toSqlite(parameters: ReadonlyArray<unknown>): SQLInputValue[] {
  return parameters.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : (p as SQLInputValue)));
}

class NodeSqliteConnection implements DatabaseConnection {
  readonly #db: DatabaseSync;
  readonly #busyTimeoutMs: number;
  readonly #statements = new Map<string, { stmt: StatementSync; reader: boolean }>();

  constructor(db: DatabaseSync, busyTimeoutMs: number) {
    this.#db = db;
    this.#busyTimeoutMs = busyTimeoutMs;
  }

  #prepare(sql: string) {
    let prepared = this.#statements.get(sql);
    if (!prepared) {
      const stmt = this.#db.prepare(sql);
      prepared = { stmt, reader: stmt.columns().length > 0 };
      // Multi-row statements come in a few row counts (powers of two, profiles.repository.ts's
      // inChunks) and are kept too; a longer text is prepared for its one use.
      if (sql.length <= 32_768) {
        if (this.#statements.size >= STATEMENT_CACHE) this.#statements.clear();
        this.#statements.set(sql, prepared);
      }
    }
    return prepared;
  }

  #run<R>({ sql, parameters }: CompiledQuery): QueryResult<R> {
    const { stmt, reader } = this.#prepare(sql);
    if (reader) return { rows: stmt.all(...toSqlite(parameters)) as R[] };
    const { changes } = stmt.run(...toSqlite(parameters));
    return { numAffectedRows: BigInt(changes), rows: [] };
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const deadline = Date.now() + this.#busyTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return this.#run<R>(query);
      } catch (error) {
        // Inside a transaction the lock is held already: a busy error there cannot be waited out.
        if (!isBusy(error) || this.#db.isTransaction || Date.now() >= deadline) throw error;
      }
      // Jittered, so that processes waiting for the same lock do not retry in step.
      await sleep(Math.min(2 ** attempt, 50) * (0.5 + Math.random()));
    }
  }

  /** A select read row by row (Kysely's `.stream()`), holding the connection until it ends. */
  async *streamQuery<R>({ sql, parameters }: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    const { stmt } = this.#prepare(sql);
    for (const row of stmt.iterate(...toSqlite(parameters))) yield { rows: [row as R] };
  }

  close(): void {
    this.#statements.clear();
    this.#db.close();
  }
}

/** Kysely hands out SQLite's one connection to one caller at a time. */
class Mutex {
  #tail: Promise<void> = Promise.resolve();
  #release: (() => void) | undefined;

  async lock(): Promise<void> {
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise((resolve) => (release = resolve));
    await previous;
    this.#release = release;
  }

  unlock(): void {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }
}

/** Opens the file (WAL), sets the pragmas and the functions queries rely on. */
export function openSqlite(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${BLOCKING_WAIT_MS}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536;`);
  } catch (error) {
    db.close();
    throw error;
  }
  // SQLite's own lower() folds ASCII only; PostgreSQL's folds every script. Match it.
  db.function('lower', { deterministic: true }, (value) => (typeof value === 'string' ? value.toLowerCase() : value));
  return db;
}

class NodeSqliteDriver implements Driver {
  readonly #options: SqliteOptions;
  readonly #mutex = new Mutex();
  #connection: NodeSqliteConnection | undefined;

  constructor(options: SqliteOptions) {
    this.#options = options;
  }

  async init(): Promise<void> {
    this.#connection = new NodeSqliteConnection(this.#options.database, this.#options.busyTimeoutMs);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#mutex.lock();
    return this.#connection!;
  }

  /**
   * A read-only transaction (an export's snapshot) begins deferred: in WAL mode it reads one
   * snapshot and takes no write lock, so other processes keep writing while it reads.
   */
  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(settings.accessMode === 'read only' ? 'begin deferred' : 'begin immediate'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint "${name}"`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to "${name}"`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release "${name}"`));
  }

  async releaseConnection(): Promise<void> {
    this.#mutex.unlock();
  }

  async destroy(): Promise<void> {
    this.#connection?.close();
  }
}

export function nodeSqliteDialect(options: SqliteOptions): Dialect {
  return {
    createDriver: () => new NodeSqliteDriver(options),
    createQueryCompiler: () => new SqliteQueryCompiler(),
    createAdapter: () => new SqliteAdapter(),
    createIntrospector: (db: Kysely<any>) => new SqliteIntrospector(db),
  };
}
