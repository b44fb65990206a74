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
  type LimitNode,
  type OffsetNode,
  type OperationNode,
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
  /** Told of every commit: how many transactions it held and how long it took. */
  onCommit?: (transactions: number, ms: number) => void;
  /** Opens another connection on the same file, for a read-only transaction; none for `:memory:`. */
  snapshots?: () => DatabaseSync;
}

/** The parameters as node:sqlite binds them: booleans as 0 and 1. Copied only when there is one (a multi-row insert binds thousands). */
function toSqlite(parameters: ReadonlyArray<unknown>): SQLInputValue[] {
  for (let i = 0; i < parameters.length; i++) {
    if (typeof parameters[i] === 'boolean') return parameters.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : (p as SQLInputValue)));
  }
  return parameters as SQLInputValue[];
}

/** A row read as an array (`setReturnArrays`) made the object Kysely expects. */
function rowObjects(rows: unknown[][], names: readonly string[]): Record<string, unknown>[] {
  const out = new Array<Record<string, unknown>>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    const object: Record<string, unknown> = {};
    for (let j = 0; j < names.length; j++) object[names[j]] = row[j];
    out[i] = object;
  }
  return out;
}

class NodeSqliteConnection implements DatabaseConnection {
  readonly #db: DatabaseSync;
  readonly #busyTimeoutMs: number;
  readonly #arrays: boolean;
  readonly #statements = new Map<string, { stmt: StatementSync; reader: boolean; names?: string[] }>();

  /**
   * `arrays`: rows are read as arrays and made objects here. node:sqlite's own row objects (null
   * prototype, a dictionary each) are allocated outside V8's young generation, so a read of
   * millions of rows (an export's snapshot) filled the old generation with them between full
   * collections: 370 MiB of heap at a million rows (docs/benchmarks.md, "The export's memory").
   */
  constructor(db: DatabaseSync, busyTimeoutMs: number, { arrays = false } = {}) {
    this.#db = db;
    this.#busyTimeoutMs = busyTimeoutMs;
    this.#arrays = arrays;
  }

