// The Ocamba Hood surface (/ocamba/v1/hood/profile-properties): a client written for
// api.ocamba.com works by changing only its base URL and token. Tenant keys only; the workspace
// is the key's default one (Ocamba's "company"); errors in Ocamba's envelope; Ocamba's rate limits.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { classifyError } from '../../http/errors.ts';
import { bearerToken } from '../../http/native-surface.ts';
import { rateLimitHook, seconds } from '../../http/rate-limit.ts';
import { actorOf, hasScope } from '../../modules/auth/auth.ts';
import type { Window } from '../../modules/rate-limits/rate-limiter.ts';
import { AppError } from '../../shared/errors.ts';
import type { SurfaceDeps } from '../surface.ts';
import { answerRouteMisses } from '../../http/route-miss.ts';
import { clientStatus, messageOf, sendOcambaError, statusOf } from './ocamba.errors.ts';
import { nativeRef, pickFields, toCreate, toItem, toListRequest, toPatch } from './ocamba.mappers.ts';
import { CreateBody, errorResponses, IdParams, Item, ListQuery, ListResponse, OneResponse, PatchBody } from './ocamba.schemas.ts';

const PATH = '/v1/hood/profile-properties';
// The service hands back the same result while the dictionary is unchanged: serialise it once.
const serialised = new WeakMap<object, string>();
// Documented in docs/compat/ocamba.md; kept out of the native OpenAPI document.
const common = { hide: true, tags: ['ocamba'] };

/** Per tenant, in fixed windows of a second and a minute (0 turns a window off). */
function ocambaRateLimits(limiter: SurfaceDeps['limiter'], limits: SurfaceDeps['config']['ocamba']) {
  const windows: Window[] = [];
  if (limits.perSecond > 0) windows.push({ name: 'second', limit: limits.perSecond, ms: 1000 });
  if (limits.perMinute > 0) windows.push({ name: 'minute', limit: limits.perMinute, ms: 60_000 });
  return rateLimitHook(limiter, {
    subject: (request) => (request.principal?.kind === 'key' ? `ocamba:${request.principal.tenantId}` : undefined),
    windows: () => windows,
    // Ocamba's headers describe one window: whichever has the least left.
    headers: (reply, d) => {
      void reply.header('x-ratelimit-limit', String(d.tightest.limit));
      void reply.header('x-ratelimit-remaining', String(d.tightest.remaining));
      void reply.header('x-ratelimit-reset', String(seconds(d.tightest.resetMs)));
    },
    // On 429 Ocamba sends Retry-After and none of the X-RateLimit headers.
    refuse: (reply, d) => {
      const wait = seconds(d.retryAfterMs);
      void reply.header('retry-after', String(wait));
      const spent = d.windows.filter((w) => w.remaining === 0).map((w) => `${w.limit} per ${w.name}`);
      return sendOcambaError(reply, 429, `This account's rate limit of ${spent.join(' and ')} is reached; retry in ${wait} s.`);
    },
  });
}

