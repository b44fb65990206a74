// Tenants, workspaces and API keys: the plumbing an operator and a tenant admin use.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTenancy, createTestApp, expectError, expectStatus, OPERATOR_TOKEN, type Tenancy, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

for (const dialect of dialects) {
  describe(`tenants, workspaces and keys [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t, 'Alpha', 7196310);
    });
    after(() => t.close());

    test('the operator creates and lists tenants', async () => {
      const created = await t.request({ method: 'POST', url: '/v1/tenants', payload: { name: 'Gamma' } });
      expectStatus(created, 201);
      assert.equal(created.body.name, 'Gamma');
      assert.equal(typeof created.body.id, 'number');
      const list = await t.request({ method: 'GET', url: '/v1/tenants?limit=1' });
      expectStatus(list, 200);
      assert.equal(list.body.data.length, 1);
      assert.equal(typeof list.body.next_cursor, 'string');
      const rest = await t.request({ method: 'GET', url: `/v1/tenants?limit=1000&cursor=${list.body.next_cursor}` });
      expectStatus(rest, 200);
      assert.ok(rest.body.data.some((x: { name: string }) => x.name === 'Gamma'));
      assert.equal(rest.body.next_cursor, null);
    });

    test('a tenant admin key reads its own tenant, not the tenant list', async () => {
      const own = await t.request({ method: 'GET', url: `/v1/tenants/${a.tenantId}`, token: a.token });
      expectStatus(own, 200);
      assert.deepEqual({ id: own.body.id, name: own.body.name }, { id: a.tenantId, name: 'Alpha' });
      expectError(await t.request({ method: 'GET', url: '/v1/tenants', token: a.token }), 403, 'FORBIDDEN');
    });

    test('a workspace keeps its chosen id and gets the system properties', async () => {
      assert.equal(a.workspaceId, 7196310);
      const list = await t.request({ method: 'GET', url: `/v1/workspaces/${a.workspaceId}/properties?system=true`, token: a.token });
      expectStatus(list, 200);
      assert.deepEqual(
        list.body.data.map((p: { name: string }) => p.name),
        ['email', 'phone', 'first_name', 'last_name', 'full_name', 'country', 'city', 'language', 'timezone', 'created_at'],
      );
      assert.ok(list.body.data.every((p: { system: boolean }) => p.system));
    });

    test('a taken workspace id is 409 ALREADY_EXISTS', async () => {
      const res = await t.request({ method: 'POST', url: `/v1/tenants/${a.tenantId}/workspaces`, payload: { name: 'again', id: 7196310 } });
      expect409(res);
    });

    function expect409(res: Awaited<ReturnType<TestApp['request']>>) {
      const details = expectError(res, 409, 'ALREADY_EXISTS');
      assert.deepEqual(details, [{ field: 'id', problem: 'is taken' }]);
    }

    test('workspaces without a chosen id get the next free one; the admin lists them', async () => {
      const res = await t.request({ method: 'POST', url: `/v1/tenants/${a.tenantId}/workspaces`, token: a.token, payload: { name: 'second' } });
      expectStatus(res, 201);
      assert.equal(res.body.id, 7196311);
      assert.equal(res.body.property_limit, 1000);
      const list = await t.request({ method: 'GET', url: `/v1/tenants/${a.tenantId}/workspaces`, token: a.token });
      expectStatus(list, 200);
      assert.deepEqual(
        list.body.data.map((w: { id: number }) => w.id),
        [7196310, 7196311],
      );
    });

    test('only the operator sets property_limit', async () => {
      const byKey = await t.request({ method: 'POST', url: `/v1/tenants/${a.tenantId}/workspaces`, token: a.token, payload: { name: 'big', property_limit: 5000 } });
      expectError(byKey, 403, 'FORBIDDEN');
      const byOperator = await t.request({ method: 'POST', url: `/v1/tenants/${a.tenantId}/workspaces`, payload: { name: 'big', property_limit: 5000 } });
      expectStatus(byOperator, 201);
      assert.equal(byOperator.body.property_limit, 5000);
    });

    test('an unknown tenant is 404', async () => {
      expectError(await t.request({ method: 'POST', url: '/v1/tenants/999999/workspaces', payload: { name: 'x' } }), 404, 'NOT_FOUND');
    });

    test('a key is shown once with its token, listed without it, and stored only as a hash', async () => {
      const res = await t.request({
        method: 'POST',
        url: `/v1/tenants/${a.tenantId}/api-keys`,
        token: a.token,
        payload: { name: 'reader', scopes: ['properties:read'], workspace_ids: [a.workspaceId] },
      });
      expectStatus(res, 201);
      assert.match(res.body.token, /^pd_[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(res.body.scopes, ['properties:read']);
      assert.deepEqual(res.body.workspace_ids, [a.workspaceId]);
      const list = await t.request({ method: 'GET', url: `/v1/tenants/${a.tenantId}/api-keys`, token: a.token });
      expectStatus(list, 200);
      const listed = list.body.data.find((k: { id: string }) => k.id === res.body.id);
      assert.deepEqual(Object.keys(listed).sort(), ['created_at', 'id', 'name', 'rate_limit', 'scopes', 'workspace_ids']);
      const rows = await t.db.selectFrom('api_keys').select('token_hash').execute();
      assert.ok(rows.every((r) => !r.token_hash.includes(res.body.token)));
      assert.ok(!list.raw.includes(res.body.token));
    });

    test('a key cannot name another tenant’s workspace', async () => {
      const b = await createTenancy(t, 'Beta');
      const res = await t.request({
        method: 'POST',
        url: `/v1/tenants/${a.tenantId}/api-keys`,
        token: a.token,
        payload: { name: 'x', scopes: ['properties:read'], workspace_ids: [b.workspaceId] },
      });
      const details = expectError(res, 400, 'VALIDATION_FAILED');
      assert.deepEqual(details.map((d) => d.field), ['workspace_ids[0]']);
    });

    test('unknown scopes are refused with the allowed list', async () => {
      const res = await t.request({ method: 'POST', url: `/v1/tenants/${a.tenantId}/api-keys`, token: a.token, payload: { name: 'x', scopes: ['everything'] } });
      const details = expectError(res, 400, 'VALIDATION_FAILED');
      assert.equal(details[0].field, 'scopes[0]');
      assert.ok(details[0].allowed?.includes('properties:read'));
    });

    test('a revoked key fails with 401 at once', async () => {
      const key = await a.key(['properties:read']);
      const url = `/v1/workspaces/${a.workspaceId}/properties`;
      expectStatus(await t.request({ method: 'GET', url, token: key.token }), 200);
      expectStatus(await t.request({ method: 'DELETE', url: `/v1/tenants/${a.tenantId}/api-keys/${key.id}`, token: a.token }), 204);
      expectError(await t.request({ method: 'GET', url, token: key.token }), 401, 'UNAUTHENTICATED');
      expectError(await t.request({ method: 'DELETE', url: `/v1/tenants/${a.tenantId}/api-keys/${key.id}`, token: a.token }), 404, 'NOT_FOUND');
    });

    describe('an admin key restricted to some workspaces', () => {
      let restricted: { token: string; id: string };
      let otherWs: number;

      before(async () => {
        const ws = await t.request({ method: 'POST', url: `/v1/tenants/${a.tenantId}/workspaces`, payload: { name: 'other' } });
        otherWs = ws.body.id;
        restricted = await a.key(['admin', 'properties:read'], [a.workspaceId]);
      });

      test('cannot create workspaces', async () => {
        expectError(await t.request({ method: 'POST', url: `/v1/tenants/${a.tenantId}/workspaces`, token: restricted.token, payload: { name: 'x' } }), 403, 'FORBIDDEN');
      });

      test('lists only its workspaces', async () => {
        const list = await t.request({ method: 'GET', url: `/v1/tenants/${a.tenantId}/workspaces`, token: restricted.token });
        expectStatus(list, 200);
        assert.deepEqual(list.body.data.map((w: { id: number }) => w.id), [a.workspaceId]);
      });

      test('sees another workspace of its tenant as 404', async () => {
        expectError(await t.request({ method: 'GET', url: `/v1/workspaces/${otherWs}/properties`, token: restricted.token }), 404, 'NOT_FOUND');
      });

      test('creates keys only within its workspaces and scopes', async () => {
        const within = await t.request({
          method: 'POST',
          url: `/v1/tenants/${a.tenantId}/api-keys`,
          token: restricted.token,
          payload: { name: 'sub', scopes: ['properties:read'], workspace_ids: [a.workspaceId] },
        });
        expectStatus(within, 201);
        const unrestricted = await t.request({ method: 'POST', url: `/v1/tenants/${a.tenantId}/api-keys`, token: restricted.token, payload: { name: 'x', scopes: ['properties:read'] } });
        expectError(unrestricted, 403, 'FORBIDDEN');
        const wider = await t.request({
          method: 'POST',
          url: `/v1/tenants/${a.tenantId}/api-keys`,
          token: restricted.token,
          payload: { name: 'x', scopes: ['properties:write'], workspace_ids: [a.workspaceId] },
        });
        expectError(wider, 403, 'FORBIDDEN');
      });

      test('cannot see or revoke keys that reach further', async () => {
        const list = await t.request({ method: 'GET', url: `/v1/tenants/${a.tenantId}/api-keys`, token: restricted.token });
        expectStatus(list, 200);
        assert.ok(list.body.data.every((k: { workspace_ids: number[] | null }) => k.workspace_ids !== null && k.workspace_ids.every((w) => w === a.workspaceId)));
        expectError(await t.request({ method: 'DELETE', url: `/v1/tenants/${a.tenantId}/api-keys/${a.keyId}`, token: restricted.token }), 404, 'NOT_FOUND');
      });
    });

    test('the operator token is the one configured', async () => {
      expectStatus(await t.request({ method: 'GET', url: '/v1/tenants', token: OPERATOR_TOKEN }), 200);
    });
  });
}
