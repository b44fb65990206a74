import { validationFailed } from './errors.ts';

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** Cursors are opaque to clients: the sort key of the last row, base64url-encoded JSON. */
export function encodeCursor(key: readonly (string | number | null)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, arity: number): (string | number | null)[] | undefined {
  if (cursor === undefined) return undefined;
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(key) &&
      key.length === arity &&
      key.every((part) => part === null || typeof part === 'string' || typeof part === 'number')
    ) {
      return key;
    }
  } catch {
    // fall through to the validation error
  }
  throw validationFailed([{ field: 'cursor', problem: 'is not a cursor this list returned' }]);
}

/** Turns rows fetched with limit + 1 into a page and its next cursor. */
export function toPage<Row, T>(rows: Row[], limit: number, keyOf: (row: Row) => (string | number)[], map: (row: Row) => T): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return {
    data: kept.map(map),
    next_cursor: more ? encodeCursor(keyOf(kept[kept.length - 1])) : null,
  };
}
