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

/** node:sqlite's primary result code (the low byte of the extended one), when it is a SQLite error. */
export function sqliteCode(error: unknown): number | undefined {
  const e = error as { code?: unknown; errcode?: unknown } | null;
  return e?.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number' ? e.errcode & 0xff : undefined;
}

/** SQLite: another process holds the lock this statement needs (SQLITE_BUSY and its extended codes). */
export const isBusy = (error: unknown): boolean => sqliteCode(error) === 5;

/**
 * The database could not be reached, or could not be asked, when a request needed it: a
 * connection that could not be made or was lost. Raised where the pool hands out connections
 * (src/db/create-db.ts), so that it is told apart by where it happened, not by its words.
 */
export class DatabaseUnreachableError extends Error {
  constructor(cause: unknown) {
    super(`The database cannot be reached: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'DatabaseUnreachableError';
  }
}

// SQLSTATE class 08 (connection exception), and the server going away or too busy to take one more.
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Whether a request failed because the database is away or busy for a while (worth retrying
 * later: 503), rather than because of the request or a fault of ours.
 */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof DatabaseUnreachableError || isBusy(error)) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code) || NETWORK_CODES.has(code);
}

/** The database a URL names, for messages: without its password. */
function describeTarget(databaseUrl: string): string {
  if (databaseUrl.startsWith('sqlite:')) return databaseUrl.slice('sqlite:'.length);
  try {
    const url = new URL(databaseUrl);
    return `${url.hostname}:${url.port || 5432}${url.pathname}`;
  } catch {
    return 'the server DATABASE_URL names';
  }
}

/**
 * Why the database named by DATABASE_URL cannot be used at start, in one line that says what to
 * change; undefined for anything not foreseen (a fault of ours, shown with its stack).
 */
export function describeStartupFailure(error: unknown, databaseUrl: string): string | undefined {
  const target = describeTarget(databaseUrl);
  const sqlite = sqliteCode(error);
  if (sqlite === 26 || sqlite === 11) {
    return `${target} is not a SQLite database, or it is damaged: restore it from a backup, or set DATABASE_URL to another file.`;
  }
  if (sqlite === 8 || sqlite === 14 || sqlite === 3) {
    return `The SQLite database ${target} cannot be written by this process (the file or its folder is read-only): make both writable, or set DATABASE_URL to a writable file.`;
  }
  const fsError = error as NodeJS.ErrnoException;
  if (databaseUrl.startsWith('sqlite:') && typeof fsError?.syscall === 'string' && typeof fsError.code === 'string') {
    return `The folder of the SQLite database ${target} cannot be created (${fsError.code} at ${fsError.path ?? target}): set DATABASE_URL to a path this user can write.`;
  }
  if (error instanceof DatabaseUnreachableError) {
    const cause = error.cause as { code?: string; message?: string } | undefined;
    if (typeof cause?.code === 'string' && NETWORK_CODES.has(cause.code)) {
      return `PostgreSQL at ${target} does not answer (${cause.code}): start it, or set DATABASE_URL to a server that runs.`;
    }
    if (typeof cause?.code === 'string') {
      const hint = cause.code.startsWith('28')
        ? 'check the user and password in DATABASE_URL'
        : cause.code === '3D000'
          ? 'create the database, or set DATABASE_URL to one that exists'
          : 'make it accept connections, or set DATABASE_URL to another server';
      return `PostgreSQL at ${target} refused the connection: ${cause.message} (SQLSTATE ${cause.code}): ${hint}.`;
    }
    return `PostgreSQL at ${target} did not accept a connection (${cause?.message ?? 'no reason given'}): check that it accepts connections to this database, or set DATABASE_URL.`;
  }
  return undefined;
}
