// LINE WORKS API 2.0 contact custom properties under /lineworks/v1.0/contacts/custom-properties:
// bearer tenant keys, `domainId` = workspace id, the vendor's `{code, description}` envelope and
// its per-domain, per-operation rate limit. Rules stay in the services.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { bearerToken } from '../../http/native-surface.ts';
import { rateLimitHook, seconds } from '../../http/rate-limit.ts';
import { actorOf, hasScope, type Principal } from '../../modules/auth/auth.ts';
import type { Property } from '../../modules/properties/property.ts';
import type { Workspace } from '../../modules/workspaces/workspace.ts';
import { AppError, validationFailed } from '../../shared/errors.ts';
import type { SurfaceDeps } from '../surface.ts';
import { answerRouteMisses } from '../../http/route-miss.ts';
import { INTERNAL, LineWorksError, RATE_LIMITED, sendLineWorksError, toLineWorksError } from './lineworks.errors.ts';
import { isListedHere, isPropertyRef, toContactCustomProperty, toPropertyCreate, toPropertyPatch } from './lineworks.mappers.ts';
import { ContactCustomProperty, CreateBody, CustomPropertyList, DomainQuery, ErrorBody, NoContent, PatchBody, RefParams } from './lineworks.schemas.ts';

/** The API operations LINE WORKS budgets apart. */
type Operation = 'list' | 'create' | 'get' | 'update' | 'delete';

const BASE = '/v1.0/contacts/custom-properties';
// The service hands back the same result while the dictionary is unchanged: serialise it once.
const serialised = new WeakMap<object, string>();
const NOT_UPDATABLE = ['propertyName', 'propertyType', 'multiValued'] as const;
// Served for LINE WORKS clients; /openapi.json documents the native API only.
const hidden = { hide: true };
const errorResponses = Object.fromEntries([400, 401, 403, 404, 405, 409, 413, 415, 429, 500].map((s) => [s, ErrorBody]));

