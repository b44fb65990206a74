// buildApp wires every part once and never listens: server.ts and the tests both call it.
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { hclSurface } from './compat/hcl/hcl.routes.ts';
import { lineworksSurface } from './compat/lineworks/lineworks.routes.ts';
import { ocambaSurface } from './compat/ocamba/ocamba.routes.ts';
import { say as segmentSays, sendFailure as sendSegmentFailure } from './compat/segment/segment.errors.ts';
import { segmentOpenapi, segmentSurface } from './compat/segment/segment.routes.ts';
import type { Config } from './config.ts';
import type { Database } from './db/schema.ts';
import { clientErrorAnswer } from './http/client-error.ts';
import { CONSOLE_PREFIX, consoleRoutes } from './http/console.ts';
import { countRequests, createMetrics, metricsRoute, type Metrics } from './http/metrics.ts';
import { nativeSurface } from './http/native-surface.ts';
import { describeSurface } from './http/openapi.ts';
import { answerEverything, registerSurface, type Surface, type SurfaceRoute } from './http/surface.ts';
import { retryAfterOnUnavailable } from './http/unavailable.ts';
import { createValidatorCompiler } from './http/validation.ts';
import { importSchemas } from './modules/imports/imports.routes.ts';
import { createJobRunner, type JobRunner } from './modules/jobs/job-runner.ts';
import { profileSchemas } from './modules/profiles/profiles.routes.ts';
import { propertySchemas } from './modules/properties/properties.routes.ts';
import { createMemoryStore, createRateLimiter } from './modules/rate-limits/rate-limiter.ts';
import { createRedisStore } from './modules/rate-limits/redis-store.ts';
import { SourceSchema } from './modules/sources/sources.schemas.ts';
import { createServices, type Services } from './services.ts';
import { ErrorEnvelope } from './shared/api-schemas.ts';
import { createLocalBroadcast, createRedisBroadcast, type Broadcast } from './shared/broadcast.ts';
import { type Clock, systemClock } from './shared/clock.ts';
import { AppError } from './shared/errors.ts';
import { type IdGenerator, randomIds } from './shared/ids.ts';

export interface AppDeps {
  db: Kysely<Database>;
  config: Pick<
    Config,
    'bodyLimit' | 'propertyLimit' | 'importLimit' | 'adminToken' | 'metricsToken' | 'redisUrl' | 'redisPrefix' | 'timeouts' | 'encryptionKey' | 'previousEncryptionKey' | 'ocamba' | 'hcl' | 'lineworks' | 'segment'
  > &
    Partial<Pick<Config, 'jobLeaseMs'>>;
  clock?: Clock;
  ids?: IdGenerator;
  logger?: FastifyServerOptions['logger'];
  /** false: background jobs are not run by this app (tests drive them by hand). */
  runJobs?: boolean;
  /** Matches from which a search filter is checked per profile instead of looked up. */
  broadFilter?: number;
  /** Reaches every server process; through Redis when REDIS_URL is set, else in-process, when absent. */
  broadcast?: Broadcast;
  /** What GET /metrics shows; the database's hooks are given to createDb by whoever opens it. */
  metrics?: Metrics;
}

/** Every surface, each under its own prefix; /v1 is the native one. */
export const SURFACES: readonly Surface[] = [nativeSurface, ocambaSurface, hclSurface, lineworksSurface];

/** A URL no route can take, answered in the envelope of the surface its path names (else the native one). */
function badUrl(request: FastifyRequest, reply: FastifyReply, field: string, problem: string): FastifyReply {
  void reply.header('x-request-id', request.id);
  const path = request.url;
  // Segment's surface is a plugin of its own (see below), outside SURFACES.
  if (path === segmentOpenapi.prefix || path.startsWith(`${segmentOpenapi.prefix}/`) || path.startsWith(`${segmentOpenapi.prefix}?`)) {
    return sendSegmentFailure(reply, 400, segmentSays.badUrl(field, problem));
  }
  const surface = SURFACES.find((s) => path.startsWith(`${s.prefix}/`)) ?? nativeSurface;
  const error = new AppError('VALIDATION_FAILED', 'The request URL is not valid.', [{ field, problem }], 'BAD_URL');
  return surface.answers.error(reply, error) ?? surface.answers.internal(reply);
}

/** Where a URL holds a NUL character: `url` (its path), a query parameter's name, or undefined. */
function nulField(request: FastifyRequest): string | undefined {
  if (request.url.split('?')[0].includes('%00')) return 'url';
  for (const [key, value] of Object.entries(request.query as Record<string, unknown>)) {
    if ([value].flat().some((v) => typeof v === 'string' && v.includes('\u0000'))) return key;
  }
  return undefined;
}

export interface App {
  app: FastifyInstance;
  services: Services;
  jobRunner: JobRunner;
  /** A generated operator token, to show once; undefined when one was configured or stored. */
  operatorToken?: string;
  /** Every route of every surface, with what it needs. */
  routes: SurfaceRoute[];
}

