// Every route is checked the same way: no token, a wrong token, a key without the scope,
// and another tenant's key (which must see 404, never the object).
import { after, before, describe, test } from 'node:test';
import { createTenancy, createTestApp, expectError, expectStatus, type Tenancy, type TestApp } from './app.ts';
import type { TestDialect } from './dialects.ts';

export interface Fixture {
  a: Tenancy;
  /** A property, a job, a data source (id 1), a profile (`fixture`) and a spare key in tenant A's workspace. */
  property: string;
  jobId: string;
  spareKeyId: string;
}

export interface RouteCase {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: (f: Fixture) => string;
  /** The scope the route needs; `operator` for routes only the operator token may call. */
  scope: string;
  payload?: unknown;
}

const ALL_SCOPES = ['properties:read', 'properties:write', 'profiles:read', 'profiles:write', 'pii:read', 'admin'];

export function runCommonRouteTests(dialect: TestDialect, routes: RouteCase[]): void {
  describe(`common route checks [${dialect.name}]`, () => {
    let t: TestApp;
    let f: Fixture;
    let b: Tenancy;
    const withoutScope = new Map<string, string>();

    before(async () => {
      t = await createTestApp(dialect);
      const a = await createTenancy(t, 'Alpha');
      b = await createTenancy(t, 'Beta');
      const prop = await t.request({ method: 'POST', url: `/v1/workspaces/${a.workspaceId}/properties`, token: a.token, payload: { name: 'fixture_prop', data_type: 'string' } });
      expectStatus(prop, 201);
      await t.request({ method: 'POST', url: `/v1/workspaces/${a.workspaceId}/properties`, token: a.token, payload: { name: 'to_purge', data_type: 'string' } });
      const purge = await t.request({ method: 'DELETE', url: `/v1/workspaces/${a.workspaceId}/properties/to_purge?purge=true`, token: a.token });
      expectStatus(purge, 202);
      const source = await t.request({ method: 'POST', url: `/v1/workspaces/${a.workspaceId}/sources`, token: a.token, payload: { name: 'fixture_source' } });
      expectStatus(source, 201);
      expectStatus(await t.request({ method: 'PUT', url: `/v1/workspaces/${a.workspaceId}/profiles/fixture`, token: a.token, payload: { properties: {} } }), 201);
      const spare = await a.key(['properties:read']);
      f = { a, property: 'fixture_prop', jobId: purge.body.job.id, spareKeyId: spare.id };
      for (const scope of new Set(routes.map((r) => r.scope))) {
        // Every other scope: a write scope does not imply its read scope.
        const others = ALL_SCOPES.filter((s) => s !== scope);
        withoutScope.set(scope, (await a.key(others)).token);
      }
    });
    after(() => t.close());

    for (const route of routes) {
      const name = `${route.method} ${route.url({ a: { tenantId: 'T', workspaceId: 'W' }, property: 'P', jobId: 'J', spareKeyId: 'K' } as never)}`;
      test(`${name}: no token → 401`, async () => {
        const res = await t.request({ method: route.method, url: route.url(f), payload: route.payload as never, token: null });
        expectError(res, 401, 'UNAUTHENTICATED');
      });
      test(`${name}: wrong token → 401`, async () => {
        const res = await t.request({ method: route.method, url: route.url(f), payload: route.payload as never, token: 'pd_not-a-real-token' });
        expectError(res, 401, 'UNAUTHENTICATED');
      });
      test(`${name}: key without ${route.scope} → 403`, async () => {
        const token = route.scope === 'operator' ? f.a.token : withoutScope.get(route.scope)!;
        const res = await t.request({ method: route.method, url: route.url(f), payload: route.payload as never, token });
        expectError(res, 403, 'FORBIDDEN');
      });
      if (route.scope !== 'operator') {
        test(`${name}: another tenant's key → 404`, async () => {
          const res = await t.request({ method: route.method, url: route.url(f), payload: route.payload as never, token: b.token });
          expectError(res, 404, 'NOT_FOUND');
        });
      }
    }
  });
}
