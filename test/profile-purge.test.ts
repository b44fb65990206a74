// Deleting a property for good: its values leave every profile in the background, in bounded
// steps whose progress can be read, and a server stopped mid-job resumes it. Also: a property's
// type is frozen once profiles hold its values.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createJobRunner } from '../src/modules/jobs/job-runner.ts';
import { createTenancy, createTestApp, expectError, expectStatus, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

function manualClock(start = Date.UTC(2026, 10, 23, 12, 0, 0)) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => void (now += ms) };
}

for (const dialect of dialects) {
  describe(`purging a property's values [${dialect.name}]`, () => {
    const clock = manualClock();
    let t: TestApp;
    let a: Tenancy;
    let ws: string;

    before(async () => {
      t = await createTestApp(dialect, { clock });
      a = await createTenancy(t, 'Purge');
      ws = `/v1/workspaces/${a.workspaceId}`;
      expectStatus(await t.request({ method: 'POST', url: `${ws}/properties`, token: a.token, payload: { name: 'score', data_type: 'integer' } }), 201);
      expectStatus(await t.request({ method: 'POST', url: `${ws}/properties`, token: a.token, payload: { name: 'nick', data_type: 'string' } }), 201);
      for (let i = 1; i <= 5; i++) {
        expectStatus(await t.request({ method: 'PUT', url: `${ws}/profiles/p${i}`, token: a.token, payload: { properties: { score: i, nick: `n${i}` } } }), 201);
      }
    });
    after(() => t.close());

    test('data_type is frozen while profiles hold values, and the count is given', async () => {
      const res = await t.request({ method: 'PATCH', url: `${ws}/properties/score`, token: a.token, payload: { data_type: 'number' } });
      const details = expectError(res, 409, 'CONFLICT');
      assert.deepEqual(details, [{ field: 'data_type', problem: '5 profiles hold values' }]);
      assert.match(res.body.error.message, /5 profiles hold values of "score"/);
    });

    test('a purge runs in bounded steps, survives a stopped server and ends with no value left', async () => {
      const purge = await t.request({ method: 'DELETE', url: `${ws}/properties/score?purge=true`, token: a.token });
      expectStatus(purge, 202);
      assert.deepEqual([purge.body.job.status, purge.body.job.progress], ['queued', { done: 0, total: 5 }]);
      const jobUrl = `${ws}/jobs/${purge.body.job.id}`;

      // The definition is gone at once: reads no longer show the value.
      const during = await t.request({ method: 'GET', url: `${ws}/profiles/p1`, token: a.token });
      expectStatus(during, 200);
      assert.deepEqual(during.body.properties, { nick: 'n1' });

      // One server takes the job and does one step of two profiles, then stops.
      const first = createJobRunner({ db: t.db, clock, steps: t.services.jobs.steps, batchSize: 2, leaseMs: 10_000 });
      assert.equal(await first.stepOnce(), false);
      const halfway = await t.request({ method: 'GET', url: jobUrl, token: a.token });
      expectStatus(halfway, 200);
      assert.deepEqual([halfway.body.status, halfway.body.progress], ['running', { done: 2, total: 5 }]);

      // While its lease holds nobody else takes the job; once it runs out, another server resumes.
      const second = createJobRunner({ db: t.db, clock, steps: t.services.jobs.steps, batchSize: 2, leaseMs: 10_000 });
      assert.equal(await second.stepOnce(), false);
      assert.deepEqual((await t.request({ method: 'GET', url: jobUrl, token: a.token })).body.progress, { done: 2, total: 5 });
      clock.advance(10_001);
      await second.drain();
      const done = await t.request({ method: 'GET', url: jobUrl, token: a.token });
      expectStatus(done, 200);
      assert.deepEqual([done.body.status, done.body.progress], ['done', { done: 5, total: 5 }]);

      const left = await t.db.selectFrom('profile_values').select('profile_id').where('workspace_id', '=', a.workspaceId).where('v_num', 'is not', null).execute();
      assert.deepEqual(left, []);
      const nicks = await t.db.selectFrom('profile_values').select('v_text').where('workspace_id', '=', a.workspaceId).orderBy('v_text').execute();
      assert.deepEqual(nicks.map((r) => r.v_text), ['n1', 'n2', 'n3', 'n4', 'n5']);
    });

    test('a property created again with the freed name starts empty', async () => {
      expectStatus(await t.request({ method: 'POST', url: `${ws}/properties`, token: a.token, payload: { name: 'score', data_type: 'string' } }), 201);
      const p = await t.request({ method: 'GET', url: `${ws}/profiles/p3`, token: a.token });
      expectStatus(p, 200);
      assert.deepEqual(p.body.properties, { nick: 'n3' });
    });
  });
}
