// HCL CDP "User Property CRUD API" under /hcl: a client written against HCL's docs works by
// changing its base URL and authKey. Schemas, mappers and the envelope only; rules are the services'.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { seconds, windowHeaders } from '../../http/rate-limit.ts';
import { serialiseOnce } from '../../http/serialise-once.ts';
import type { Surface, SurfaceDeps } from '../../http/surface.ts';
import { actorOf } from '../../modules/auth/auth.ts';
import { AppError } from '../../shared/errors.ts';
import { fromServiceError, HclError, type OperationContext, presentHclError, say, sendHcl } from './hcl.errors.ts';
import { toCreateInput, toListItem, toPatch } from './hcl.mappers.ts';
import { CampaignParams, CreateBody, DataPointParams, HclErrorBody, hclErrors, ListResponse, Message, UpdateBody } from './hcl.schemas.ts';

const BASE = '/api/campaign-data-dictionary';

/** Only the `authKey` header authenticates here; a bearer token is not looked at. */
function authKeyOf(request: FastifyRequest): string | undefined {
  const value = request.headers.authkey;
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export const hclSurface: Surface = {
  name: 'HCL CDP user properties',
  prefix: '/hcl',
  home: `/hcl${BASE}`,
  credential: authKeyOf,
  servesOperator: false,

  /** The campaign (in the body or the path) is a workspace the key reaches; any other is not found. */
  async workspace(request, { services }) {
    const campaignId = (request.body as { campaignId?: number } | undefined)?.campaignId ?? (request.params as { campaignId?: number }).campaignId;
    if (campaignId === undefined) return undefined;
    try {
      return await services.workspaces.resolve(request.principal, campaignId);
    } catch (error) {
      if (error instanceof AppError && error.code === 'NOT_FOUND') throw new HclError(404, say.campaignNotFound(campaignId));
      throw error;
    }
  },

  /** No limit unless configured; then per tenant per minute, counting this surface's requests only. */
  rateLimit({ config }) {
    const perMinute = config.hcl.perMinute;
    if (perMinute === 0) return undefined;
    return {
      per: 'caller',
      subject: (request) => (request.principal?.kind === 'key' ? `hcl:tenant:${request.principal.tenantId}` : undefined),
      windows: () => [{ name: 'per_minute', limit: perMinute, ms: 60_000 }],
      headers: (reply, d) => windowHeaders(reply, 'ratelimit', d.tightest.limit, d.tightest.remaining, d.tightest.resetMs),
      refuse: (reply, d) => {
        void reply.header('retry-after', String(seconds(d.retryAfterMs)));
        windowHeaders(reply, 'ratelimit', d.tightest.limit, 0, d.retryAfterMs);
        return sendHcl(reply, 429, say.tooManyRequests(seconds(d.retryAfterMs)));
      },
    };
  },

  openapi: {
    server: { url: '/hcl', description: "This server, in place of HCL CDP's base URL" },
    url: '/hcl/openapi.json',
    title: 'propdict: HCL CDP user properties',
    description:
      "HCL CDP's user property CRUD API served by propdict: a client written against HCL's documentation works with this base URL and a propdict API key as its `authKey`. " +
      'A campaign is a propdict workspace. Errors are `{error, message}`.',
    tags: { 'user-properties': 'User properties (data points) of a campaign (workspace).' },
    security: { name: 'authKey', scheme: { type: 'apiKey', in: 'header', name: 'authKey', description: 'A propdict tenant API key' } },
    error: { name: 'HclError', schema: HclErrorBody },
    rateLimit: { headers: ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'], refusal: ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'] },
  },

  answers: {
    error: presentHclError,
    internal: (reply) => sendHcl(reply, 500, say.internal),
    notFound: (reply, request, path) => sendHcl(reply, 404, say.routeNotFound(request.method, path)),
    methodNotAllowed: (reply, request, allowed) => sendHcl(reply, 405, say.methodNotAllowed(request.method, allowed)),
  },

  routes: hclRoutes,
};

async function hclRoutes(app: FastifyInstance, { services: { properties } }: SurfaceDeps) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  // HCL's paths name no resource a rule could read: the operation ids are given.
  const tags = ['user-properties'];
  r.post(BASE, {
    config: { auth: 'properties:write' },
    schema: { tags, operationId: 'createUserProperty', summary: 'Create a user property', body: CreateBody, response: { 200: Message, ...hclErrors(413, 415) } },
    handler: async (request) => {
      const body = request.body;
      const ws = request.workspace;
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
    schema: { tags, operationId: 'updateUserProperty', summary: 'Update a user property', description: 'Fields left out keep their value.', body: UpdateBody, response: { 200: Message, ...hclErrors(409, 413, 415) } },
    handler: async (request) => {
      const body = request.body;
      const ws = request.workspace;
      let ctx: OperationContext = { code: body.dmpDataPointCode, tenantId: ws.tenant_id, campaignId: ws.id };
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

  const sendList = serialiseOnce();
  r.get(`${BASE}/campaignId/:campaignId`, {
    config: { auth: 'properties:read' },
    schema: { tags, operationId: 'listUserProperties', summary: "List a campaign's user properties", description: 'Custom properties only; 404 when there are none.', params: CampaignParams, response: { 200: ListResponse, ...hclErrors() } },
    handler: async (request, reply) => {
      const ws = request.workspace;
      // Custom properties only, in the native order (display_order, then name).
      const result = await properties.search(ws.id, { equals: { system: false }, sort: [], offset: 0, limit: undefined });
      if (result.items.length === 0) throw new HclError(404, say.noneFound(ws.tenant_id));
      return sendList(reply, result, () => result.items.map((p) => toListItem(p, ws.id)));
    },
  });

  r.delete(`${BASE}/campaignId/:campaignId/dataPoint/:dmpDataPointCode`, {
    config: { auth: 'properties:write' },
    schema: { tags, operationId: 'deleteUserProperty', summary: 'Delete a user property', description: 'Removed for good: its name is freed and its values are purged in the background.', params: DataPointParams, response: { 200: Message, ...hclErrors(415) } },
    handler: async (request) => {
      const { dmpDataPointCode: code } = request.params;
      const ws = request.workspace;
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
