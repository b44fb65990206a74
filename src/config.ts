// Configuration comes only from the environment and is checked once, at start.
import { parseEncryptionKey } from './shared/pii-cipher.ts';
import type { SqliteSynchronous } from './db/sqlite-driver.ts';

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  readonly adminToken: string | undefined;
  /** Besides the operator token, reads GET /metrics only. */
  readonly metricsToken: string | undefined;
  readonly logLevel: LogLevel;
  readonly bodyLimit: number;
  readonly propertyLimit: number;
  /** Largest import file, in bytes (its own limit: an import is streamed, never held whole). */
  readonly importLimit: number;
  /** Shared counters for rate limits across server processes; in-process when unset. */
  readonly redisUrl: string | undefined;
  /** Starts every Redis key and channel, so deployments sharing a Redis stay apart. */
  readonly redisPrefix: string;
  /** SQLite: how long a write waits for another process's lock before answering 503. */
  readonly sqliteBusyTimeoutMs: number;
  /** How long a server holds a background job without progress before another (or it, restarted) resumes it. */
  readonly jobLeaseMs: number;
  /** SQLite: how a commit reaches the disk (see sqlite-driver.ts). */
  readonly sqliteSynchronous: SqliteSynchronous;
  /** PostgreSQL: connections the server's pool opens at most. */
  readonly pgPoolMax: number;
  /** PostgreSQL: statements prepared by name (off behind a pooler that cannot keep them, such as PgBouncer's transaction mode before 1.21). */
  readonly pgPrepared: boolean;
  /** Slow or stalled clients: headers, the whole request (body included), an idle kept-alive connection. */
  readonly timeouts: { readonly headersMs: number; readonly requestMs: number; readonly idleMs: number };
  /** 32 bytes for PII encryption; required once any property is PII. */
  readonly encryptionKey: Buffer | undefined;
  /** The key being rotated away from: values still under it are read with it and re-encrypted. */
  readonly previousEncryptionKey: Buffer | undefined;
  readonly ocamba: { readonly perSecond: number; readonly perMinute: number };
  readonly hcl: { readonly perMinute: number };
  readonly lineworks: { readonly perMinute: number; readonly maxCustomProperties: number };
  /** Requests per source (all of its write keys) on /segment; 0 turns a window off. */
  readonly segment: { readonly perSecond: number; readonly perMinute: number };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * The server cannot start for a reason its operator can fix: told in one line that names what is
 * wrong and which variable to change, without a stack trace.
 */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };

  const port = int('PORT', 8080, 0, 65535);
  const bodyLimit = int('PROPDICT_BODY_LIMIT', 1_048_576, 1024, 104_857_600);
  const propertyLimit = int('PROPDICT_PROPERTY_LIMIT', 1000, 0, 1_000_000);
  const importLimit = int('PROPDICT_IMPORT_LIMIT', 1_073_741_824, 1024, 1_099_511_627_776);

  const ocamba = { perSecond: int('PROPDICT_OCAMBA_PER_SECOND', 10, 0, 1_000_000), perMinute: int('PROPDICT_OCAMBA_PER_MINUTE', 150, 0, 60_000_000) };
  const hcl = { perMinute: int('PROPDICT_HCL_PER_MINUTE', 0, 0, 60_000_000) };
  const lineworks = {
    perMinute: int('PROPDICT_LINEWORKS_PER_MINUTE', 240, 0, 60_000_000),
    maxCustomProperties: int('PROPDICT_LINEWORKS_MAX_PROPERTIES', 5, 0, 1_000_000),
  };

  const segment = { perSecond: int('PROPDICT_SEGMENT_PER_SECOND', 500, 0, 1_000_000), perMinute: int('PROPDICT_SEGMENT_PER_MINUTE', 0, 0, 60_000_000) };

  const sqliteBusyTimeoutMs = int('PROPDICT_SQLITE_BUSY_TIMEOUT_MS', 5000, 0, 600_000);
  const jobLeaseMs = int('PROPDICT_JOB_LEASE_MS', 30_000, 1000, 3_600_000);
  const pgPoolMax = int('PROPDICT_PG_POOL_MAX', 10, 1, 1000);
  const pgPrepared = (env.PROPDICT_PG_PREPARED || 'on').toLowerCase();
  if (pgPrepared !== 'on' && pgPrepared !== 'off') problems.push(`PROPDICT_PG_PREPARED must be on or off (got "${env.PROPDICT_PG_PREPARED}")`);
  const sqliteSynchronous = (env.PROPDICT_SQLITE_SYNCHRONOUS || 'full').toLowerCase();
  if (sqliteSynchronous !== 'full' && sqliteSynchronous !== 'normal') problems.push(`PROPDICT_SQLITE_SYNCHRONOUS must be full or normal (got "${env.PROPDICT_SQLITE_SYNCHRONOUS}")`);
  const timeouts = {
    headersMs: int('PROPDICT_HEADERS_TIMEOUT_MS', 10_000, 1, 600_000),
    requestMs: int('PROPDICT_REQUEST_TIMEOUT_MS', 60_000, 0, 86_400_000),
    idleMs: int('PROPDICT_IDLE_TIMEOUT_MS', 72_000, 1, 3_600_000),
  };
  if (timeouts.requestMs !== 0 && timeouts.requestMs < timeouts.headersMs) {
    problems.push(`PROPDICT_REQUEST_TIMEOUT_MS (${timeouts.requestMs}) must be 0 or at least PROPDICT_HEADERS_TIMEOUT_MS (${timeouts.headersMs})`);
  }

  const redisUrl = env.REDIS_URL || undefined;
  const redisPrefix = env.PROPDICT_REDIS_PREFIX ?? 'propdict:';
  if (!/^[\x21-\x7e]{0,64}$/.test(redisPrefix)) problems.push(`PROPDICT_REDIS_PREFIX must be at most 64 printable characters without spaces (got "${redisPrefix}")`);
  if (redisUrl !== undefined && !/^rediss?:\/\/.+/.test(redisUrl)) problems.push(`REDIS_URL must be redis://... or rediss://... (got "${redisUrl}")`);

  const rawKey = env.PROPDICT_ENCRYPTION_KEY || undefined;
  const encryptionKey = rawKey === undefined ? undefined : parseEncryptionKey(rawKey);
  if (rawKey !== undefined && encryptionKey === undefined) {
    problems.push('PROPDICT_ENCRYPTION_KEY must be 32 bytes as 64 hex characters or base64 (make one with: openssl rand -hex 32)');
  }
  const rawPrevious = env.PROPDICT_ENCRYPTION_KEY_PREVIOUS || undefined;
  const previousEncryptionKey = rawPrevious === undefined ? undefined : parseEncryptionKey(rawPrevious);
  if (rawPrevious !== undefined && previousEncryptionKey === undefined) {
    problems.push('PROPDICT_ENCRYPTION_KEY_PREVIOUS must be 32 bytes as 64 hex characters or base64: the key the values were encrypted with until now');
  }
  if (rawPrevious !== undefined && rawKey === undefined) {
    problems.push('PROPDICT_ENCRYPTION_KEY_PREVIOUS is set but PROPDICT_ENCRYPTION_KEY is not: a rotation needs the new key in PROPDICT_ENCRYPTION_KEY');
  }

  const host = env.HOST || '127.0.0.1';

  const databaseUrl = env.DATABASE_URL || 'sqlite:./data/propdict.db';
  if (!/^(sqlite:.+|postgres(ql)?:\/\/.+)$/.test(databaseUrl)) {
    problems.push(`DATABASE_URL must be sqlite:<path>, sqlite::memory: or postgres://... (got "${databaseUrl}")`);
  }

  const adminToken = env.PROPDICT_ADMIN_TOKEN || undefined;
  const metricsToken = env.PROPDICT_METRICS_TOKEN || undefined;
  if (metricsToken !== undefined && metricsToken.length < 16) problems.push('PROPDICT_METRICS_TOKEN must be at least 16 characters');
  if (adminToken !== undefined && adminToken.length < 16) {
    problems.push('PROPDICT_ADMIN_TOKEN must be at least 16 characters long');
  }

  const logLevel = (env.LOG_LEVEL || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${env.LOG_LEVEL}")`);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    port,
    host,
    databaseUrl,
    adminToken,
    metricsToken,
    logLevel,
    bodyLimit,
    propertyLimit,
    importLimit,
    redisUrl,
    redisPrefix,
    sqliteBusyTimeoutMs,
    jobLeaseMs,
    sqliteSynchronous: sqliteSynchronous as SqliteSynchronous,
    pgPoolMax,
    pgPrepared: pgPrepared === 'on',
    timeouts,
    encryptionKey,
    previousEncryptionKey,
    ocamba,
    hcl,
    lineworks,
    segment,
  });
}
