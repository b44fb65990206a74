// The process: configuration → database → migrations → app → listen, and a graceful close.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { buildApp } from './app.ts';
import { createMetrics, type Metrics } from './http/metrics.ts';
import type { Kysely } from 'kysely';
import { StartupError, type Config } from './config.ts';
import type { Database } from './db/schema.ts';
import { anyPiiProperty } from './modules/properties/properties.service.ts';
import { KeyMismatchError, settleEncryptionKey } from './modules/encryption-keys/encryption-keys.service.ts';
import { createKeyFile, keyFilePath, readKeyFile } from './modules/encryption-keys/key-file.ts';
import { sampleEncryptedValue } from './modules/profiles/profiles.service.ts';
import { systemClock } from './shared/clock.ts';
import { createDb, sqliteFile } from './db/create-db.ts';
import { describeStartupFailure } from './db/db-errors.ts';
import { migrateToLatest } from './db/migrate.ts';

/** Opens the database and makes sure it can be written and is up to date; one line when it cannot. */
async function openDatabase(config: Config, onConnectionError: (error: Error) => void, metrics: Metrics) {
  try {
    const handle = createDb(config.databaseUrl, { busyTimeoutMs: config.sqliteBusyTimeoutMs, synchronous: config.sqliteSynchronous, poolMax: config.pgPoolMax, prepared: config.pgPrepared, onConnectionError, ...metrics.db });
    await migrateToLatest(handle.db);
    // A write that changes nothing still needs write access: a read-only SQLite file (or a
    // read-only PostgreSQL) fails here, rather than on every write once the server says it is ready.
    await sql`update settings set value = value where 1 = 0`.execute(handle.db);
    return handle;
  } catch (error) {
    const message = describeStartupFailure(error, config.databaseUrl);
    throw message ? new StartupError(message) : error;
  }
}

/** Why the server could not listen, in one line naming the variable to change. */
function listenFailure(error: unknown, config: Config): unknown {
  switch ((error as NodeJS.ErrnoException)?.code) {
    case 'EADDRINUSE':
      return new StartupError(`Port ${config.port} on ${config.host} is already in use: stop the process that holds it, or set PORT to a free port.`);
    case 'EACCES':
      return new StartupError(`Port ${config.port} needs privileges this user does not have: set PORT to 1024 or above.`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new StartupError(`HOST ${config.host} is not an address of this machine: set HOST to one of its addresses (127.0.0.1, or 0.0.0.0 for all).`);
    default:
      return error;
  }
}

/**
 * SIGTERM: requests that reached the server before the signal are answered, then it closes.
 * Connections waiting to be accepted and requests not yet read (the event loop may have been busy
 * with a write when the signal came) are taken in first: the listener closes only after a turn of
 * the event loop in which nothing new arrived.
 */
async function drain(app: FastifyInstance): Promise<void> {
  let arrived = 0;
  app.server.on('request', () => arrived++);
  // Bounded, so that a client that keeps sending cannot hold the close off.
  for (let seen = -1, turns = 0; seen !== arrived && turns < 25; turns++) {
    seen = arrived;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await app.close(); // stops accepting, answers what is in flight
}

/**
 * The key that encrypts PII values: PROPDICT_ENCRYPTION_KEY, else on SQLite the key file in the
 * data folder (made on the first start); checked against the fingerprint the database keeps.
 */
async function encryptionKey(config: Config, db: Kysely<Database>) {
  const file = sqliteFile(config.databaseUrl);
  const keyFile = config.encryptionKey === undefined && file !== undefined ? keyFilePath(file) : undefined;
  try {
    const state = await settleEncryptionKey(db, systemClock, {
      key: config.encryptionKey ?? (keyFile ? readKeyFile(keyFile) : undefined),
      previous: config.previousEncryptionKey,
      where: keyFile ? `in the key file ${keyFile} (restore it from your backup) or in PROPDICT_ENCRYPTION_KEY` : 'in PROPDICT_ENCRYPTION_KEY',
      sample: () => sampleEncryptedValue(db),
      hasPii: await anyPiiProperty(db),
      generate: keyFile ? () => createKeyFile(keyFile) : undefined,
      staleValue: (prefix) => sampleEncryptedValue(db, prefix),
    });
    return { key: state?.key, created: state?.generated ? keyFile : undefined, rotating: state?.retiring };
  } catch (error) {
    throw error instanceof KeyMismatchError ? new StartupError(error.message) : error;
  }
}

export async function startServer(config: Config): Promise<void> {
  let logConnectionError = (_error: Error) => {};
  const metrics = createMetrics({ processMetrics: true });
  const { db } = await openDatabase(config, (error) => logConnectionError(error), metrics);
  let key: Awaited<ReturnType<typeof encryptionKey>>;
  try {
    key = await encryptionKey(config, db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const { app, operatorToken, services } = await buildApp({
    db,
    config: { ...config, encryptionKey: key.key },
    logger: { level: config.logLevel },
    metrics,
  });
  if (key.created) {
    // Said once: from now on the file is simply read.
    process.stdout.write(
      `\nAn encryption key for PII values was created in ${key.created} (readable by this user only).\nBack it up with the database: without it, PII values cannot be read.\n`,
    );
  }
  if (key.rotating) {
    // Every server started with both keys queues what is missing; leases keep a job to one server.
    const queued = await services.profiles.queueKeyRotation();
    app.log.warn(
      { from: key.rotating, jobs: queued },
      `rotating the encryption key from fingerprint ${key.rotating}: keep PROPDICT_ENCRYPTION_KEY_PREVIOUS set until every rotate_key job is done (GET /v1/workspaces/{ws}/jobs/{id})`,
    );
    for (const { workspace_id, job } of queued) process.stdout.write(`Re-encrypting workspace ${workspace_id}: progress at /v1/workspaces/${workspace_id}/jobs/${job}\n`);
  }
  logConnectionError = (error) => app.log.warn({ err: error }, 'a database connection was lost; the next request opens another');

  if (operatorToken) {
    const base = `http://${config.host}:${config.port}`;
    // Shown once: only its hash is kept.
    process.stdout.write(
      [
        '',
        'An operator token was created. It is shown only now; keep it (or set PROPDICT_ADMIN_TOKEN):',
        '',
        `  ${operatorToken}`,
        '',
        'Create a tenant with it:',
        '',
        `  curl -X POST ${base}/v1/tenants -H 'Authorization: Bearer ${operatorToken}' -H 'Content-Type: application/json' -d '{"name":"Acme"}'`,
        '',
        '',
      ].join('\n'),
    );
  }

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'draining in-flight requests');
    try {
      await drain(app);
      await db.destroy();
      process.exit(0);
    } catch (error) {
      app.log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await app.close();
    await db.destroy();
    throw listenFailure(error, config);
  }
}
