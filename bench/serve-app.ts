// Benchmark child: the real app on a fresh SQLite file, logger off, on a free port.
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db/create-db.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { reportToParent } from './child.ts';

const dir = mkdtempSync(join(tmpdir(), 'propdict-bench-'));
// loadConfig reads PROPDICT_ADMIN_TOKEN and the rest exactly as the server does.
const config = loadConfig({ ...process.env, DATABASE_URL: `sqlite:${join(dir, 'bench.db')}` });
const { db } = createDb(config.databaseUrl);
await migrateToLatest(db);
const { app } = await buildApp({ db, config, logger: false });
await app.listen({ port: 0, host: '127.0.0.1' });

reportToParent((app.server.address() as AddressInfo).port, async () => {
  await app.close();
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});
