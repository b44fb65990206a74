// Every route of a surface is checked the same way: no credential, a wrong one, a key without the
// scope the route declares, another tenant's key and a key restricted to another workspace of the
// same tenant (which must see 404, never the object), and on a vendor surface the operator token.
// The routes come from the app itself: a route the table does not say how to call fails the suite.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTenancy, createTestApp, expectStatus, OPERATOR_TOKEN, type Tenancy, type TestApp } from './app.ts';
import type { TestDialect } from './dialects.ts';
import type { SurfaceEnvelope } from './surfaces.ts';

export interface Fixture {
  a: Tenancy;
  /** A second workspace of tenant A, which a restricted key reaches instead of A's first. */
  otherWorkspaceId: number;
  /** A custom property (`fixture_prop`), a job, a data source (id 1), a profile (`fixture`) and a spare key in A's first workspace. */
  property: string;
  propertyId: number;
  propertyUid: string;
  jobId: string;
  spareKeyId: string;
}

export interface RouteCall {
  /** The route as the app declares it: `METHOD /prefix/path/:param`. */
  route: string;
  url: (f: Fixture) => string;
  payload?: (f: Fixture) => unknown;
  /**
   * What a caller of another tenant, or restricted to another workspace, gets: `not-found`
   * (the default), `own` (the route acts on the caller's own workspace, where ids are its own:
   * a 2xx or 404 that shows none of A's objects), or `tenant` (a tenant route: only another
   * tenant is refused).
   */
  isolation?: 'not-found' | 'own' | 'tenant';
}

export interface SurfaceCase {
  surface: SurfaceEnvelope;
  calls: RouteCall[];
}

const ALL_SCOPES = ['properties:read', 'properties:write', 'profiles:read', 'profiles:write', 'pii:read', 'admin'];

/** Tenant A with two workspaces and, in the first, one object of each kind a route can name. */
export async function createFixture(t: TestApp): Promise<Fixture> {
  const a = await createTenancy(t, 'Alpha');
  const ws = `/v1/workspaces/${a.workspaceId}`;
  const other = await t.request({ method: 'POST', url: `/v1/tenants/${a.tenantId}/workspaces`, payload: { name: 'Alpha other' } });
  expectStatus(other, 201);
  const prop = await t.request({ method: 'POST', url: `${ws}/properties`, token: a.token, payload: { name: 'fixture_prop', data_type: 'string' } });
  expectStatus(prop, 201);
  expectStatus(await t.request({ method: 'POST', url: `${ws}/properties`, token: a.token, payload: { name: 'to_purge', data_type: 'string' } }), 201);
  const purge = await t.request({ method: 'DELETE', url: `${ws}/properties/to_purge?purge=true`, token: a.token });
  expectStatus(purge, 202);
  expectStatus(await t.request({ method: 'POST', url: `${ws}/sources`, token: a.token, payload: { name: 'fixture_source' } }), 201);
  expectStatus(await t.request({ method: 'PUT', url: `${ws}/profiles/fixture`, token: a.token, payload: { properties: {} } }), 201);
  const spare = await a.key(['properties:read']);
  return {
    a,
    otherWorkspaceId: other.body.id,
    property: 'fixture_prop',
    propertyId: prop.body.id,
    propertyUid: prop.body.uid,
    jobId: purge.body.job.id,
    spareKeyId: spare.id,
  };
}

export function runCommonRouteTests(dialect: TestDialect, { surface, calls }: SurfaceCase): void {
  describe(`common route checks: ${surface.name} [${dialect.name}]`, () => {
    let t: TestApp;
    let f: Fixture;
    let b: Tenancy;
    let restricted: string;
    const withoutScope = new Map<string, string>();

    before(async () => {
      // Vendor rate limits off: these checks send many requests for one tenant.
      t = await createTestApp(dialect, { config: { ocamba: { perSecond: 0, perMinute: 0 } } });
      f = await createFixture(t);
      b = await createTenancy(t, 'Beta');
      restricted = (await f.a.key(ALL_SCOPES, [f.otherWorkspaceId])).token;
      for (const route of served()) {
        if (withoutScope.has(route.auth)) continue;
        // Every other scope: a write scope does not imply its read scope.
        withoutScope.set(route.auth, (await f.a.key(ALL_SCOPES.filter((s) => s !== route.auth))).token);
      }
    });
    after(() => t.close());

    /** The surface's routes as the app declares them (HEAD answers as GET does). */
    const served = () => t.routes.filter((r) => r.url.startsWith(`${surface.prefix}/`) && r.method !== 'HEAD');
    const call = (c: RouteCall, token: string | null) => {
      const [method] = c.route.split(' ');
      return t.request({
        method: method as 'GET',
        url: c.url(f),
        payload: c.payload?.(f) as never,
        token: null,
        headers: token === null ? {} : surface.credential(token),
      });
    };
    const authOf = (c: RouteCall) => {
      const route = served().find((r) => `${r.method} ${r.url}` === c.route);
      assert.ok(route, `${c.route} is not a route of ${surface.name}`);
      return route.auth;
    };

    test('the table says how to call every route the app serves, and no other', () => {
      const declared = served().map((r) => `${r.method} ${r.url}`).sort();
      const tabled = [...new Set(calls.map((c) => c.route))].sort();
      assert.deepEqual(tabled, declared, 'every route needs a row in test/helpers/route-calls.ts');
    });

    for (const c of calls) {
      const name = c.route;
      test(`${name}: no credential → 401`, async () => {
        surface.expectError(await call(c, null), 401);
      });
      test(`${name}: a wrong credential → 401`, async () => {
        surface.expectError(await call(c, 'pd_not-a-real-token'), 401);
      });
      test(`${name}: a key without the route's scope → 403`, async (ctx) => {
        const auth = authOf(c);
        if (auth === 'any') return ctx.skip('any valid token may call it');
        surface.expectError(await call(c, auth === 'operator' ? f.a.token : withoutScope.get(auth)!), 403);
      });
      if (surface.prefix !== '/v1') {
        test(`${name}: the operator token → 401`, async () => {
          surface.expectError(await call(c, OPERATOR_TOKEN), 401);
        });
      }
      test(`${name}: another tenant's key, or one restricted to another workspace → 404 or its own data`, async (ctx) => {
        if (authOf(c) === 'operator') return ctx.skip('only the operator calls it');
        const callers = c.isolation === 'tenant' ? [b.token] : [b.token, restricted];
        for (const token of callers) {
          const res = await call(c, token);
          if (c.isolation !== 'own') {
            surface.expectError(res, 404);
            continue;
          }
          if (res.status === 404) surface.expectError(res, 404);
          else assert.ok(res.status >= 200 && res.status < 300, `expected a 2xx or 404 on the caller's own workspace, got ${res.status}: ${res.raw}`);
          assert.doesNotMatch(res.raw, /fixture_prop/, `A's property shows: ${res.raw}`);
        }
        // Whatever it did, it did not touch A's property.
        const own = await t.request({ method: 'GET', url: `/v1/workspaces/${f.a.workspaceId}/properties/${f.property}`, token: f.a.token });
        expectStatus(own, 200);
        assert.deepEqual([own.body.version, own.body.archived], [1, false], own.raw);
      });
    }
  });
}
