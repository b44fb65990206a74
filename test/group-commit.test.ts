// Group commit on SQLite: transactions that end while others wait for the connection share one
// commit, each after the first in a savepoint of its own, and each is answered only once that
// commit is done.
// On a real database file through the driver; then a real server killed with SIGKILL keeps every
// write it acknowledged.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { createDb } from '../src/db/create-db.ts';
import { call, startServer, tenancy, type ServerProcess } from './helpers/process.ts';

// A scratch table of its own: the driver is the subject, not the schema.
type Scratch = { rows: { id: number; who: string } };

describe('group commit on a SQLite file', () => {
  let dir: string;
  let db: Kysely<Scratch>;
  let commits: number[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'propdict-group-'));
    commits = [];
    db = createDb(`sqlite:${join(dir, 'group.db')}`, { onCommit: (transactions) => commits.push(transactions) }).db as unknown as Kysely<Scratch>;
    await sql`create table rows (id integer primary key, who text not null)`.execute(db);
  });
  after(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const insert = (id: number) => db.transaction().execute((trx) => trx.insertInto('rows').values({ id, who: 'tx' }).execute());
  const count = async () => Number((await db.selectFrom('rows').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  test('a lone transaction commits at once, alone', async () => {
    commits.length = 0;
    await insert(1);
    assert.deepEqual(commits, [1]);
    assert.equal(await count(), 1);
  });

  test('concurrent transactions share commits; every one is committed when it is answered', async () => {
    commits.length = 0;
    const ids = Array.from({ length: 40 }, (_, i) => 100 + i);
    const seen: number[] = [];
    await Promise.all(ids.map((id) => insert(id).then(() => seen.push(commits.reduce((a, b) => a + b, 0)))));
    assert.equal(commits.reduce((a, b) => a + b, 0), 40, `transactions per commit: ${commits.join(', ')}`);
    assert.ok(commits.length < 40, `40 transactions took ${commits.length} commits`);
    // Each was answered after a commit that held it: never before the 40 had been counted in order.
    for (const [i, committed] of seen.entries()) assert.ok(committed >= i + 1, `answer ${i + 1} came after ${committed} committed transactions`);
    assert.equal(await count(), 41);
  });

  test("a transaction that fails in a group rolls back only its own work", async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        db.transaction().execute(async (trx) => {
          await trx.insertInto('rows').values({ id: 200 + i, who: 'group' }).execute();
          if (i === 7) throw new Error('refused by its caller');
        }),
      ),
    );
    assert.deepEqual(
      outcomes.map((o) => o.status),
      Array.from({ length: 20 }, (_, i) => (i === 7 ? 'rejected' : 'fulfilled')),
    );
    const ids = (await db.selectFrom('rows').select('id').where('who', '=', 'group').orderBy('id').execute()).map((r) => r.id);
    assert.deepEqual(ids, Array.from({ length: 20 }, (_, i) => 200 + i).filter((id) => id !== 207));
  });

  // The first transaction of a group runs in no savepoint: undone, the database transaction is.
  test('the transaction that opens a group fails: its work goes, the group after it commits', async () => {
    commits.length = 0;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        db.transaction().execute(async (trx) => {
          await trx.insertInto('rows').values({ id: 600 + i, who: 'opened' }).execute();
          if (i === 0) throw new Error('refused by its caller');
        }),
      ),
    );
    assert.deepEqual(
      outcomes.map((o) => o.status),
      Array.from({ length: 10 }, (_, i) => (i === 0 ? 'rejected' : 'fulfilled')),
    );
    assert.equal(commits.reduce((a, b) => a + b, 0), 9);
    const ids = (await db.selectFrom('rows').select('id').where('who', '=', 'opened').orderBy('id').execute()).map((r) => r.id);
    assert.deepEqual(ids, Array.from({ length: 9 }, (_, i) => 601 + i));
    // Alone: nothing of it stays, and the next transaction commits as usual.
    await assert.rejects(db.transaction().execute(async (trx) => {
      await trx.insertInto('rows').values({ id: 620, who: 'opened' }).execute();
      throw new Error('refused by its caller');
    }));
    await insert(621);
    assert.deepEqual((await db.selectFrom('rows').select('id').where('id', 'in', [620, 621]).execute()).map((r) => r.id), [621]);
  });

  test('a unique violation in one transaction of a group leaves the others', async () => {
    const outcomes = await Promise.allSettled([insert(300), insert(300), insert(301)]);
    assert.deepEqual(outcomes.map((o) => o.status).toSorted(), ['fulfilled', 'fulfilled', 'rejected']);
    assert.deepEqual((await db.selectFrom('rows').select('id').where('id', 'in', [300, 301]).orderBy('id').execute()).map((r) => r.id), [300, 301]);
  });

  test('a read-only snapshot reads on a connection of its own: writes go on meanwhile, unseen by it', async () => {
    const snapshot = await db.startTransaction().setAccessMode('read only').execute();
    const before = Number((await snapshot.selectFrom('rows').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    // Held on the process's one connection, the snapshot would keep this write waiting until it ended.
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('a write waited for the open snapshot')), 5000).unref());
    await Promise.race([insert(500), timeout]);
    assert.equal(await count(), before + 1);
    const during = Number((await snapshot.selectFrom('rows').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    assert.equal(during, before, 'the snapshot does not see a write committed after it began');
    await snapshot.commit().execute();
  });

  test('a read queued behind transactions sees them committed', async () => {
    const before = await count();
    const [, , n] = await Promise.all([insert(400), insert(401), count()]);
    assert.equal(n, before + 2);
  });
});

describe('acknowledged writes survive SIGKILL with group commit', () => {
  let dir: string;
  let server: ServerProcess | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'propdict-durable-'));
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every profile acknowledged before the kill is there after the restart', async () => {
    const env = { DATABASE_URL: `sqlite:${join(dir, 'durable.db')}` };
    server = await startServer(env);
    const t = await tenancy(server.url);
    const base = `/v1/workspaces/${t.workspaceId}`;
    const created = await call(server.url, 'POST', `${base}/properties`, { token: t.token, body: { name: 'n', data_type: 'integer' } });
    assert.equal(created.status, 201, created.raw);

    // 40 writers, one request at a time each, until the kill.
    const acknowledged: number[] = [];
    let next = 0;
    let killed = false;
    const writer = async () => {
      while (!killed) {
        const n = next++;
        try {
          const res = await call(server!.url, 'PUT', `${base}/profiles/p-${n}`, { token: t.token, body: { properties: { n } } });
          if (res.status === 201) acknowledged.push(n);
          else assert.fail(`PUT p-${n}: ${res.status} ${res.raw}`);
        } catch (error) {
          if (!killed) throw error;
        }
      }
    };
    const writers = Array.from({ length: 40 }, writer);
    while (acknowledged.length < 400) await new Promise((resolve) => setTimeout(resolve, 10));
    killed = true;
    server.child.kill('SIGKILL');
    await server.exited;
    await Promise.all(writers);
    const before = [...acknowledged];

    server = await startServer(env);
    const missing: number[] = [];
    for (const n of before) {
      const res = await call(server.url, 'GET', `${base}/profiles/p-${n}`, { token: t.token });
      if (res.status !== 200 || res.body.properties.n !== n) missing.push(n);
    }
    assert.deepEqual(missing, [], `${missing.length} of ${before.length} acknowledged profiles lost`);
  });
});
