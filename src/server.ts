// The process: configuration → database → migrations → app → listen, and a graceful close.
import { buildApp } from './app.ts';
import { ConfigError, type Config } from './config.ts';
import { anyPiiProperty } from './modules/properties/properties.service.ts';
import { createDb } from './db/create-db.ts';
import { migrateToLatest } from './db/migrate.ts';

export async function startServer(config: Config): Promise<void> {
  const { db } = createDb(config.databaseUrl);
  await migrateToLatest(db);
  if (!config.encryptionKey && (await anyPiiProperty(db))) {
    await db.destroy();
    throw new ConfigError([
      'PROPDICT_ENCRYPTION_KEY is required: this database has PII properties, whose values are encrypted with it (a new key: openssl rand -hex 32)',
    ]);
  }
  const { app, operatorToken } = await buildApp({
    db,
    config,
    logger: { level: config.logLevel },
  });

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
      await app.close(); // stops accepting, waits for in-flight requests
      await db.destroy();
      process.exit(0);
    } catch (error) {
      app.log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
}