export async function lineworksSurface(app: FastifyInstance, deps: SurfaceDeps) {
  const { apiKeys, workspaces, properties, limiter, config } = deps;
  if (!app.hasRequestDecorator('principal')) app.decorateRequest('principal', null as never);
  if (!app.hasRequestDecorator('workspace')) app.decorateRequest('workspace', null as never);
  // LINE WORKS takes JSON only; without the text/plain parser any other body is refused as such.
  app.removeContentTypeParser('text/plain');

  app.addHook('onRequest', async (request, reply) => {
    const need = request.routeOptions.config.auth;
    if (need === undefined) return; // unmatched route: the not-found handler answers
    let principal: Principal;
    try {
      principal = await apiKeys.authenticate(bearerToken(request));
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'UNAUTHENTICATED') throw error;
      const challenge = bearerToken(request) === undefined ? 'Bearer realm="lineworks"' : 'Bearer realm="lineworks", error="invalid_token"';
      return sendLineWorksError(reply, { code: 'UNAUTHORIZED', description: error.message }, { 'www-authenticate': challenge });
    }
    if (principal.kind === 'operator') {
      const description = 'The operator token serves the native API only; use a tenant API key.';
      return sendLineWorksError(reply, { code: 'UNAUTHORIZED', description }, { 'www-authenticate': 'Bearer realm="lineworks", error="invalid_token"' });
    }
    if (need !== 'any' && need !== 'operator' && !hasScope(principal, need)) {
      return sendLineWorksError(
        reply,
        { code: 'FORBIDDEN', description: `This API needs the ${need} scope.` },
        { 'www-authenticate': `Bearer realm="lineworks", error="insufficient_scope", scope="${need}"` },
      );
    }
    request.principal = principal;
  });

  app.setErrorHandler((error, request, reply) => {
    const known = toLineWorksError(error);
    if (known) return sendLineWorksError(reply, known);
    request.log.error({ err: error, request_id: request.id }, 'unhandled error');
    return sendLineWorksError(reply, INTERNAL);
  });

  answerRouteMisses(app, {
    notFound: (reply, request, path) => sendLineWorksError(reply, { code: 'NOT_FOUND', description: `No API ${request.method} ${path}.` }),
    methodNotAllowed: (reply, request, allowed) =>
      sendLineWorksError(reply, { code: 'METHOD_NOT_ALLOWED', description: `${request.method} is not allowed here; use ${allowed.join(', ')}.` }),
  });

  /**
   * The domain a request acts on: domainId from the body or the query; without one, the only
   * workspace the key reaches. Set before the rate limit, which counts per domain.
   */
  async function domainOf(principal: Principal, fromBody: number | undefined, fromQuery: number | undefined): Promise<Workspace> {
    if (fromBody !== undefined && fromQuery !== undefined && fromBody !== fromQuery) {
      throw new LineWorksError('INVALID_PARAMETER', `domainId ${fromBody} in the body and ${fromQuery} in the query differ.`);
    }
    const id = fromBody ?? fromQuery;
    if (id === undefined) {
      const only = await workspaces.onlyFor(principal);
      if (!only) throw new LineWorksError('MISSING_PARAMETER', 'domainId is required: this token reaches more than one domain.');
      return only;
    }
    try {
      return await workspaces.resolve(principal, id);
    } catch (error) {
      if (error instanceof AppError && error.code === 'NOT_FOUND') throw new LineWorksError('NOT_FOUND', `Domain ${id} not found.`);
      throw error;
    }
  }

  const resolveDomain: preHandlerAsyncHookHandler = async (request) => {
    // Both parts are already validated against the route's schemas: domainId is an integer or absent.
    const body = request.body as { domainId?: number } | null | undefined;
    const query = request.query as { domainId?: number } | undefined;
    request.workspace = await domainOf(request.principal, body?.domainId, query?.domainId);
  };

  /** 240 a minute per domain and operation by default; 0 turns it off. */
  const perMinute = config.lineworks.perMinute;
  function rateLimit(operation: Operation) {
    const setHeaders = (reply: FastifyReply, limit: number, remaining: number, resetMs: number) => {
      void reply.header('ratelimit-limit', String(limit));
      void reply.header('ratelimit-remaining', String(remaining));
      void reply.header('ratelimit-reset', String(seconds(resetMs)));
    };
    return rateLimitHook(limiter, {
      subject: (request: FastifyRequest) => `lineworks:${request.workspace.id}:${operation}`,
      windows: () => (perMinute > 0 ? [{ name: 'minute', limit: perMinute, ms: 60_000 }] : []),
      headers: (reply, d) => setHeaders(reply, d.tightest.limit, d.tightest.remaining, d.tightest.resetMs),
      refuse: (reply, d) => {
        setHeaders(reply, d.tightest.limit, 0, d.retryAfterMs);
        return sendLineWorksError(reply, RATE_LIMITED, { 'retry-after': String(seconds(d.retryAfterMs)) });
      },
    });
  }
  const before = (operation: Operation) => [resolveDomain, rateLimit(operation)];

  /** A property this surface shows (custom, not archived), by customPropertyId or propertyName. */
  async function findListed(workspaceId: number, ref: string): Promise<Property> {
    const notFound = () => new AppError('NOT_FOUND', `Custom property "${ref}" not found.`);
    if (!isPropertyRef(ref)) throw notFound();
    const property = await properties.get(workspaceId, ref).catch((error: unknown) => {
      if (error instanceof AppError && error.code === 'NOT_FOUND') return undefined;
      throw error;
    });
    if (!property || !isListedHere(property)) throw notFound();
    return property;
  }

  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get(BASE, {
    config: { auth: 'properties:read' },
    schema: { ...hidden, summary: 'List contact custom properties', querystring: DomainQuery, response: { 200: CustomPropertyList, ...errorResponses } },
    preHandler: before('list'),
    handler: async (request, reply) => {
      const ws = request.workspace;
      // Custom, live properties, sorted by display order (null last), then name.
      const result = await properties.search(ws.id, { equals: { system: false }, sort: [{ field: 'display_order', desc: false }], offset: 0, limit: undefined });
      let body = serialised.get(result);
      if (body === undefined) {
        body = String(reply.serialize({ customProperties: result.items.map((p) => toContactCustomProperty(p, ws.id)) }));
        serialised.set(result, body);
      }
      return reply.type('application/json; charset=utf-8').send(body as never) /* a pre-serialised JSON string, sent as it is */;
    },
  });

  r.post(BASE, {
    config: { auth: 'properties:write' },
    schema: { ...hidden, summary: 'Create a contact custom property', body: CreateBody, response: { 201: ContactCustomProperty, ...errorResponses } },
    preHandler: before('create'),
    handler: async (request, reply) => {
      const ws = request.workspace;
      const { input, problems } = toPropertyCreate(request.body);
      if (problems.length > 0) throw validationFailed(problems);
      const max = config.lineworks.maxCustomProperties;
      try {
        const property = await properties.create(ws.id, input, { actor: actorOf(request.principal), maxCustom: max });
        void reply.code(201);
        return toContactCustomProperty(property, ws.id);
      } catch (error) {
        if (!(error instanceof AppError) || error.code !== 'LIMIT_EXCEEDED') throw error;
        // The service decided; say it in LINE WORKS's words, with the cap that applied.
        const { used, limit } = await properties.limits(ws.id);
        throw new LineWorksError('LIMIT_EXCEEDED', `This domain has ${used} contact custom properties and may have at most ${Math.min(limit, max)}.`);
      }
    },
  });

  r.get(`${BASE}/:customPropertyId`, {
    config: { auth: 'properties:read' },
    schema: { ...hidden, summary: 'Get a contact custom property', params: RefParams, querystring: DomainQuery, response: { 200: ContactCustomProperty, ...errorResponses } },
    preHandler: before('get'),
    handler: async (request) => toContactCustomProperty(await findListed(request.workspace.id, request.params.customPropertyId), request.workspace.id),
  });

  r.patch(`${BASE}/:customPropertyId`, {
    config: { auth: 'properties:write' },
    schema: {
      ...hidden,
      summary: 'Update a contact custom property',
      description: 'propertyName, propertyType and multiValued cannot be updated (400 INVALID_PARAMETER).',
      params: RefParams,
      querystring: DomainQuery,
      body: PatchBody,
      response: { 200: ContactCustomProperty, ...errorResponses },
    },
    // LINE WORKS says these cannot be updated: say so by name rather than as unknown fields.
    preValidation: async (request) => {
      const body = request.body;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) return;
      const named = NOT_UPDATABLE.filter((f) => f in body);
      if (named.length > 0) throw new LineWorksError('INVALID_PARAMETER', `${named.join(', ')} cannot be updated.`);
    },
    preHandler: before('update'),
    handler: async (request) => {
      const ws = request.workspace;
      const current = await findListed(ws.id, request.params.customPropertyId);
      const { patch, problems } = toPropertyPatch(request.body, current.i18n_display_names);
      if (problems.length > 0) throw validationFailed(problems);
      const updated = await properties.update(ws.id, current.uid, patch, { actor: actorOf(request.principal) });
      return toContactCustomProperty(updated, ws.id);
    },
  });

  r.delete(`${BASE}/:customPropertyId`, {
    config: { auth: 'properties:write' },
    schema: { ...hidden, summary: 'Delete a contact custom property', params: RefParams, querystring: DomainQuery, response: { 204: NoContent, ...errorResponses } },
    preHandler: before('delete'),
    handler: async (request, reply) => {
      const ws = request.workspace;
      const current = await findListed(ws.id, request.params.customPropertyId);
      // Purged: the definition goes now, its values in the background, and the name is free again.
      await properties.purge(ws.id, current.uid, { actor: actorOf(request.principal) });
      return reply.code(204).send(null);
    },
  });
}
