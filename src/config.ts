// Configuration comes only from the environment and is checked once, at start.
import { parseEncryptionKey } from './shared/pii-cipher.ts';

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  readonly adminToken: string | undefined;
  readonly logLevel: LogLevel;
  readonly bodyLimit: number;
  readonly propertyLimit: number;
  /** Shared counters for rate limits across server processes; in-process when unset. */
  readonly redisUrl: string | undefined;
  /** 32 bytes for PII encryption; required once any property is PII. */
  readonly encryptionKey: Buffer | undefined;
  readonly ocamba: { readonly perSecond: number; readonly perMinute: number };
  readonly hcl: { readonly perMinute: number };
  readonly lineworks: { readonly perMinute: number; readonly maxCustomProperties: number };
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

  const ocamba = { perSecond: int('PROPDICT_OCAMBA_PER_SECOND', 10, 0, 1_000_000), perMinute: int('PROPDICT_OCAMBA_PER_MINUTE', 150, 0, 60_000_000) };
  const hcl = { perMinute: int('PROPDICT_HCL_PER_MINUTE', 0, 0, 60_000_000) };
  const lineworks = {
    perMinute: int('PROPDICT_LINEWORKS_PER_MINUTE', 240, 0, 60_000_000),
    maxCustomProperties: int('PROPDICT_LINEWORKS_MAX_PROPERTIES', 5, 0, 1_000_000),
  };

  const redisUrl = env.REDIS_URL || undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\/.+/.test(redisUrl)) problems.push(`REDIS_URL must be redis://... or rediss://... (got "${redisUrl}")`);

  const rawKey = env.PROPDICT_ENCRYPTION_KEY || undefined;
  const encryptionKey = rawKey === undefined ? undefined : parseEncryptionKey(rawKey);
  if (rawKey !== undefined && encryptionKey === undefined) {
    problems.push('PROPDICT_ENCRYPTION_KEY must be 32 bytes as 64 hex characters or base64 (make one with: openssl rand -hex 32)');
  }

  const host = env.HOST || '127.0.0.1';

  const databaseUrl = env.DATABASE_URL || 'sqlite:./data/propdict.db';
  if (!/^(sqlite:.+|postgres(ql)?:\/\/.+)$/.test(databaseUrl)) {
    problems.push(`DATABASE_URL must be sqlite:<path>, sqlite::memory: or postgres://... (got "${databaseUrl}")`);
  }

  const adminToken = env.PROPDICT_ADMIN_TOKEN || undefined;
  if (adminToken !== undefined && adminToken.length < 16) {
    problems.push('PROPDICT_ADMIN_TOKEN must be at least 16 characters long');
  }

  const logLevel = (env.LOG_LEVEL || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${env.LOG_LEVEL}")`);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ port, host, databaseUrl, adminToken, logLevel, bodyLimit, propertyLimit, redisUrl, encryptionKey, ocamba, hcl, lineworks });
}
