// A query of a fixed shape, built and compiled once per dialect, then run with new values only.
// Kysely builds a query's node tree and compiles it to SQL on every call; on the hottest reads
// (a profile by id, its values) that cost as much CPU as SQLite's execution of them.
import { createQueryId, type CompiledQuery, type Compilable, type Kysely, type RawBuilder } from 'kysely';

/** Stands for the value at `index` of the call's parameters (`item` for an element of a list). */
class Slot {
  readonly index: number;
  readonly item: number | undefined;
  constructor(index: number, item?: number) {
    this.index = index;
    this.item = item;
  }
}

/** Shapes kept per query; a shape is the lengths of the list parameters. */
const SHAPES = 64;

/**
 * `build` (a query builder or a sql`` template) receives stand-ins for its parameters (a list parameter: a list of stand-ins of the
 * same length) and must use each only as a value of the query; literals it adds stay as they
 * are. The query is compiled once per dialect and shape; each call binds its own values.
 */
export function reusableQuery<DB, P extends unknown[], O>(build: (db: Kysely<DB>, ...params: P) => Compilable<O> | RawBuilder<O>) {
  const compiled = new WeakMap<object, Map<string, CompiledQuery<O>>>();
  return async function run(db: Kysely<DB>, ...params: P): Promise<O[]> {
    const adapter = db.getExecutor().adapter;
    let shapes = compiled.get(adapter);
    if (!shapes) compiled.set(adapter, (shapes = new Map()));
    const shape = params.map((p) => (Array.isArray(p) ? p.length : '')).join(',');
    let query = shapes.get(shape);
    if (!query) {
      const slots = params.map((p, i) => (Array.isArray(p) ? p.map((_, j) => new Slot(i, j)) : new Slot(i)));
      const built = build(db, ...(slots as P));
      // A query builder compiles by itself; a sql`` template by the database it is given.
      query = 'isRawBuilder' in built ? built.compile(db) : built.compile();
      if (shapes.size >= SHAPES) shapes.clear();
      shapes.set(shape, query);
    }
    const parameters = query.parameters.map((p) => (p instanceof Slot ? (p.item === undefined ? params[p.index] : (params[p.index] as unknown[])[p.item]) : p));
    return (await db.executeQuery<O>({ query: query.query, sql: query.sql, parameters, queryId: createQueryId() })).rows;
  };
}
