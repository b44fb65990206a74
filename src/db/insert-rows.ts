// Multi-row inserts written as text: for the hottest writes a query built and compiled for each
// chunk cost more than the database took to store the rows.
import { CompiledQuery, type Kysely } from 'kysely';
import { isPostgres } from './dialect.ts';
import { inChunks } from './in-chunks.ts';
import type { Database } from './schema.ts';

const texts = new Map<string, string>();

/**
 * The insert of `count` rows of `columns`, its parameters as each database takes them ($1; ? on
 * SQLite, where numbered ones bind far slower); built once per table, row count and dialect.
 */
function insertText(table: string, columns: readonly string[], count: number, postgres: boolean, upsert: Upsert | undefined): string {
  const key = `${table}:${count}:${postgres}:${upsert?.key.join(',') ?? ''}`;
  let text = texts.get(key);
  if (text === undefined) {
    let n = 0;
    const p = () => (postgres ? `$${++n}` : '?');
    const rows = Array.from({ length: count }, () => `(${columns.map(p).join(', ')})`).join(', ');
    const update = upsert && columns.filter((c) => !upsert.key.includes(c)).map((c) => `${c} = excluded.${c}`);
    texts.set(key, (text = `insert into ${table} (${columns.join(', ')}) values ${rows}${update ? ` on conflict (${upsert.key.join(', ')}) do update set ${update.join(', ')}` : ''}`));
  }
  return text;
}

/** A row whose `key` (a unique index's columns) another row holds replaces that row's other columns. */
export type Upsert = { key: readonly string[] };

/** Inserts rows given as their parameters (in `columns` order), at most `size` a statement (see inChunks). */
export function insertRows(db: Kysely<Database>, table: string, columns: readonly string[], rows: readonly unknown[][], size: number, upsert?: Upsert): Promise<void> {
  const postgres = isPostgres(db);
  return inChunks(rows, size, (chunk) => db.executeQuery(CompiledQuery.raw(insertText(table, columns, chunk.length, postgres, upsert), chunk.flat())));
}
