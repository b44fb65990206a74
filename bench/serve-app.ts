// Benchmark child: the real app, logger off, on a free port, with its background job runner on as
// a real server has it. It serves the database DATABASE_URL names when that is set (its owner,
// the bench, cleans it up: nothing is deleted here), else a fresh SQLite file in the temp folder,
// deleted at close. Migrations run first, as `propdict migrate` would.
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db/create-db.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { reportToParent } from './child.ts';

const given = process.env.DATABASE_URL || undefined;
const dir = given === undefined ? mkdtempSync(join(tmpdir(), 'propdict-bench-')) : undefined;
// loadConfig reads PROPDICT_ADMIN_TOKEN and the rest exactly as the server does.
const config = loadConfig({ ...process.env, DATABASE_URL: given ?? `sqlite:${join(dir!, 'bench.db')}` });
const { db } = createDb(config.databaseUrl, { synchronous: config.sqliteSynchronous, poolMax: config.pgPoolMax, prepared: config.pgPrepared });
await migrateToLatest(db);
const { app } = await buildApp({ db, config, logger: false });
await app.listen({ port: 0, host: '127.0.0.1' });

reportToParent((app.server.address() as AddressInfo).port, async () => {
  await app.close();
  await db.destroy();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});
