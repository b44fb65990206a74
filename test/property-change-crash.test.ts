// A definition change survives its server being killed: a real server process on a SQLite file
// is SIGKILLed while the change's job is converting values. Right after, the file holds the
// definition and every value as before (nothing of the change is visible); a server started again
// on the file resumes the job to the end, and the change lands once, whole.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { call, startServer, tenancy, waitFor, type ServerProcess } from './helpers/process.ts';

const PROFILES = 40_000;

describe('a definition change on a server killed mid-job [sqlite file]', () => {
  let dir: string;
  let servers: ServerProcess[] = [];
  const env = () => ({ DATABASE_URL: `sqlite:${join(dir, 'propdict.db')}`, PROPDICT_JOB_LEASE_MS: '1000', LOG_LEVEL: 'warn' });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'propdict-change-crash-'));
  });
  after(async () => {
    for (const s of servers) await s.stop(2000);
    rmSync(dir, { recursive: true, force: true });
  });

  /** The property's definition and its stored values' forms, read from the file itself. */
  function onDisk(workspaceId: number) {
    // Read-write, so that SQLite recovers the write-ahead log a killed server left, as the next
    // server would (a read-only connection may not, and would miss what the log holds).
    const file = new DatabaseSync(join(dir, 'propdict.db'));
    try {
      const def = file.prepare('select id, data_type, version from properties where workspace_id = ? and name = ?').get(workspaceId, 'points') as { id: number; data_type: string; version: number };
      const forms = file
        .prepare('select count(*) as n, coalesce(sum(case when v_num is not null then 1 else 0 end), 0) as numbers from profile_values where workspace_id = ? and property_id = ?')
        .get(workspaceId, def.id) as { n: number; numbers: number };
      const staged = file.prepare('select count(*) as n from staged_values where workspace_id = ?').get(workspaceId) as { n: number };
      const history = file.prepare("select count(*) as n from property_history where workspace_id = ? and property_id = ? and action = 'updated'").get(workspaceId, def.id) as { n: number };
      return { data_type: def.data_type, version: def.version, values: forms.n, numbers: forms.numbers, staged: staged.n, updates: history.n };
    } finally {
      file.close();
    }
  }

  test('killed while converting: all as before; restarted: the job resumes to done and the change lands once', async () => {
    const first = await startServer(env());
    servers.push(first);
    const { token, workspaceId } = await tenancy(first.url);
    const ws = `/v1/workspaces/${workspaceId}`;
    const created = await call(first.url, 'POST', `${ws}/properties`, { token, body: { name: 'points', data_type: 'string' } });
    assert.equal(created.status, 201, created.raw);
    for (let i = 0; i < PROFILES; i += 1000) {
      const inputs = Array.from({ length: 1000 }, (_, j) => ({ id: `p${i + j}`, properties: { points: String(i + j) } }));
      const batch = await call(first.url, 'POST', `${ws}/profiles/batch`, { token, body: { inputs } });
      assert.equal(batch.status, 200, batch.raw.slice(0, 500));
    }
    const before = onDisk(workspaceId);
    assert.deepEqual(before, { data_type: 'string', version: 1, values: PROFILES, numbers: 0, staged: 0, updates: 0 });

    const started = await fetch(`${first.url}${ws}/properties/points/changes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'if-match': '"1"' },
      body: JSON.stringify({ data_type: 'integer', on_failure: 'abort' }),
    });
    const { job } = (await started.json()) as { job: { id: string } };
    assert.equal(started.status, 202);

    // Killed once the job has committed some of its steps, long before it ends. A read may see a
    // step whose commit is still pending (SQLite's group commit): a second step seen means the
    // first one is on disk.
    const seen = new Set<number>();
    await waitFor('the job under way', async () => {
      const res = await call(first.url, 'GET', `${ws}/jobs/${job.id}`, { token });
      if (res.body.progress.done > 0) seen.add(res.body.progress.done);
      return seen.size >= 2 ? res.body : undefined;
    }, 60_000, 5);
    first.child.kill('SIGKILL');
    await first.exited;

    const killed = onDisk(workspaceId);
    // Readers of the file see the definition and every value as they were; only the staging
    // area, which nothing but the change reads, holds converted values.
    assert.deepEqual({ ...killed, staged: 0 }, { ...before, staged: 0 });
    assert.ok(killed.staged > 0 && killed.staged < PROFILES, `staged ${killed.staged} of ${PROFILES} when killed`);

    const second = await startServer(env());
    servers.push(second);
    const done = await waitFor('the job resumed to done', async () => {
      const res = await call(second.url, 'GET', `${ws}/jobs/${job.id}`, { token });
      return res.body.status === 'done' || res.body.status === 'failed' ? res.body : undefined;
    }, 120_000, 100);
    assert.equal(done.status, 'done', JSON.stringify(done));
    assert.deepEqual([done.result.profiles_with_values, done.result.convertible, done.result.failing], [PROFILES, PROFILES, 0], JSON.stringify(done));

    // The server may answer from a commit still pending (group commit): the file follows at once.
    const landed = await waitFor('the change on disk', async () => {
      const state = onDisk(workspaceId);
      return state.version === 2 ? state : undefined;
    }, 10_000, 50);
    assert.deepEqual(landed, { data_type: 'integer', version: 2, values: PROFILES, numbers: PROFILES, staged: 0, updates: 1 });
    const found = await call(second.url, 'GET', `${ws}/profiles?filter[points][gte]=${PROFILES - 2}&sort=-points`, { token });
    assert.equal(found.status, 200, found.raw);
    assert.deepEqual(found.body.data.map((p: { id: string; properties: { points: number } }) => [p.id, p.properties.points]), [
      [`p${PROFILES - 1}`, PROFILES - 1],
      [`p${PROFILES - 2}`, PROFILES - 2],
    ]);
  });
});