  #prepare(sql: string) {
    let prepared = this.#statements.get(sql);
    if (!prepared) {
      const stmt = this.#db.prepare(sql);
      const names = stmt.columns().map((c) => c.name);
      const arrays = this.#arrays && names.length > 0;
      if (arrays) stmt.setReturnArrays(true);
      prepared = { stmt, reader: names.length > 0, names: arrays ? names : undefined };
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
    const { stmt, reader, names } = this.#prepare(sql);
    if (names) return { rows: rowObjects(stmt.all(...toSqlite(parameters)) as unknown as unknown[][], names) as R[] };
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
    const { stmt, names } = this.#prepare(sql);
    for (const row of stmt.iterate(...toSqlite(parameters))) yield { rows: (names ? rowObjects([row as unknown as unknown[]], names) : [row]) as R[] };
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

/**
 * One turn with the connection, as Kysely holds it from acquire to release. A transaction's turn
 * may end early (handed on to the next caller) while its commit is still to come.
 */
class Turn implements DatabaseConnection {
  #connection: NodeSqliteConnection;
  /** A connection of this turn's own (a read-only snapshot's), closed when its transaction ends. */
  #own: NodeSqliteConnection | undefined;
  readonly #beforeWrite: () => Promise<void>;
  inTransaction = false;
  /** Its transaction opened the group: it runs in no savepoint (see beginTransaction). */
  opensGroup = false;
  /** In a read-only transaction of its own (not in a group). */
  readOnly = false;
  released = false;

  constructor(connection: NodeSqliteConnection, beforeWrite: () => Promise<void>) {
    this.#connection = connection;
    this.#beforeWrite = beforeWrite;
  }

  run<R>(sql: string): Promise<QueryResult<R>> {
    return this.#connection.executeQuery<R>(CompiledQuery.raw(sql));
  }

  /** From now on this turn reads through a connection of its own. */
  useOwn(connection: NodeSqliteConnection): void {
    this.#own = this.#connection = connection;
  }

  closeOwn(): void {
    this.#own?.close();
    this.#own = undefined;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (!this.inTransaction && query.query.kind !== 'SelectQueryNode') await this.#beforeWrite();
    return this.#connection.executeQuery<R>(query);
  }

  streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    return this.#connection.streamQuery<R>(query);
  }
}

/**
 * How a commit reaches the disk: `full` syncs the write-ahead log at every commit, so an
 * acknowledged write survives an operating system crash or a power loss; `normal` syncs only at
 * checkpoints, so it survives the process being killed but may lose the last commits to a power
 * loss.
 */
export type SqliteSynchronous = 'full' | 'normal';

/**
 * SQLite's page cache, in KiB, per connection: native memory that fills up to its bound as the
 * file grows past it, and then stays. The operating system caches the file too, so a miss here
 * costs a copy, not a disk read. Measured (docs/benchmarks.md, "Import and export"): 64 MiB
 * put the server over 512 MiB during a large import, and a smaller cache did not slow it.
 */
export const SQLITE_CACHE_KIB = 16_384;
/** An export's snapshot reads its pages once, in order: a small cache of its own is enough. */
export const SNAPSHOT_CACHE_KIB = 2_048;

/**
 * Pages the write-ahead log may hold before a commit copies them into the database file (a
 * checkpoint, with a sync of each file): SQLite's default is 1,000 pages (4 MiB). A job step of
 * an import changes more than that, so every step's commit checkpointed: two more syncs a step,
 * and the pages every step changes (the indexes' busiest leaves) copied each time. At 10,000
 * pages (about 40 MiB of log on disk) a checkpoint comes every few steps: in
 * bench/import-export.ts the import took about half the time and 15 % less CPU, and the commit
 * that checkpoints takes longer, about 50 ms more (docs/benchmarks.md, "Import and export").
 */
export const WAL_CHECKPOINT_PAGES = 10_000;

/**
 * Opens the file (WAL), sets the pragmas and the functions queries rely on. Temporary files (the
 * savepoints' sub-journals, a statement's journal) stay on disk: in memory, the landing of a
 * definition change of 1,000,000 values held its statement journal in the heap (peak RSS 667 MiB
 * against 428), and the Segment and profile benches gained nothing measurable from it.
 */
export function openSqlite(path: string, synchronous: SqliteSynchronous = 'full', cacheKiB = SQLITE_CACHE_KIB): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${BLOCKING_WAIT_MS}; PRAGMA journal_mode = WAL; PRAGMA synchronous = ${synchronous.toUpperCase()}; PRAGMA foreign_keys = ON; PRAGMA cache_size = -${cacheKiB}; PRAGMA wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES};`);
  } catch (error) {
    db.close();
    throw error;
  }
  // SQLite's own lower() folds ASCII only; PostgreSQL's folds every script. Match it.
  db.function('lower', { deterministic: true }, (value) => (typeof value === 'string' ? value.toLowerCase() : value));
  return db;
}

/** The open database transaction: the transactions ended in it, waiting for its commit. */
type Group = { waiting: PromiseWithResolvers<void>[]; scheduled: boolean };

/**
 * Group commit. node:sqlite runs each statement at once, so a transaction never waits for the
 * database and, committed as it ends, would always commit alone. Instead a transaction that ends
 * is released into the open database transaction and answered when that commits: the commit is
 * scheduled for the next turn of the event loop, and every transaction that reaches the database
 * meanwhile joins it, each in a savepoint of its own (a failure rolls back only its own work; the
 * first needs none: undone, it is the database transaction's rollback).
 * One commit, one sync, for all of them; a lone transaction waits one turn of the event loop.
 * A write outside a transaction commits the open group first, so that it is durable when it
 * returns; a select outside a transaction reads inside the open group (it may see writes whose
 * commit is under way, as any reader may see a commit not yet synced).
 */
class NodeSqliteDriver implements Driver {
  readonly #options: SqliteOptions;
  readonly #mutex = new Mutex();
  #connection: NodeSqliteConnection | undefined;
  #group: Group | undefined;

  constructor(options: SqliteOptions) {
    this.#options = options;
  }

  async init(): Promise<void> {
    this.#connection = new NodeSqliteConnection(this.#options.database, this.#options.busyTimeoutMs);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#mutex.lock();
    return new Turn(this.#connection!, () => (this.#group ? this.#end(this.#group, 'commit') : Promise.resolve()));
  }

  /**
   * A read-only transaction (an export's snapshot) reads one snapshot and takes no write lock (it
   * begins deferred, in WAL mode), so other processes keep writing while it reads. It joins no
   * group: the open one is committed first, and the snapshot sees its writes.
   */
  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const turn = connection as Turn;
    if (settings.accessMode === 'read only') {
      if (this.#group) await this.#end(this.#group, 'commit');
      const own = this.#options.snapshots?.();
      if (own) {
        // Another connection on the file holds the snapshot, and this process's connection is
        // handed on at once: requests go on while an export reads for minutes.
        turn.useOwn(new NodeSqliteConnection(own, this.#options.busyTimeoutMs, { arrays: true }));
        turn.released = true;
        this.#mutex.unlock();
      }
      await turn.run('begin deferred');
      turn.inTransaction = true;
      turn.readOnly = true;
      return;
    }
    // The transaction that opens a group is alone in it until it ends: undone, it is the
    // database transaction's rollback, and it needs no savepoint of its own. In a savepoint,
    // SQLite copies every page first changed into a sub-journal (a temporary file once past 64
    // KiB), which a lone write then pays for nothing.
    turn.opensGroup = !this.#group;
    if (turn.opensGroup) {
      await turn.run('begin immediate');
      this.#group = { waiting: [], scheduled: false };
    } else await turn.run('savepoint propdict_turn');
    turn.inTransaction = true;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const turn = connection as Turn;
    if (turn.readOnly) return this.#endReadOnly(turn, 'commit');
    if (!turn.opensGroup) await turn.run('release propdict_turn');
    turn.inTransaction = false;
    const committed = Promise.withResolvers<void>();
    this.#group!.waiting.push(committed);
    this.#handOn(turn);
    return committed.promise;
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const turn = connection as Turn;
    if (turn.readOnly) return this.#endReadOnly(turn, 'rollback');
    // Its group's commit failed: the database rolled everything back already.
    if (!turn.inTransaction) return;
    if (turn.opensGroup) {
      // Nothing else is in the group yet: the database transaction ends with it.
      turn.inTransaction = false;
      this.#group = undefined;
      try {
        if (this.#options.database.isTransaction) await turn.run('rollback');
      } finally {
        turn.released = true;
        this.#mutex.unlock();
      }
      return;
    }
    await turn.run('rollback to propdict_turn');
    await turn.run('release propdict_turn');
    turn.inTransaction = false;
    this.#handOn(turn);
  }

  /** A read-only transaction ends alone; its turn is released as any other (or was already, with a connection of its own). */
  async #endReadOnly(turn: Turn, how: 'commit' | 'rollback'): Promise<void> {
    turn.inTransaction = false;
    turn.readOnly = false;
    try {
      await turn.run(how);
    } finally {
      turn.closeOwn();
    }
  }

  /** Ends this turn before its release; the open group's commit is scheduled. */
  #handOn(turn: Turn): void {
    const group = this.#group!;
    if (!group.scheduled) {
      group.scheduled = true;
      setImmediate(() => void this.#commitLater(group));
    }
    turn.released = true;
    this.#mutex.unlock();
  }

  /** The scheduled commit: in its turn with the connection, after every transaction that joined. */
  async #commitLater(group: Group): Promise<void> {
    await this.#mutex.lock();
    try {
      if (this.#group === group) await this.#end(group, group.waiting.length > 0 ? 'commit' : 'rollback');
    } catch {
      // Told to every transaction of the group: #end rejects them.
    } finally {
      this.#mutex.unlock();
    }
  }

  /** Commits (or rolls back) the open group and answers the transactions waiting on it. */
  async #end(group: Group, how: 'commit' | 'rollback'): Promise<void> {
    this.#group = undefined;
    const started = performance.now();
    try {
      await this.#connection!.executeQuery(CompiledQuery.raw(how));
    } catch (error) {
      if (this.#options.database.isTransaction) await this.#connection!.executeQuery(CompiledQuery.raw('rollback'));
      for (const w of group.waiting) w.reject(error);
      throw error;
    }
    if (how === 'commit') this.#options.onCommit?.(group.waiting.length, performance.now() - started);
    for (const w of group.waiting) w.resolve();
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

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const turn = connection as Turn;
    if (turn.released) return;
    turn.released = true;
    this.#mutex.unlock();
  }

  async destroy(): Promise<void> {
    this.#connection?.close();
  }
}

/**
 * A LIMIT or OFFSET that is a bare parameter makes SQLite re-prepare the statement every time a
 * value is bound to it (its planner reads the bound value, and marks the statement stale when the
 * binding changes): for a search's statement, 30-60 µs a run, more than running it. Cast, the
 * parameter is an expression the planner leaves alone, and a statement prepared once is reused.
 */
class NodeSqliteQueryCompiler extends SqliteQueryCompiler {
  #castParameter(keyword: string, value: OperationNode): void {
    if (value.kind !== 'ValueNode') {
      this.append(keyword);
      this.visitNode(value);
      return;
    }
    this.append(`${keyword}cast(`);
    this.visitNode(value);
    this.append(' as integer)');
  }

  protected override visitLimit(node: LimitNode): void {
    this.#castParameter('limit ', node.limit);
  }

  protected override visitOffset(node: OffsetNode): void {
    this.#castParameter('offset ', node.offset);
  }
}

export function nodeSqliteDialect(options: SqliteOptions): Dialect {
  return {
    createDriver: () => new NodeSqliteDriver(options),
    createQueryCompiler: () => new NodeSqliteQueryCompiler(),
    createAdapter: () => new SqliteAdapter(),
    createIntrospector: (db: Kysely<any>) => new SqliteIntrospector(db),
  };
}
