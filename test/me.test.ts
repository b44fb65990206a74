// GET /v1/me: a token describes itself, so that a client can offer only what it may do.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTenancy, createTestApp, expectError, expectStatus, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

const ALL = ['properties:read', 'properties:write', 'profiles:read', 'profiles:write', 'pii:read', 'admin'];

for (const dialect of dialects) {
  describe(`GET /v1/me [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let second: number;

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t, 'Alpha');
      const ws = await t.request({ method: 'POST', url: `/v1/tenants/${a.tenantId}/workspaces`, payload: { name: 'Alpha second' } });
      expectStatus(ws, 201);
      second = ws.body.id;
      // Another tenant's workspace, which no key of Alpha reaches.
      await createTenancy(t, 'Beta');
    });
    after(() => t.close());

    const cases = [
      { title: 'an unrestricted key: every workspace of its tenant', scopes: ['properties:read'], restrict: false, expected: () => [a.workspaceId, second] },
      { title: 'a key restricted to one workspace: that one', scopes: ['profiles:read', 'pii:read'], restrict: true, expected: () => [second] },
    ];
    for (const c of cases) {
      test(c.title, async () => {
        const key = await a.key(c.scopes, c.restrict ? [second] : undefined);
        const res = await t.request({ method: 'GET', url: '/v1/me', token: key.token });
        expectStatus(res, 200);
        assert.deepEqual(res.body, {
          kind: 'key',
          key_id: key.id,
          tenant_id: a.tenantId,
          scopes: c.scopes,
          workspace_ids: c.restrict ? [second] : null,
          workspaces: c.expected().map((id) => ({ id, name: id === second ? 'Alpha second' : 'Alpha workspace' })),
        }, res.raw);
      });
    }

    test('the operator: every scope, no tenant, no workspaces listed', async () => {
      const res = await t.request({ method: 'GET', url: '/v1/me' });
      expectStatus(res, 200);
      assert.deepEqual(res.body, { kind: 'operator', key_id: null, tenant_id: null, scopes: ALL, workspace_ids: null, workspaces: [] }, res.raw);
    });

    test('no token, or a revoked one → 401', async () => {
      expectError(await t.request({ method: 'GET', url: '/v1/me', token: null }), 401, 'UNAUTHENTICATED');
      const key = await a.key(['admin']);
      expectStatus(await t.request({ method: 'DELETE', url: `/v1/tenants/${a.tenantId}/api-keys/${key.id}` }), 204);
      expectError(await t.request({ method: 'GET', url: '/v1/me', token: key.token }), 401, 'UNAUTHENTICATED');
    });
  });
}
