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
function insertSql(table: string, columns: readonly string[], count: number, postgres: boolean, how: InsertHow, from = 0): string {
  let n = from;
  const p = () => (postgres ? `$${++n}` : '?');
  const rows = Array.from({ length: count }, () => `(${columns.map(p).join(', ')})`).join(', ');
  const { upsert } = how;
  const update = upsert && columns.filter((c) => !upsert.key.includes(c)).map((c) => `${c} = excluded.${c}`);
  const verb = how.callerUndoes && !postgres && count > 1 ? 'insert or fail' : 'insert';
  return `${verb} into ${table} (${columns.join(', ')}) values ${rows}${update ? ` on conflict (${upsert.key.join(', ')}) do update set ${update.join(', ')}` : ''}`;
}

const keyOf = (table: string, count: number, how: InsertHow) => `${table}:${count}:${how.upsert?.key.join(',') ?? ''}:${how.callerUndoes ? 'u' : ''}`;

/** insertSql, built once per table, row count, dialect and options. */
function insertText(table: string, columns: readonly string[], count: number, postgres: boolean, how: InsertHow): string {
  const key = `${keyOf(table, count, how)}:${postgres}`;
  let text = texts.get(key);
  if (text === undefined) texts.set(key, (text = insertSql(table, columns, count, postgres, how)));
  return text;
}

/** A row whose `key` (a unique index's columns) another row holds replaces that row's other columns. */
export type Upsert = { key: readonly string[] };

export interface InsertHow {
  upsert?: Upsert;
  /**
   * The caller runs the insert inside a savepoint or transaction that it rolls back when the
   * insert fails (a unique violation): on SQLite a failing statement may then leave the rows it
   * wrote before the failure (`insert or fail`), which spares SQLite a statement journal. With
   * the default (`abort`), every multi-row insert into a table with a unique index opens one
   * inside a transaction, and copies each page it changes into a temporary file first: during an
   * import that was a third of the server's CPU (docs/benchmarks.md, "Import and export").
   * A table with foreign keys still gets one (SQLite checks them at the statement's end).
   */
  callerUndoes?: boolean;
}

/** Inserts rows given as their parameters (in `columns` order), at most `size` a statement (see inChunks). */
export function insertRows(db: Kysely<Database>, table: string, columns: readonly string[], rows: readonly unknown[][], size: number, how: InsertHow = {}): Promise<void> {
  const postgres = isPostgres(db);
  return inChunks(rows, size, (chunk) => db.executeQuery(CompiledQuery.raw(insertText(table, columns, chunk.length, postgres, how), chunk.flat())));
}

/** Rows of one table for insertRowsTogether. */
export interface RowsOf {
  table: string;
  columns: readonly string[];
  rows: readonly unknown[][];
  /** Rows per statement, at most. */
  size: number;
  how?: InsertHow;
}

/**
 * Inserts rows into several tables. On PostgreSQL, when each table's rows fit one statement,
 * they go as one (the first tables' inserts in a data-modifying WITH): a round trip for all.
 * Otherwise, and on SQLite (where a statement is no round trip), insertRows for each table.
 */
export async function insertRowsTogether(db: Kysely<Database>, parts: readonly RowsOf[]): Promise<void> {
  const given = parts.filter((part) => part.rows.length > 0);
  if (given.length > 1 && isPostgres(db) && given.every((part) => part.rows.length <= part.size)) {
    const key = given.map((part) => keyOf(part.table, part.rows.length, part.how ?? {})).join('/');
    let text = texts.get(key);
    if (text === undefined) {
      let from = 0;
      const statements = given.map((part) => {
        const statement = insertSql(part.table, part.columns, part.rows.length, true, part.how ?? {}, from);
        from += part.rows.length * part.columns.length;
        return statement;
      });
      const last = statements.pop()!;
      texts.set(key, (text = `with ${statements.map((statement, i) => `w${i} as (${statement})`).join(', ')} ${last}`));
    }
    await db.executeQuery(CompiledQuery.raw(text, given.flatMap((part) => part.rows.flat())));
    return;
  }
  for (const part of given) await insertRows(db, part.table, part.columns, part.rows, part.size, part.how);
}
