// The Ocamba Hood surface (/ocamba/v1/hood/profile-properties): a client written for
// api.ocamba.com works by changing only its base URL and token. Tenant keys only; the workspace
// is the key's default one (Ocamba's "company"); errors in Ocamba's envelope; Ocamba's rate limits.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { seconds, windowHeaders } from '../../http/rate-limit.ts';
import { serialiseOnce } from '../../http/serialise-once.ts';
import { bearerToken, type Surface } from '../../http/surface.ts';
import { actorOf } from '../../modules/auth/auth.ts';
import type { Window } from '../../modules/rate-limits/rate-limiter.ts';
import { AppError } from '../../shared/errors.ts';
import { messageOf, presentOcambaError, sendOcambaError, sendOcambaInternal } from './ocamba.errors.ts';
import { nativeRef, pickFields, toCreate, toItem, toListRequest, toPatch } from './ocamba.mappers.ts';
import { CreateBody, ErrorBody, errorResponses, IdParams, Item, ListQuery, ListResponse, OneResponse, PatchBody } from './ocamba.schemas.ts';

const PATH = '/v1/hood/profile-properties';
const common = { tags: ['profile-properties'] };

export const ocambaSurface: Surface = {
  name: 'Ocamba Hood profile properties',
  prefix: '/ocamba',
  home: `/ocamba${PATH}`,
  credential: bearerToken,
  servesOperator: false,

  /** Ocamba names no workspace: the key's default one, its "company". */
  async workspace(request, { services }) {
    const workspace = await services.workspaces.defaultFor(request.principal);
    if (!workspace) {
      throw new AppError('FORBIDDEN', 'This API key reaches no workspace (company): restrict it to one, or create one for its tenant.', [], 'NO_WORKSPACE');
    }
    return workspace;
  },

  /** Per tenant, in fixed windows of a second and a minute (0 turns a window off). */
  rateLimit({ config }) {
    const windows: Window[] = [];
    if (config.ocamba.perSecond > 0) windows.push({ name: 'second', limit: config.ocamba.perSecond, ms: 1000 });
    if (config.ocamba.perMinute > 0) windows.push({ name: 'minute', limit: config.ocamba.perMinute, ms: 60_000 });
    return {
      per: 'caller',
      subject: (request) => (request.principal?.kind === 'key' ? `ocamba:${request.principal.tenantId}` : undefined),
      windows: () => windows,
      // Ocamba's headers describe one window: whichever has the least left.
      headers: (reply, d) => windowHeaders(reply, 'x-ratelimit', d.tightest.limit, d.tightest.remaining, d.tightest.resetMs),
      // On 429 Ocamba sends Retry-After and none of the X-RateLimit headers.
      refuse: (reply, d) => {
        const wait = seconds(d.retryAfterMs);
        void reply.header('retry-after', String(wait));
        const spent = d.windows.filter((w) => w.remaining === 0).map((w) => `${w.limit} per ${w.name}`);
        return sendOcambaError(reply, 429, `This account's rate limit of ${spent.join(' and ')} is reached; retry in ${wait} s.`);
      },
    };
  },

  openapi: {
    server: { url: '/ocamba', description: 'This server, in place of https://api.ocamba.com' },
    url: '/ocamba/openapi.json',
    title: 'propdict: Ocamba Hood profile properties',
    description:
      'The Ocamba Hood profile properties API served by propdict: a client written for api.ocamba.com works with this base URL and a propdict API key as its token. ' +
      'The workspace is the key\'s default one (Ocamba\'s company). Errors are Ocamba\'s `{code, title, message, trace_id}`.',
    tags: { 'profile-properties': 'Profile properties of the company (workspace) the key reaches.' },
    security: { name: 'bearer', scheme: { type: 'http', scheme: 'bearer', description: 'A propdict tenant API key' } },
    error: { name: 'OcambaError', schema: ErrorBody },
    rateLimit: { headers: ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'], refusal: [] },
  },

  answers: {
    error: presentOcambaError,
    internal: sendOcambaInternal,
    notFound: (reply, request, path) => sendOcambaError(reply, 404, `No route ${request.method} ${path}.`),
    methodNotAllowed: (reply, request, allowed) => sendOcambaError(reply, 405, `${request.method} is not allowed here; use ${allowed.join(', ')}.`),
  },

  routes: async (app, { services: { properties } }) => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();

    /** The property a path id names; archived ones are hidden on this surface, as in its lists. */
    async function visible(workspaceId: number, id: string) {
      const ref = nativeRef(id);
      const property = ref === undefined ? undefined : await properties.get(workspaceId, ref);
      if (!property || property.archived) throw new AppError('NOT_FOUND', `Profile property "${id}" not found.`);
      return property;
    }

    const sendList = serialiseOnce();
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
        return sendList(reply, result, () => ({ total, items: items.map((p) => toItem(p, request.workspace.id)) }));
      },
    });

    r.post(PATH, {
      config: { auth: 'properties:write', answerHeaders: { 201: ['Location'] } },
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
        if (Object.keys(request.body).length === 0) {
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
  },
};
