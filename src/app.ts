// buildApp wires every part once and never listens: server.ts and the tests both call it.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Config } from './config.ts';
import type { Database } from './db/schema.ts';
import { ErrorEnvelope } from './http/common.schemas.ts';
import { nativeSurface } from './http/native-surface.ts';
import { createValidatorCompiler } from './http/validation.ts';
import { createApiKeyService } from './modules/api-keys/api-keys.service.ts';
import { jobRoutes } from './modules/jobs/jobs.routes.ts';
import { createJobService } from './modules/jobs/jobs.service.ts';
import { propertyRoutes, propertySchemas } from './modules/properties/properties.routes.ts';
import { createPropertyService } from './modules/properties/properties.service.ts';
import { tenantRoutes } from './modules/tenants/tenants.routes.ts';
import { createTenantService } from './modules/tenants/tenants.service.ts';
import { createWorkspaceService } from './modules/workspaces/workspaces.service.ts';
import { type Clock, systemClock } from './shared/clock.ts';
import { type IdGenerator, randomIds } from './shared/ids.ts';

export interface AppDeps {
  db: Kysely<Database>;
  config: Pick<Config, 'bodyLimit' | 'propertyLimit' | 'adminToken'>;
  clock?: Clock;
  ids?: IdGenerator;
  logger?: FastifyServerOptions['logger'];
}

export function createServices({ db, config, clock = systemClock, ids = randomIds }: AppDeps) {
  const tenants = createTenantService({ db, clock });
  const properties = createPropertyService({ db, clock, ids });
  const workspaces = createWorkspaceService({ db, clock, tenants, properties, defaultPropertyLimit: config.propertyLimit });
  const apiKeys = createApiKeyService({ db, clock, ids, tenants });
  const jobs = createJobService({ db });
  return { tenants, properties, workspaces, apiKeys, jobs };
}

export type Services = ReturnType<typeof createServices>;

export async function buildApp(deps: AppDeps): Promise<{ app: FastifyInstance; services: Services; operatorToken?: string }> {
  const ids = deps.ids ?? randomIds;
  const services = createServices(deps);
  const operatorToken = await services.apiKeys.ensureOperatorToken(deps.config.adminToken);

  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: deps.config.bodyLimit,
    requestIdHeader: 'x-request-id',
    genReqId: () => ids.requestId(),
    ajv: { customOptions: { allErrors: true, removeAdditional: false } },
    return503OnClosing: true,
  });
  app.setValidatorCompiler(createValidatorCompiler());
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });

  for (const schema of [ErrorEnvelope, ...propertySchemas]) app.addSchema(schema);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'propdict',
        version: '0.1.0',
        description: 'Profile property dictionary: define the custom properties your profiles carry.',
      },
      servers: [{ url: '/' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    try {
      await sql`select 1`.execute(deps.db);
      return { status: 'ok' };
    } catch {
      return reply.code(503).send({ status: 'unavailable', reason: 'database does not answer' });
    }
  });

  await app.register(
    async (v1) => {
      nativeSurface(v1, { apiKeys: services.apiKeys });
      await v1.register(tenantRoutes, services);
      await v1.register(
        async (ws) => {
          ws.addHook('preHandler', async (request) => {
            const { ws: id } = request.params as { ws: number };
            request.workspace = await services.workspaces.resolve(request.principal, id);
          });
          await ws.register(propertyRoutes, services);
          await ws.register(jobRoutes, services);
        },
        { prefix: '/workspaces/:ws' },
      );
    },
    { prefix: '/v1' },
  );

  return { app, services, operatorToken };
}

