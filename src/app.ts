// buildApp wires every part once and never listens: server.ts and the tests both call it.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { lineworksSurface } from './compat/lineworks/lineworks.routes.ts';
import { hclSurface } from './compat/hcl/hcl.routes.ts';
import { ocambaSurface } from './compat/ocamba/ocamba.routes.ts';
import { segmentSurface } from './compat/segment/segment.routes.ts';
import { failure as segmentFailure } from './compat/segment/segment.errors.ts';
import type { SurfaceDeps } from './compat/surface.ts';
import type { Config } from './config.ts';
import type { Database } from './db/schema.ts';
import { ErrorEnvelope } from './http/common.schemas.ts';
import { nativeSurface, sendError } from './http/native-surface.ts';
import { envelope as hclEnvelope } from './compat/hcl/hcl.errors.ts';
import { sendLineWorksError } from './compat/lineworks/lineworks.errors.ts';
import { sendOcambaError } from './compat/ocamba/ocamba.errors.ts';
import { createValidatorCompiler } from './http/validation.ts';
import { parseJsonBody } from './http/json-body.ts';
import { createApiKeyService } from './modules/api-keys/api-keys.service.ts';
import { jobRoutes } from './modules/jobs/jobs.routes.ts';
import { createJobService } from './modules/jobs/jobs.service.ts';
import { createJobRunner, type JobRunner } from './modules/jobs/job-runner.ts';
import { createValueCodec } from './modules/profiles/value-codec.ts';
import { createPiiCipher } from './shared/pii-cipher.ts';
import { createLocalBroadcast, createRedisBroadcast, type Broadcast } from './shared/broadcast.ts';
import { propertyRoutes, propertySchemas } from './modules/properties/properties.routes.ts';
import { createPropertyService } from './modules/properties/properties.service.ts';
import { tenantRoutes } from './modules/tenants/tenants.routes.ts';
import { createTenantService } from './modules/tenants/tenants.service.ts';
import { createWorkspaceService } from './modules/workspaces/workspaces.service.ts';
import { createMemoryStore, createRateLimiter } from './modules/rate-limits/rate-limiter.ts';
import { createRedisStore } from './modules/rate-limits/redis-store.ts';
import { sourceRoutes } from './modules/sources/sources.routes.ts';
import { profileRoutes, profileSchemas } from './modules/profiles/profiles.routes.ts';
import { createProfileService } from './modules/profiles/profiles.service.ts';
import { SourceSchema } from './modules/sources/sources.schemas.ts';
import { createSourceService } from './modules/sources/sources.service.ts';
import { writeKeyRoutes } from './modules/sources/write-keys.routes.ts';
import { createWriteKeyService } from './modules/sources/write-keys.service.ts';
import { createIngestionService } from './modules/ingestion/ingestion.service.ts';
import { violationRoutes } from './modules/violations/violations.routes.ts';
import { createViolationService } from './modules/violations/violations.service.ts';
import { type Clock, systemClock } from './shared/clock.ts';
import { type IdGenerator, randomIds } from './shared/ids.ts';

export interface AppDeps {
  db: Kysely<Database>;
  config: Pick<Config, 'bodyLimit' | 'propertyLimit' | 'adminToken' | 'redisUrl' | 'encryptionKey' | 'ocamba' | 'hcl' | 'lineworks'>;
  clock?: Clock;
  ids?: IdGenerator;
  logger?: FastifyServerOptions['logger'];
  /** false: background jobs are not run by this app (tests drive them by hand). */
  runJobs?: boolean;
  /** Matches from which a search filter is checked per profile instead of looked up. */
  broadFilter?: number;
  /** Reaches every server process; in-process when absent. */
  broadcast?: Broadcast;
}

export function createServices(deps: AppDeps) {
  const { db, config, clock = systemClock, ids = randomIds } = deps;
  const codec = createValueCodec(config.encryptionKey ? createPiiCipher(config.encryptionKey) : undefined);
  const tenants = createTenantService({ db, clock });
  const broadcast = deps.broadcast ?? createLocalBroadcast();
  const jobs = createJobService({ db, clock, ids });
  // Properties ask profiles and sources about a property's use; profiles rank values by source
  // priority; sources ingest through profiles. Each is asked through a function, so no module
  // imports one that imports it back.
  const properties = createPropertyService({
    db,
    clock,
    ids,
    piiStorable: codec.hasCipher,
    broadcast,
    jobs,
    usage: { holders: (trx, ws, id) => profiles.countHolders(trx, ws, id), mappedBy: (trx, ws, id) => sources.mappedBy(trx, ws, id) },
  });
  const workspaces = createWorkspaceService({ db, clock, tenants, properties, defaultPropertyLimit: config.propertyLimit });
  const apiKeys = createApiKeyService({ db, clock, ids, tenants, workspaces, broadcast });
  const profiles = createProfileService({ db, clock, ids, codec, properties, jobs, sourcePriorities: (conn, ws) => sources.priorities(conn, ws), broadFilter: deps.broadFilter });
  const sources = createSourceService({ db, clock, properties, profiles });
  const writeKeys = createWriteKeyService({ db, clock, ids, broadcast });
  const violations = createViolationService({ db });
  const ingestion = createIngestionService({ db, clock, properties, sources, profiles, violations });
  return { tenants, properties, workspaces, apiKeys, jobs, sources, profiles, writeKeys, violations, ingestion };
}

