// HCL CDP "User Property CRUD API" under /hcl: a client written against HCL's docs works by
// changing its base URL and authKey. Schemas, mappers and the envelope only; rules are the services'.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { rateLimitHook, seconds } from '../../http/rate-limit.ts';
import { actorOf, hasScope, type Principal } from '../../modules/auth/auth.ts';
import type { Workspace } from '../../modules/workspaces/workspace.ts';
import { AppError } from '../../shared/errors.ts';
import type { SurfaceDeps } from '../surface.ts';
import { answerRouteMisses } from '../../http/route-miss.ts';
import { envelope, fromServiceError, HclError, type OperationContext, presentError, say } from './hcl.errors.ts';
import { toCreateInput, toListItem, toPatch } from './hcl.mappers.ts';
import { CampaignParams, CreateBody, DataPointParams, hclErrors, ListResponse, Message, UpdateBody } from './hcl.schemas.ts';

const BASE = '/api/campaign-data-dictionary';
// The service hands back the same result while the dictionary is unchanged: serialise it once.
const serialised = new WeakMap<object, string>();

const send = (reply: FastifyReply, status: number, message: string) => reply.code(status).send(envelope(status, message));

/** Only the `authKey` header authenticates here; a bearer token is not looked at. */
function authKeyOf(request: FastifyRequest): string | undefined {
  const value = request.headers.authkey;
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export async function hclSurface(app: FastifyInstance, deps: SurfaceDeps) {
  const { apiKeys, workspaces, properties, limiter, config } = deps;
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  app.decorateRequest('principal', null as never);
  // JSON only: any other body is refused in this envelope (415).
  app.removeContentTypeParser('text/plain');
  // Clients often send Content-Type: application/json on every call, a bodiless DELETE included.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '' && request.method === 'DELETE') return done(null, undefined);
    parseJson(request, String(body), done); // parseAs: string, so it is one already
  });

  app.addHook('onRequest', async (request, reply) => {
    const need = request.routeOptions.config.auth;
    if (need === undefined) return; // unmatched route: the not-found handler answers
    let principal: Principal;
    try {
      principal = await apiKeys.authenticate(authKeyOf(request));
    } catch (error) {
      if (error instanceof AppError && error.code === 'UNAUTHENTICATED') return send(reply, 401, say.unauthorized);
      throw error;
    }
    // The operator token serves /v1 only: it is not an authKey.
    if (principal.kind !== 'key') return send(reply, 401, say.unauthorized);
    if (need === 'operator' || (need !== 'any' && !hasScope(principal, need))) return send(reply, 403, say.forbidden(need));
    request.principal = principal;
  });

  // No limit unless configured; then per tenant per minute, counting this surface's requests only.
  const perMinute = config.hcl.perMinute;
  app.addHook(
    'onRequest',
    rateLimitHook(limiter, {
      subject: (request) => (perMinute > 0 && request.principal?.kind === 'key' ? `hcl:tenant:${request.principal.tenantId}` : undefined),
      windows: () => [{ name: 'per_minute', limit: perMinute, ms: 60_000 }],
      headers: (reply, d) => {
        void reply.header('ratelimit-limit', String(d.tightest.limit));
        void reply.header('ratelimit-remaining', String(d.tightest.remaining));
        void reply.header('ratelimit-reset', String(seconds(d.tightest.resetMs)));
      },
      refuse: (reply, d) => {
        const wait = seconds(d.retryAfterMs);
        void reply.header('retry-after', String(wait));
        void reply.header('ratelimit-limit', String(d.tightest.limit));
        void reply.header('ratelimit-remaining', '0');
        void reply.header('ratelimit-reset', String(wait));
        return send(reply, 429, say.tooManyRequests(wait));
      },
    }),
  );

  app.setErrorHandler((error, request, reply) => {
    const known = presentError(error, { body: request.body, params: request.params });
    if (known) return send(reply, known.status, known.message);
    request.log.error({ err: error, request_id: request.id }, 'unhandled error');
    return send(reply, 500, say.internal);
  });

  answerRouteMisses(app, {
    notFound: (reply, request, path) => send(reply, 404, say.routeNotFound(request.method, path)),
    methodNotAllowed: (reply, request, allowed) => send(reply, 405, say.methodNotAllowed(request.method, allowed)),
  });

  /** The campaign is a workspace the key reaches; any other (another tenant's too) is not found. */
  async function campaign(principal: Principal, campaignId: number): Promise<Workspace> {
    try {
      return await workspaces.resolve(principal, campaignId);
    } catch (error) {
      if (error instanceof AppError && error.code === 'NOT_FOUND') throw new HclError(404, say.campaignNotFound(campaignId));
      throw error;
    }
  }

  // The vendor's routes are described by its own docs and docs/compat/hcl.md, not by the native OpenAPI.
  r.post(BASE, {
    config: { auth: 'properties:write' },
    schema: { hide: true, body: CreateBody, response: { 200: Message, ...hclErrors(413, 415) } },
    handler: async (request) => {
      const body = request.body;
      const ws = await campaign(request.principal, body.campaignId);
      const ctx = { code: body.dmpDataPointCode, tenantId: ws.tenant_id, dataType: body.dataType, mergeFunction: body.mergeFunction, preference: body.preference };
      try {
        await properties.create(ws.id, toCreateInput(body), { actor: actorOf(request.principal) });
      } catch (error) {
        throw fromServiceError('create', error, ctx);
      }
      return { message: say.created(body.dmpDataPointCode, ws.tenant_id) };
    },
  });

  r.put(BASE, {
    config: { auth: 'properties:write' },
    schema: { hide: true, body: UpdateBody, response: { 200: Message, ...hclErrors(409, 413, 415) } },
    handler: async (request) => {
      const body = request.body;
      const ws = await campaign(request.principal, body.campaignId);
      let ctx: OperationContext = { code: body.dmpDataPointCode, tenantId: ws.tenant_id };
      try {
        const current = await properties.get(ws.id, body.dmpDataPointCode);
        // Sentences about a refused rule quote the property as this request would leave it.
        const shown = toListItem(current, ws.id);
        ctx = {
          ...ctx,
          dataType: body.dataType ?? shown.dataType,
          mergeFunction: body.mergeFunction ?? shown.mergeFunction,
          preference: body.preference ?? shown.preference,
        };
        await properties.update(ws.id, String(current.id), toPatch(body, current), { actor: actorOf(request.principal) });
      } catch (error) {
        throw fromServiceError('update', error, ctx);
      }
      return { message: say.updated(body.dmpDataPointCode, ws.tenant_id) };
    },
  });

  r.get(`${BASE}/campaignId/:campaignId`, {
    config: { auth: 'properties:read' },
    schema: { hide: true, params: CampaignParams, response: { 200: ListResponse, ...hclErrors() } },
    handler: async (request, reply) => {
      const ws = await campaign(request.principal, request.params.campaignId);
      // Custom properties only, in the native order (display_order, then name).
      const result = await properties.search(ws.id, { equals: { system: false }, sort: [], offset: 0, limit: undefined });
      if (result.items.length === 0) throw new HclError(404, say.noneFound(ws.tenant_id));
      let body = serialised.get(result);
      if (body === undefined) {
        body = String(reply.serialize(result.items.map((p) => toListItem(p, ws.id))));
        serialised.set(result, body);
      }
      return reply.type('application/json; charset=utf-8').send(body as never) /* a pre-serialised JSON string, sent as it is */;
    },
  });

  r.delete(`${BASE}/campaignId/:campaignId/dataPoint/:dmpDataPointCode`, {
    config: { auth: 'properties:write' },
    schema: { hide: true, params: DataPointParams, response: { 200: Message, ...hclErrors(415) } },
    handler: async (request) => {
      const { campaignId, dmpDataPointCode: code } = request.params;
      const ws = await campaign(request.principal, campaignId);
      try {
        // Purged for good, name freed; the values go in the background.
        await properties.purge(ws.id, code, { actor: actorOf(request.principal) });
      } catch (error) {
        throw fromServiceError('delete', error, { code, tenantId: ws.tenant_id });
      }
      return { message: say.removed(code, ws.tenant_id) };
    },
  });
}
