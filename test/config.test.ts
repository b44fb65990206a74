import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';

test('defaults need no environment at all', () => {
  const config = loadConfig({});
  assert.deepEqual(
    { ...config },
    {
      port: 8080,
      host: '127.0.0.1',
      databaseUrl: 'sqlite:./data/propdict.db',
      adminToken: undefined,
      metricsToken: undefined,
      logLevel: 'info',
      bodyLimit: 1_048_576,
      propertyLimit: 1000,
      importLimit: 1_073_741_824,
      redisUrl: undefined,
      redisPrefix: 'propdict:',
      sqliteBusyTimeoutMs: 5000,
      jobLeaseMs: 30_000,
      sqliteSynchronous: 'full',
      pgPoolMax: 10,
      pgPrepared: true,
      timeouts: { headersMs: 10_000, requestMs: 60_000, idleMs: 72_000 },
      encryptionKey: undefined,
      previousEncryptionKey: undefined,
      ocamba: { perSecond: 10, perMinute: 150 },
      hcl: { perMinute: 0 },
      lineworks: { perMinute: 240, maxCustomProperties: 5 },
      segment: { perSecond: 500, perMinute: 0 },
    },
  );
  assert.ok(Object.isFrozen(config));
});

const invalid = [
  { title: 'port out of range', env: { PORT: '70000' }, problem: /^PORT must be an integer from 0 to 65535/ },
  { title: 'port not a number', env: { PORT: 'http' }, problem: /^PORT must be an integer/ },
  { title: 'import limit too small', env: { PROPDICT_IMPORT_LIMIT: '10' }, problem: /^PROPDICT_IMPORT_LIMIT must be an integer from 1024/ },
  { title: 'unknown database scheme', env: { DATABASE_URL: 'mysql://x' }, problem: /^DATABASE_URL must be/ },
  { title: 'short admin token', env: { PROPDICT_ADMIN_TOKEN: 'short' }, problem: /^PROPDICT_ADMIN_TOKEN must be at least 16/ },
  { title: 'short metrics token', env: { PROPDICT_METRICS_TOKEN: 'short' }, problem: /^PROPDICT_METRICS_TOKEN must be at least 16/ },
  { title: 'unknown log level', env: { LOG_LEVEL: 'loud' }, problem: /^LOG_LEVEL must be one of/ },
  { title: 'tiny body limit', env: { PROPDICT_BODY_LIMIT: '10' }, problem: /^PROPDICT_BODY_LIMIT must be an integer/ },
  { title: 'encryption key of the wrong size', env: { PROPDICT_ENCRYPTION_KEY: 'abcd' }, problem: /^PROPDICT_ENCRYPTION_KEY must be 32 bytes/ },
  { title: 'redis URL of another scheme', env: { REDIS_URL: 'http://x' }, problem: /^REDIS_URL must be/ },
  { title: 'an empty PostgreSQL pool', env: { PROPDICT_PG_POOL_MAX: '0' }, problem: /^PROPDICT_PG_POOL_MAX must be an integer from 1 to 1000/ },
  { title: 'negative Ocamba rate', env: { PROPDICT_OCAMBA_PER_SECOND: '-5' }, problem: /^PROPDICT_OCAMBA_PER_SECOND must be an integer/ },
  { title: 'a Segment rate that is not a number', env: { PROPDICT_SEGMENT_PER_SECOND: 'lots' }, problem: /^PROPDICT_SEGMENT_PER_SECOND must be an integer from 0 to 1000000/ },
  { title: 'a Segment minute rate out of range', env: { PROPDICT_SEGMENT_PER_MINUTE: '60000001' }, problem: /^PROPDICT_SEGMENT_PER_MINUTE must be an integer from 0 to 60000000/ },
  { title: 'previous key without a new one', env: { PROPDICT_ENCRYPTION_KEY_PREVIOUS: 'ab'.repeat(32) }, problem: /^PROPDICT_ENCRYPTION_KEY_PREVIOUS is set but PROPDICT_ENCRYPTION_KEY is not/ },
  { title: 'redis prefix with a space', env: { PROPDICT_REDIS_PREFIX: 'my app:' }, problem: /^PROPDICT_REDIS_PREFIX must be/ },
  { title: 'request timeout shorter than the headers timeout', env: { PROPDICT_REQUEST_TIMEOUT_MS: '5000' }, problem: /^PROPDICT_REQUEST_TIMEOUT_MS \(5000\) must be 0 or at least/ },
  { title: 'zero headers timeout', env: { PROPDICT_HEADERS_TIMEOUT_MS: '0' }, problem: /^PROPDICT_HEADERS_TIMEOUT_MS must be an integer/ },
  { title: 'unknown prepared-statement switch', env: { PROPDICT_PG_PREPARED: 'yes' }, problem: /^PROPDICT_PG_PREPARED must be on or off/ },
  { title: 'unknown SQLite sync mode', env: { PROPDICT_SQLITE_SYNCHRONOUS: 'off' }, problem: /^PROPDICT_SQLITE_SYNCHRONOUS must be full or normal/ },
  { title: 'negative property limit', env: { PROPDICT_PROPERTY_LIMIT: '-1' }, problem: /^PROPDICT_PROPERTY_LIMIT must be an integer/ },
];

for (const row of invalid) {
  test(`refused: ${row.title}`, () => {
    assert.throws(
      () => loadConfig(row.env),
      (error: unknown) => error instanceof ConfigError && error.problems.length === 1 && row.problem.test(error.problems[0]),
    );
  });
}

test('every bad variable is listed at once', () => {
  assert.throws(
    () => loadConfig({ PORT: 'x', LOG_LEVEL: 'y', DATABASE_URL: 'z' }),
    (error: unknown) => error instanceof ConfigError && error.problems.length === 3 && /PORT/.test(error.message) && /LOG_LEVEL/.test(error.message) && /DATABASE_URL/.test(error.message),
  );
});

test('postgres and sqlite URLs are accepted', () => {
  assert.equal(loadConfig({ DATABASE_URL: 'postgres://u@h:5432/d' }).databaseUrl, 'postgres://u@h:5432/d');
  assert.equal(loadConfig({ DATABASE_URL: 'sqlite::memory:' }).databaseUrl, 'sqlite::memory:');
});