export type Services = ReturnType<typeof createServices>;

/** A URL no route can take, answered in the envelope of the surface its path names. */
function badUrl(request: FastifyRequest, reply: FastifyReply, field: string, problem: string): FastifyReply {
  const message = 'The request URL is not valid.';
  void reply.header('x-request-id', request.id);
  const path = request.url;
  if (path.startsWith('/ocamba/')) return sendOcambaError(reply, 400, message);
  if (path.startsWith('/hcl/')) return reply.code(400).send(hclEnvelope(400, message));
  if (path.startsWith('/lineworks/')) return sendLineWorksError(reply, { code: 'INVALID_PARAMETER', description: message });
  if (path.startsWith('/segment/')) return reply.code(400).send(segmentFailure(message));
  return sendError(reply, 'VALIDATION_FAILED', message, [{ field, problem }]);
}

export async function buildApp(deps: AppDeps): Promise<{ app: FastifyInstance; services: Services; jobRunner: JobRunner; operatorToken?: string }> {
  const ids = deps.ids ?? randomIds;
  const broadcast = deps.config.redisUrl ? createRedisBroadcast(deps.config.redisUrl) : createLocalBroadcast();
  const services = createServices({ ...deps, broadcast });
  const operatorToken = await services.apiKeys.ensureOperatorToken(deps.config.adminToken);

  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: deps.config.bodyLimit,
    requestIdHeader: 'x-request-id',
    genReqId: () => ids.requestId(),
    ajv: { customOptions: { allErrors: true, removeAdditional: false } },
    return503OnClosing: true,
    // A URL that cannot be decoded fails before any route or surface runs; answer it in the
    // envelope of the surface its path names.
    frameworkErrors: (_error, request, reply) => badUrl(request, reply as FastifyReply, 'url', 'cannot be decoded'),
    // Profile ids reach 128 characters; the router's default cut-off is 100.
    routerOptions: { maxParamLength: 1024 },
  });
  // NUL characters cannot be stored (PostgreSQL text refuses them): refused in any body.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.setValidatorCompiler(createValidatorCompiler());
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    // NUL characters cannot be stored or compared (PostgreSQL text refuses them).
    if (/%00/.test(request.url.split('?')[0])) return badUrl(request, reply, 'url', 'holds a NUL character');
    for (const [key, value] of Object.entries(request.query as Record<string, unknown>)) {
      if ([value].flat().some((v) => typeof v === 'string' && v.includes('\u0000'))) return badUrl(request, reply, key, 'holds a NUL character');
    }
  });

  for (const schema of [ErrorEnvelope, ...propertySchemas, SourceSchema, ...profileSchemas]) app.addSchema(schema);

  // Rate-limit counters: in-process, or shared by every server through Redis.
  const clock = deps.clock ?? systemClock;
  const counters = deps.config.redisUrl ? createRedisStore(deps.config.redisUrl) : createMemoryStore(clock);
  const limiter = createRateLimiter({ store: counters, clock });
  app.addHook('onClose', async () => {
    await counters.close();
    await broadcast.close();
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'propdict',
        version: '0.1.0',
        description: 'Profile property dictionary: define the custom properties your profiles carry.',
      },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          writeKey: { type: 'http', scheme: 'basic', description: "A source's write key as the user name, the password empty (/segment only)" },
        },
      },
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
      nativeSurface(v1, { apiKeys: services.apiKeys, limiter });
      await v1.register(tenantRoutes, services);
      await v1.register(
        async (ws) => {
          ws.addHook('preHandler', async (request) => {
            const { ws: id } = request.params as { ws: number };
            request.workspace = await services.workspaces.resolve(request.principal, id);
          });
          await ws.register(propertyRoutes, services);
          await ws.register(jobRoutes, services);
          await ws.register(sourceRoutes, services);
          await ws.register(profileRoutes, services);
          await ws.register(writeKeyRoutes, services);
          await ws.register(violationRoutes, services);
        },
        { prefix: '/workspaces/:ws' },
      );
    },
    { prefix: '/v1' },
  );

  // Vendor surfaces: each its own plugin, envelope and rate limits, over the same services.
  const surfaceDeps: SurfaceDeps = { ...services, limiter, config: deps.config };
  await app.register(hclSurface, { ...surfaceDeps, prefix: '/hcl' });
  await app.register(ocambaSurface, { ...surfaceDeps, prefix: '/ocamba' });
  await app.register(lineworksSurface, { ...surfaceDeps, prefix: '/lineworks' });
  await app.register(segmentSurface, { ...services, clock, prefix: '/segment' });

  // Background jobs run in every server; leases keep two from running the same one.
  const jobRunner = createJobRunner({ db: deps.db, clock, steps: services.jobs.steps, onError: (error) => app.log.error({ err: error }, 'background job failed') });
  if (deps.runJobs !== false) {
    app.addHook('onReady', async () => jobRunner.start());
    app.addHook('onClose', async () => jobRunner.stop());
  }

  return { app, services, jobRunner, operatorToken };
}

