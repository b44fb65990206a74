// Driver errors translated once, here, by their codes (never by message text).

/** SQLite: SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY; PostgreSQL: SQLSTATE 23505. */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; errcode?: unknown; errstr?: unknown };
  if (e.code === '23505') return true;
  // node:sqlite reports the extended result code in `errcode`: 2067 UNIQUE, 1555 PRIMARYKEY
  return e.code === 'ERR_SQLITE_ERROR' && (e.errcode === 2067 || e.errcode === 1555);
}

/** PostgreSQL gave up one of two transactions that waited on each other (SQLSTATE 40P01). */
export function isDeadlock(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '40P01';
}
