// Multi-row inserts written as text: for the hottest writes a query built and compiled for each
// chunk cost more than the database took to store the rows.
import { CompiledQuery, type Kysely } from 'kysely';
import { isPostgres } from './dialect.ts';
import { inChunks } from './in-chunks.ts';
import type { Database } from './schema.ts';

const texts = new Map<string, string>();

/**
 * The insert of `count` rows of `columns`, its parameters as each database takes them ($1; ? on
 * SQLite, where numbered ones bind far slower), numbered from `from` + 1.
 */
function insertSql(table: string, columns: readonly string[], count: number, postgres: boolean, upsert: Upsert | undefined, orFail: boolean, from = 0): string {
  let n = from;
  const p = () => (postgres ? `$${++n}` : '?');
  const rows = Array.from({ length: count }, () => `(${columns.map(p).join(', ')})`).join(', ');
  const update = upsert && columns.filter((c) => !upsert.key.includes(c)).map((c) => `${c} = excluded.${c}`);
  return `insert${orFail && !postgres ? ' or fail' : ''} into ${table} (${columns.join(', ')}) values ${rows}${update ? ` on conflict (${upsert.key.join(', ')}) do update set ${update.join(', ')}` : ''}`;
}

/** insertSql, built once per table, row count, dialect, upsert and failure. */
function insertText(table: string, columns: readonly string[], count: number, postgres: boolean, upsert: Upsert | undefined, orFail: boolean): string {
  const key = `${table}:${count}:${postgres}:${upsert?.key.join(',') ?? ''}:${orFail}`;
  let text = texts.get(key);
  if (text === undefined) texts.set(key, (text = insertSql(table, columns, count, postgres, upsert, orFail)));
  return text;
}

/** A row whose `key` (a unique index's columns) another row holds replaces that row's other columns. */
export type Upsert = { key: readonly string[] };

/**
 * Inserts rows given as their parameters (in `columns` order), at most `size` a statement (see
 * inChunks); `upsert` and `orFail` as RowsOf has them.
 */
export function insertRows(db: Kysely<Database>, table: string, columns: readonly string[], rows: readonly unknown[][], size: number, { upsert, orFail = false }: Pick<RowsOf, 'upsert' | 'orFail'> = {}): Promise<void> {
  const postgres = isPostgres(db);
  return inChunks(rows, size, (chunk) => db.executeQuery(CompiledQuery.raw(insertText(table, columns, chunk.length, postgres, upsert, orFail), chunk.flat())));
}

/** Rows of one table for insertRowsTogether. */
export interface RowsOf {
  table: string;
  columns: readonly string[];
  rows: readonly unknown[][];
  /** Rows per statement, at most. */
  size: number;
  upsert?: Upsert;
  /**
   * SQLite: a row that fails ends the statement and the rows before it stay (INSERT OR FAIL), for
   * callers whose savepoint or transaction undoes a failed write whole. Then SQLite keeps no
   * statement journal, the copy of every page the statement changes that it makes otherwise
   * (to undo the statement alone), written to a temporary file once past 64 KiB. A table with
   * a foreign key keeps one all the same.
   */
  orFail?: boolean;
}

/**
 * Inserts rows into several tables. On PostgreSQL, when each table's rows fit one statement,
 * they go as one (the first tables' inserts in a data-modifying WITH): a round trip for all.
 * Otherwise, and on SQLite (where a statement is no round trip), insertRows for each table.
 */
export async function insertRowsTogether(db: Kysely<Database>, parts: readonly RowsOf[]): Promise<void> {
  const given = parts.filter((part) => part.rows.length > 0);
  if (given.length > 1 && isPostgres(db) && given.every((part) => part.rows.length <= part.size)) {
    const key = given.map((part) => `${part.table}:${part.rows.length}:${part.upsert?.key.join(',') ?? ''}`).join('/');
    let text = texts.get(key);
    if (text === undefined) {
      let from = 0;
      const statements = given.map((part) => {
        const statement = insertSql(part.table, part.columns, part.rows.length, true, part.upsert, false, from);
        from += part.rows.length * part.columns.length;
        return statement;
      });
      const last = statements.pop()!;
      texts.set(key, (text = `with ${statements.map((statement, i) => `w${i} as (${statement})`).join(', ')} ${last}`));
    }
    await db.executeQuery(CompiledQuery.raw(text, given.flatMap((part) => part.rows.flat())));
    return;
  }
  for (const part of given) await insertRows(db, part.table, part.columns, part.rows, part.size, part);
}
