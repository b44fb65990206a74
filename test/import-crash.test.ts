// An import survives its server: a real server process on a SQLite file is killed (SIGKILL) in
// the middle of an import, a new one starts on the same file and resumes the job at the last
// committed row. A `sum` property shows any row written twice (its value would double).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { call, startServer, tenancy, waitFor, type ServerProcess } from './helpers/process.ts';

const ROWS = 20_000;

describe('an import killed mid-way [sqlite, real processes]', () => {
  const dir = mkdtempSync(join(tmpdir(), 'propdict-import-crash-'));
  const env = { DATABASE_URL: `sqlite:${join(dir, 'crash.db')}`, PROPDICT_REQUEST_TIMEOUT_MS: '0' };
  const servers: ServerProcess[] = [];
  after(async () => {
    for (const s of servers) await s.stop(2000);
    rmSync(dir, { recursive: true, force: true });
  });

  test('SIGKILL during the job: a restarted server finishes it, every row written once, the counts exact', async () => {
    const first = await startServer(env);
    servers.push(first);
    const t = await tenancy(first.url);
    const ws = `/v1/workspaces/${t.workspaceId}`;
    for (const p of [
      { name: 'member_no', data_type: 'string', identity: { role: 'primary' } },
      { name: 'points', data_type: 'integer', merge_function: 'sum' },
    ]) {
      const res = await call(first.url, 'POST', `${ws}/properties`, { token: t.token, body: p });
      assert.equal(res.status, 201, res.raw);
    }
    const csv = `member_no,points\n${Array.from({ length: ROWS }, (_, i) => `M${i},${i + 1}`).join('\n')}\n`;
    const upload = await fetch(`${first.url}${ws}/imports`, { method: 'POST', headers: { authorization: `Bearer ${t.token}`, 'content-type': 'text/csv' }, body: csv });
    const created = (await upload.json()) as { id: string; progress: { rows_total: number } };
    assert.equal(upload.status, 202, JSON.stringify(created));
    assert.equal(created.progress.rows_total, ROWS);

    // Killed once some steps have committed and many rows are left. A read may see a step whose
    // commit is under way (SQLite's group commit); the step before it has committed, since the
    // runner starts a step once the previous one's commit is done. An import's steps are 2,000 rows
    // at most (IMPORT_STEPS in imports.service.ts).
    const mid = await waitFor('some rows done', async () => {
      const res = await call(first.url, 'GET', `${ws}/imports/${created.id}`, { token: t.token });
      return res.body.progress.rows_done > 1000 ? res.body : undefined;
    }, 60_000, 5);
    first.child.kill('SIGKILL');
    await first.exited;
    assert.ok(mid.progress.rows_done < ROWS, `killed too late: ${JSON.stringify(mid.progress)}`);

    // A new server on the same file takes the job once the dead one's lease has run out.
    const second = await startServer(env);
    servers.push(second);
    const stopped = await call(second.url, 'GET', `${ws}/imports/${created.id}`, { token: t.token });
    assert.equal(stopped.status, 200, stopped.raw);
    assert.ok(stopped.body.progress.rows_done >= mid.progress.rows_done - 2000 && stopped.body.progress.rows_done < ROWS, JSON.stringify(stopped.body.progress));
    assert.equal(stopped.body.counts.created, stopped.body.progress.rows_done, 'the counts were committed with the rows');
    const done = await waitFor('the import done', async () => {
      const res = await call(second.url, 'GET', `${ws}/imports/${created.id}`, { token: t.token });
      return res.body.status === 'done' ? res.body : undefined;
    }, 120_000, 200);
    assert.deepEqual(done.progress.rows_done, ROWS);
    assert.deepEqual(done.counts, { created: ROWS, updated: 0, merged: 0, rejected: 0, unchanged: 0 });

    // Every row once: as many profiles as rows, each with its own points (a second write would sum).
    const exported = await fetch(`${second.url}${ws}/profiles/export?format=ndjson&properties=member_no,points`, { headers: { authorization: `Bearer ${t.token}` } });
    assert.equal(exported.status, 200);
    assert.equal(exported.headers.get('x-total-count'), String(ROWS));
    const lines = (await exported.text()).trim().split('\n').map((l) => JSON.parse(l) as { member_no: string; points: number });
    assert.equal(lines.length, ROWS);
    const wrong = lines.filter((l) => l.points !== Number(l.member_no.slice(1)) + 1);
    assert.deepEqual(wrong, []);
    assert.equal(new Set(lines.map((l) => l.member_no)).size, ROWS);
  });
});