export async function buildApp(deps: AppDeps): Promise<App> {
  const clock = deps.clock ?? systemClock;
  const ids = deps.ids ?? randomIds;
  const { redisUrl, redisPrefix, timeouts } = deps.config;
  const ownBroadcast = deps.broadcast === undefined;
  const broadcast = deps.broadcast ?? (redisUrl ? createRedisBroadcast(redisUrl, redisPrefix) : createLocalBroadcast());
  const services = createServices({ db: deps.db, config: deps.config, clock, ids, broadcast, broadFilter: deps.broadFilter });
  const operatorToken = await services.apiKeys.ensureOperatorToken(deps.config.adminToken);

  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: deps.config.bodyLimit,
    requestIdHeader: 'x-request-id',
    genReqId: () => ids.requestId(),
    ajv: { customOptions: { allErrors: true, removeAdditional: false } },
    return503OnClosing: true,
    // Slow or stalled clients: headers must arrive in time, then the whole request; a kept-alive
    // connection left idle is closed. Node checks the first two every `connectionsCheckingInterval`.
    http: { headersTimeout: timeouts.headersMs, connectionsCheckingInterval: Math.min(1000, timeouts.headersMs) },
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.idleMs,
    // A URL that cannot be decoded fails before any route or surface runs; answer it in the
    // envelope of the surface its path names.
    frameworkErrors: (_error, request, reply) => badUrl(request, reply as FastifyReply, 'url', 'cannot be decoded'),
    // Input that is not HTTP: the native envelope, with a request id.
    clientErrorHandler: clientErrorAnswer(ids),
    // Profile ids reach 128 characters; the router's default cut-off is 100. A trailing slash
    // names the same route (`/properties/` is the list, not a property with an empty name).
    routerOptions: { maxParamLength: 1024, ignoreTrailingSlash: true },
  });
  app.setValidatorCompiler(createValidatorCompiler());
  const metrics = deps.metrics ?? createMetrics();
  countRequests(app, metrics);
  // Every request passes here: a callback, so that it costs no promise turn.
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    // NUL characters cannot be stored or compared (PostgreSQL text refuses them). HTTP carries one
    // in a URL only percent-encoded, so a URL without `%00` is passed at a glance.
    const field = request.url.includes('%00') ? nulField(request) : undefined;
    if (field === undefined) return done();
    badUrl(request, reply, field, 'holds a NUL character');
  });

  retryAfterOnUnavailable(app);

  for (const schema of [ErrorEnvelope, ...propertySchemas, SourceSchema, ...profileSchemas, ...importSchemas]) app.addSchema(schema);
  // Outside every surface (`/`, `/nope`, the docs): the native envelope.
  answerEverything(app, nativeSurface.answers);

  // Rate-limit counters: in-process, or shared by every server through Redis.
  const counters = redisUrl ? createRedisStore(redisUrl, redisPrefix) : createMemoryStore(clock);
  const limiter = createRateLimiter({ store: counters, clock });
  app.addHook('onClose', async () => {
    await counters.close();
    if (ownBroadcast) await broadcast.close();
  });

  app.get('/', { schema: { hide: true } }, async () => ({
    name: 'propdict',
    docs: '/docs',
    openapi: '/openapi.json',
    console: CONSOLE_PREFIX,
    surfaces: SURFACES.map((s) => ({ name: s.name, url: s.home, openapi: s.openapi.url })),
  }));
  // The admin console: a client of /v1 like any other, served from the same process.
  await app.register(consoleRoutes);
  metricsRoute(app, { metrics, services, limiter, token: deps.config.metricsToken });
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    try {
      await sql`select 1`.execute(deps.db);
      return { status: 'ok' };
    } catch {
      return reply.code(503).send({ status: 'unavailable', reason: 'database does not answer' });
    }
  });

  const routes: SurfaceRoute[] = [];
  for (const surface of SURFACES) routes.push(...(await registerSurface(app, surface, { services, limiter, config: deps.config })));
  // Segment's write keys may come in the body, after the front door's hooks: its own plugin.
  const serveDocument = await describeSurface(app, segmentOpenapi);
  await app.register(segmentSurface, { ...services, clock, serveDocument, limiter, limits: deps.config.segment, prefix: segmentOpenapi.prefix });
  // Every document on one page, the native one first (it is the `swagger` decorator the page reads).
  const documents = [...SURFACES.map((s) => s.openapi), segmentOpenapi];
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { urls: documents.map((d) => ({ url: d.url, name: d.title })) } });

  // Background jobs run in every server; leases keep two from running the same one.
  const jobRunner = createJobRunner({ db: deps.db, clock, steps: services.jobs.steps, sizing: services.jobs.sizing, leaseMs: deps.config.jobLeaseMs, onError: (error) => app.log.error({ err: error }, 'background job failed') });
  if (deps.runJobs !== false) {
    app.addHook('onReady', async () => jobRunner.start());
    app.addHook('onClose', async () => jobRunner.stop());
  }

  return { app, services, jobRunner, operatorToken, routes };
}