export async function ocambaSurface(app: FastifyInstance, { apiKeys, workspaces, properties, limiter, config }: SurfaceDeps) {
  if (!app.hasRequestDecorator('principal')) app.decorateRequest('principal', null as never);
  if (!app.hasRequestDecorator('workspace')) app.decorateRequest('workspace', null as never);
  // Fastify parses text/plain by default; Ocamba takes JSON only, so any other body is refused here.
  app.removeContentTypeParser('text/plain');

  // 1. Who calls: a tenant key. The operator token serves /v1 only.
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.auth === undefined) return; // unmatched route: the not-found handler answers
    try {
      request.principal = await apiKeys.authenticate(bearerToken(request));
    } catch (error) {
      if (error instanceof AppError) return sendOcambaError(reply, statusOf(error.code), error.message);
      throw error;
    }
    if (request.principal.kind === 'operator') {
      return sendOcambaError(reply, 401, 'The operator token serves /v1 only; this API takes a tenant API key.');
    }
  });
  // 2. The tenant's budget, counted once the tenant is known.
  app.addHook('onRequest', ocambaRateLimits(limiter, config.ocamba));
  // 3. What it may do, and on which workspace (Ocamba names none: the key's default "company").
  app.addHook('onRequest', async (request, reply) => {
    const need = request.routeOptions.config.auth;
    if (need === undefined || need === 'any' || need === 'operator') return;
    if (!hasScope(request.principal, need)) return sendOcambaError(reply, 403, `This API key lacks the ${need} scope.`);
    const workspace = await workspaces.defaultFor(request.principal);
    if (!workspace) {
      return sendOcambaError(reply, 403, 'This API key reaches no workspace (company): restrict it to one, or create one for its tenant.');
    }
    request.workspace = workspace;
  });

  app.setErrorHandler((error, request, reply) => {
    const known = classifyError(error);
    const e = error as FastifyError;
    if (known && e.validation) {
      const query = e.validationContext === 'querystring';
      return sendOcambaError(reply, 400, messageOf(query ? 'The query is not valid.' : 'The request body is not valid.', known.details, query ? 'query' : 'body'));
    }
    if (known) return sendOcambaError(reply, statusOf(known.code), error instanceof AppError ? messageOf(known.message, known.details, 'service') : known.message);
    const status = e.statusCode;
    if (status !== undefined && status >= 400 && status < 500) return sendOcambaError(reply, clientStatus(status), 'The request is not valid.');
    request.log.error({ err: error, trace_id: request.id }, 'unhandled error');
    return sendOcambaError(reply, 500, 'Something went wrong on our side; the trace_id identifies it in our logs.');
  });

  answerRouteMisses(app, {
    notFound: (reply, request, path) => sendOcambaError(reply, 404, `No route ${request.method} ${path}.`),
    methodNotAllowed: (reply, request, allowed) => sendOcambaError(reply, 405, `${request.method} is not allowed here; use ${allowed.join(', ')}.`),
  });

  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  /** The property a path id names; archived ones are hidden on this surface, as in its lists. */
  async function visible(workspaceId: number, id: string) {
    const ref = nativeRef(id);
    const property = ref === undefined ? undefined : await properties.get(workspaceId, ref);
    if (!property || property.archived) throw new AppError('NOT_FOUND', `Profile property "${id}" not found.`);
    return property;
  }

  r.get(PATH, {
    config: { auth: 'properties:read' },
    schema: {
      ...common,
      summary: 'List profile properties',
      description: 'System properties are listed too. page=N,M; sort; q with q_fields; fields; equality filters.',
      querystring: ListQuery,
      response: { 200: ListResponse, ...errorResponses },
    },
    handler: async (request, reply) => {
      const list = toListRequest(request.query as Record<string, string | undefined>);
      if ('problems' in list) return sendOcambaError(reply, 400, messageOf('The query is not valid.', list.problems, 'query'));
      const result = await properties.search(request.workspace.id, list.search);
      const { total, items } = result;
      if (list.fields !== undefined) return { total, items: items.map((p) => pickFields(toItem(p, request.workspace.id), list.fields)) };
      let body = serialised.get(result);
      if (body === undefined) {
        body = String(reply.serialize({ total, items: items.map((p) => toItem(p, request.workspace.id)) }));
        serialised.set(result, body);
      }
      return reply.type('application/json; charset=utf-8').send(body as never) /* a pre-serialised JSON string, sent as it is */;
    },
  });

  r.post(PATH, {
    config: { auth: 'properties:write' },
    schema: { ...common, summary: 'Create a profile property', body: CreateBody, response: { 201: Item, ...errorResponses } },
    handler: async (request, reply) => {
      const property = await properties.create(request.workspace.id, toCreate(request.body), { actor: actorOf(request.principal) });
      void reply.code(201).header('location', `/ocamba${PATH}/${property.id}`);
      return toItem(property, request.workspace.id);
    },
  });

  r.get(`${PATH}/:id`, {
    config: { auth: 'properties:read' },
    schema: { ...common, summary: 'Get a profile property', params: IdParams, response: { 200: OneResponse, ...errorResponses } },
    handler: async (request) => ({ total: 1 as const, items: [toItem(await visible(request.workspace.id, request.params.id), request.workspace.id)] }),
  });

  r.patch(`${PATH}/:id`, {
    config: { auth: 'properties:write' },
    schema: {
      ...common,
      summary: 'Update a profile property',
      description: 'Only the fields sent change; at least one is required. System properties are not updatable.',
      params: IdParams,
      body: PatchBody,
      response: { 204: Type.Null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      if (request.body === undefined || request.body === null || Object.keys(request.body).length === 0) {
        return sendOcambaError(reply, 400, 'The request body is not valid: send at least one of example, description, export_alias, pi_data, importable, exportable.');
      }
      const property = await visible(request.workspace.id, request.params.id);
      await properties.update(request.workspace.id, String(property.id), toPatch(request.body), { actor: actorOf(request.principal) });
      return reply.code(204).send(null);
    },
  });

  r.delete(`${PATH}/:id`, {
    config: { auth: 'properties:write' },
    schema: {
      ...common,
      summary: 'Delete a profile property',
      description: 'Removed for good: its name is freed and its values are purged in the background.',
      params: IdParams,
      response: { 204: Type.Null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      const property = await visible(request.workspace.id, request.params.id);
      await properties.purge(request.workspace.id, String(property.id), { actor: actorOf(request.principal) });
      return reply.code(204).send(null);
    },
  });
}
