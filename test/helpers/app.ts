// Builds the real app on a fresh database and gives tests a small client over inject().
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import assert from 'node:assert/strict';
import { buildApp } from '../../src/app.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import type { SurfaceRoute } from '../../src/http/surface.ts';
import type { Services } from '../../src/services.ts';
import type { JobRunner } from '../../src/modules/jobs/job-runner.ts';
import { createDb } from '../../src/db/create-db.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/schema.ts';
import type { Clock } from '../../src/shared/clock.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import type { TestDialect } from './dialects.ts';

export const OPERATOR_TOKEN = 'test-operator-token-0123456789';
export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7);

export interface Response {
  status: number;
  headers: LightMyRequestResponse['headers'];
  // Tests read arbitrary JSON; each assertion narrows what it reads.
  body: any;
  raw: string;
}

export interface TestApp {
  app: FastifyInstance;
  db: Kysely<Database>;
  services: Services;
  /** Background jobs; tests drive them with drain() or stepOnce(). */
  jobRunner: JobRunner;
  /** Every route the app serves on its surfaces, as it declared them. */
  routes: SurfaceRoute[];
  request(options: InjectOptions & { token?: string | null }): Promise<Response>;
  close(): Promise<void>;
}

export async function createTestApp(
  dialect: TestDialect,
  options: {
    propertyLimit?: number;
    bodyLimit?: number;
    clock?: Clock;
    config?: Partial<Config>;
    broadFilter?: number;
    /** Told of every statement the app sends, with its parameters. */
    onQuery?: (sql: string, parameters: readonly unknown[]) => void;
  } = {},
): Promise<TestApp> {
  const database = await dialect.fresh();
  // As the server does: the database's statements and commits are timed for GET /metrics.
  const metrics = createMetrics();
  const onQuery = options.onQuery;
  const { db } = createDb(database.url, {
    ...metrics.db,
    onQuery: (ms, sql, parameters) => {
      metrics.db.onQuery(ms, sql);
      onQuery?.(sql, parameters);
    },
  });
  await migrateToLatest(db);
  const { app, services, jobRunner, routes } = await buildApp({
    db,
    metrics,
    clock: options.clock,
    runJobs: false,
    broadFilter: options.broadFilter,
    config: {
      ...loadConfig({}),
      bodyLimit: options.bodyLimit ?? 1_048_576,
      propertyLimit: options.propertyLimit ?? 1000,
      adminToken: OPERATOR_TOKEN,
      encryptionKey: TEST_ENCRYPTION_KEY,
      ...options.config,
    },
  });
  await app.ready();
  return {
    app,
    db,
    services,
    jobRunner,
    routes,
    async request({ token = OPERATOR_TOKEN, headers, ...rest }) {
      const res = await app.inject({
        ...rest,
        headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers },
      });
      let body: unknown;
      try {
        body = res.body === '' ? undefined : JSON.parse(res.body);
      } catch {
        body = res.body;
      }
      return { status: res.statusCode, headers: res.headers, body, raw: res.body };
    },
    async close() {
      await app.close();
      await db.destroy();
      await database.drop();
    },
  };
}

/** Asserts the status, showing the whole response when it differs. */
export function expectStatus(res: Response, status: number): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.raw}`);
}

/** Asserts a native error envelope with this status and code; returns its details. */
export function expectError(res: Response, status: number, code: string) {
  expectStatus(res, status);
  assert.equal(res.body?.error?.code, code, `expected error ${code}: ${res.raw}`);
  assert.equal(typeof res.body.error.message, 'string');
  assert.equal(res.body.error.request_id, res.headers['x-request-id'], 'request_id equals X-Request-Id');
  assert.ok(Array.isArray(res.body.error.details), 'details is an array');
  return res.body.error.details as { field: string; problem: string; allowed?: unknown[] }[];
}

export interface Tenancy {
  tenantId: number;
  workspaceId: number;
  /** A key of this tenant with every scope. */
  token: string;
  keyId: string;
  /** Creates another key of this tenant. */
  key(scopes: string[], workspaceIds?: number[]): Promise<{ token: string; id: string }>;
}

/** A tenant with one workspace and an all-scopes key, made through the API. */
export async function createTenancy(t: TestApp, name = 'Acme', workspaceId?: number): Promise<Tenancy> {
  const tenant = await t.request({ method: 'POST', url: '/v1/tenants', payload: { name } });
  expectStatus(tenant, 201);
  const ws = await t.request({
    method: 'POST',
    url: `/v1/tenants/${tenant.body.id}/workspaces`,
    payload: { name: `${name} workspace`, ...(workspaceId ? { id: workspaceId } : {}) },
  });
  expectStatus(ws, 201);
  const key = async (scopes: string[], workspaceIds?: number[]) => {
    const res = await t.request({
      method: 'POST',
      url: `/v1/tenants/${tenant.body.id}/api-keys`,
      payload: { name: `key ${scopes.join(' ')}`, scopes, ...(workspaceIds ? { workspace_ids: workspaceIds } : {}) },
    });
    expectStatus(res, 201);
    return { token: res.body.token as string, id: res.body.id as string };
  };
  const all = await key(['properties:read', 'properties:write', 'profiles:read', 'profiles:write', 'pii:read', 'admin']);
  return { tenantId: tenant.body.id, workspaceId: ws.body.id, token: all.token, keyId: all.id, key };
}
