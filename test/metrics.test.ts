// GET /metrics: Prometheus's text format, scraped after real traffic; who may read it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTenancy, createTestApp, expectError, expectStatus, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

const METRICS_TOKEN = 'metrics-token-0123456789';

/** The value of one sample line (`name{labels} value`), or undefined when the line is missing. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(',');
    if (wanted.every((w) => have.includes(w))) return Number(match[3]);
  }
  return undefined;
}

for (const dialect of dialects) {
  describe(`GET /metrics [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let base: string;
    let text: string;

    before(async () => {
      t = await createTestApp(dialect, { config: { metricsToken: METRICS_TOKEN } });
      a = await createTenancy(t, 'Metrics');
      base = `/v1/workspaces/${a.workspaceId}`;
      // Traffic: a create, two reads of it (the second from the dictionary cache), a miss, a
      // purge job, and a key with a rate limit of one request a minute used twice.
      expectStatus(await t.request({ method: 'POST', url: `${base}/properties`, token: a.token, payload: { name: 'tier', data_type: 'string' } }), 201);
      for (let i = 0; i < 2; i++) expectStatus(await t.request({ method: 'GET', url: `${base}/properties/tier`, token: a.token }), 200);
      expectError(await t.request({ method: 'GET', url: `${base}/properties/nope`, token: a.token }), 404, 'NOT_FOUND');
      expectStatus(await t.request({ method: 'PUT', url: `${base}/profiles/m-1`, token: a.token, payload: { properties: { tier: 'gold' } } }), 201);
      expectStatus(await t.request({ method: 'DELETE', url: `${base}/properties/tier?purge=true`, token: a.token }), 202);
      const limited = await t.request({ method: 'POST', url: `/v1/tenants/${a.tenantId}/api-keys`, payload: { name: 'metered', scopes: ['properties:read'], rate_limit: { per_minute: 1 } } });
      expectStatus(limited, 201);
      expectStatus(await t.request({ method: 'GET', url: `${base}/properties`, token: limited.body.token }), 200);
      expectError(await t.request({ method: 'GET', url: `${base}/properties`, token: limited.body.token }), 429, 'RATE_LIMITED');
      const res = await t.request({ method: 'GET', url: '/metrics' });
      expectStatus(res, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      text = res.raw;
    });
    after(() => t.close());

    const rows: { title: string; name: string; labels?: Record<string, string>; check: (v: number) => boolean }[] = [
      { title: 'a request, by method, route and status', name: 'propdict_http_requests_total', labels: { method: 'POST', route: '/v1/workspaces/:ws/properties', status: '201' }, check: (v) => v === 1 },
      { title: 'reads of one route', name: 'propdict_http_requests_total', labels: { method: 'GET', route: '/v1/workspaces/:ws/properties/:name', status: '200' }, check: (v) => v === 2 },
      { title: 'a 404', name: 'propdict_http_requests_total', labels: { method: 'GET', route: '/v1/workspaces/:ws/properties/:name', status: '404' }, check: (v) => v === 1 },
      { title: 'request durations', name: 'propdict_http_request_duration_seconds_count', labels: { method: 'GET', route: '/v1/workspaces/:ws/properties/:name', status: '200' }, check: (v) => v === 2 },
      { title: 'request durations: the +Inf bucket holds every one', name: 'propdict_http_request_duration_seconds_bucket', labels: { method: 'GET', route: '/v1/workspaces/:ws/properties/:name', status: '200', le: '+Inf' }, check: (v) => v === 2 },
      { title: 'request durations: their sum', name: 'propdict_http_request_duration_seconds_sum', labels: { method: 'GET', route: '/v1/workspaces/:ws/properties/:name', status: '200' }, check: (v) => v > 0 && v < 60 },
      { title: 'database statements timed', name: 'propdict_db_statement_duration_seconds_count', check: (v) => v > 10 },
      { title: 'commits timed', name: 'propdict_db_commit_duration_seconds_count', check: (v) => v >= 3 },
      { title: 'transactions per commit', name: 'propdict_db_commit_transactions_sum', check: (v) => v >= 3 },
      { title: 'dictionary cache hits', name: 'propdict_cache_lookups_total', labels: { cache: 'dictionary', result: 'hit' }, check: (v) => v >= 1 },
      { title: 'dictionary cache misses', name: 'propdict_cache_lookups_total', labels: { cache: 'dictionary', result: 'miss' }, check: (v) => v >= 1 },
      { title: 'key cache hits', name: 'propdict_cache_lookups_total', labels: { cache: 'keys', result: 'hit' }, check: (v) => v >= 1 },
      { title: 'key cache misses', name: 'propdict_cache_lookups_total', labels: { cache: 'keys', result: 'miss' }, check: (v) => v >= 2 },
      { title: 'workspace cache lookups', name: 'propdict_cache_lookups_total', labels: { cache: 'workspaces', result: 'hit' }, check: (v) => v >= 1 },
      { title: 'a queued purge job', name: 'propdict_jobs', labels: { type: 'purge_property', status: 'queued' }, check: (v) => v === 1 },
      { title: "the job's units to do", name: 'propdict_job_units', labels: { type: 'purge_property', status: 'queued', kind: 'total' }, check: (v) => v === 1 },
      { title: 'a rate-limit refusal', name: 'propdict_rate_limit_refusals_total', labels: { surface: 'native' }, check: (v) => v === 1 },
    ];
    for (const row of rows) {
      test(row.title, () => {
        const value = sample(text, row.name, row.labels);
        assert.ok(value !== undefined && row.check(value), `${row.name}${JSON.stringify(row.labels ?? {})} = ${value}\n${text.split('\n').filter((l) => l.startsWith(row.name)).join('\n')}`);
      });
    }

    test('each histogram series counts up through its buckets to +Inf, which equals its count', () => {
      const series = new Map<string, { le: string; value: number }[]>();
      for (const line of text.split('\n')) {
        const match = /^(propdict_[a-z_]+)_bucket\{(.*)\} (\S+)$/.exec(line);
        if (!match) continue;
        const labels = match[2].split(',');
        const le = labels.find((l) => l.startsWith('le='))!.slice(4, -1);
        const key = `${match[1]}{${labels.filter((l) => !l.startsWith('le=')).join(',')}}`;
        series.set(key, [...(series.get(key) ?? []), { le, value: Number(match[3]) }]);
      }
      assert.ok(series.size >= 4, [...series.keys()].join('\n'));
      for (const [key, buckets] of series) {
        assert.deepEqual(buckets.map((b) => b.value), buckets.map((b) => b.value).toSorted((x, y) => x - y), key);
        assert.equal(buckets.at(-1)!.le, '+Inf', key);
        const [name, labels] = [key.slice(0, key.indexOf('{')), key.slice(key.indexOf('{') + 1, -1)];
        const count = sample(text, `${name}_count`, Object.fromEntries(labels ? labels.split(',').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 2, -1)]) : []));
        assert.equal(buckets.at(-1)!.value, count, key);
      }
    });

    test('the metrics token reads them too', async () => {
      const res = await t.request({ method: 'GET', url: '/metrics', token: METRICS_TOKEN });
      expectStatus(res, 200);
      assert.match(res.raw, /^# HELP propdict_/m);
    });

    test('a scrape reads the database once (one jobs summary for both job gauges)', async () => {
      // A scrape shows the statements counted before it began, so the statements of the second
      // of three scrapes show in the third. The metrics token is checked without the database.
      const statements = async () => {
        const res = await t.request({ method: 'GET', url: '/metrics', token: METRICS_TOKEN });
        expectStatus(res, 200);
        return sample(res.raw, 'propdict_db_statement_duration_seconds_count') ?? NaN;
      };
      await statements();
      const before = await statements();
      assert.equal((await statements()) - before, 1);
    });

    const refused: { title: string; token: () => string | null; status: number; code: string }[] = [
      { title: 'no token', token: () => null, status: 401, code: 'UNAUTHENTICATED' },
      { title: 'a wrong token', token: () => 'not-a-token-at-all-0000', status: 401, code: 'UNAUTHENTICATED' },
      { title: "a tenant's admin key", token: () => a.token, status: 403, code: 'FORBIDDEN' },
    ];
    for (const row of refused) {
      test(`refused: ${row.title}`, async () => {
        expectError(await t.request({ method: 'GET', url: '/metrics', token: row.token() }), row.status, row.code);
      });
    }
  });
}
