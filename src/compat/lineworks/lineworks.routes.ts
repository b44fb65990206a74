// LINE WORKS API 2.0 contact custom properties under /lineworks/v1.0/contacts/custom-properties:
// bearer tenant keys, `domainId` = workspace id, the vendor's `{code, description}` envelope and
// its per-domain, per-operation rate limit. Rules stay in the services.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { seconds, windowHeaders } from '../../http/rate-limit.ts';
import { serialiseOnce } from '../../http/serialise-once.ts';
import { bearerToken, type Surface, type SurfaceDeps } from '../../http/surface.ts';
import { actorOf } from '../../modules/auth/auth.ts';
import type { Property } from '../../modules/properties/property.ts';
import { AppError, validationFailed } from '../../shared/errors.ts';
import { INTERNAL, LineWorksError, presentLineWorksError, RATE_LIMITED, sendLineWorksError } from './lineworks.errors.ts';
import { isListedHere, isPropertyRef, toContactCustomProperty, toPropertyCreate, toPropertyPatch } from './lineworks.mappers.ts';
import { ContactCustomProperty, CreateBody, CustomPropertyList, DomainQuery, ErrorBody, NoContent, PatchBody, RefParams } from './lineworks.schemas.ts';

const BASE = '/v1.0/contacts/custom-properties';
const NOT_UPDATABLE = ['propertyName', 'propertyType', 'multiValued'] as const;
const tagged = { tags: ['custom-properties'] };
const errorResponses = Object.fromEntries([400, 401, 403, 404, 405, 409, 413, 415, 429, 500].map((s) => [s, ErrorBody]));

export const lineworksSurface: Surface = {
  name: 'LINE WORKS contact custom properties',
  prefix: '/lineworks',
  home: `/lineworks${BASE}`,
  credential: bearerToken,
  servesOperator: false,

  /** domainId from the body or the query; without one, the only workspace the key reaches. */
  async workspace(request, { services: { workspaces } }) {
    // Both parts are already validated against the route's schemas: domainId is an integer or absent.
    const fromBody = (request.body as { domainId?: number } | null | undefined)?.domainId;
    const fromQuery = (request.query as { domainId?: number } | undefined)?.domainId;
    if (fromBody !== undefined && fromQuery !== undefined && fromBody !== fromQuery) {
      throw new LineWorksError('INVALID_PARAMETER', `domainId ${fromBody} in the body and ${fromQuery} in the query differ.`);
    }
    const id = fromBody ?? fromQuery;
    if (id === undefined) {
      const only = await workspaces.onlyFor(request.principal);
      if (!only) throw new LineWorksError('MISSING_PARAMETER', 'domainId is required: this token reaches more than one domain.');
      return only;
    }
    try {
      return await workspaces.resolve(request.principal, id);
    } catch (error) {
      if (error instanceof AppError && error.code === 'NOT_FOUND') throw new LineWorksError('NOT_FOUND', `Domain ${id} not found.`);
      throw error;
    }
  },

  /** 240 a minute per domain and per API operation by default; 0 turns it off. */
  rateLimit({ config }) {
    const perMinute = config.lineworks.perMinute;
    if (perMinute === 0) return undefined;
    return {
      per: 'workspace',
      // An operation is a route: its method and path.
      subject: (request) => `lineworks:${request.workspace.id}:${request.method} ${request.routeOptions.url}`,
      windows: () => [{ name: 'minute', limit: perMinute, ms: 60_000 }],
      headers: (reply, d) => windowHeaders(reply, 'ratelimit', d.tightest.limit, d.tightest.remaining, d.tightest.resetMs),
      refuse: (reply, d) => {
        windowHeaders(reply, 'ratelimit', d.tightest.limit, 0, d.retryAfterMs);
        return sendLineWorksError(reply, RATE_LIMITED, { 'retry-after': String(seconds(d.retryAfterMs)) });
      },
    };
  },

  openapi: {
    server: { url: '/lineworks', description: 'This server, in place of https://www.worksapis.com' },
    url: '/lineworks/openapi.json',
    title: 'propdict: LINE WORKS contact custom properties',
    description:
      'The LINE WORKS API 2.0 contact custom properties served by propdict: a client written for www.worksapis.com works with this base URL and a propdict API key as its token. ' +
      '`domainId` is the propdict workspace id. Errors are LINE WORKS\'s `{code, description}`.',
    tags: { 'custom-properties': 'Contact custom properties of a domain (workspace).' },
    security: { name: 'bearer', scheme: { type: 'http', scheme: 'bearer', description: 'A propdict tenant API key' } },
    error: { name: 'LineWorksError', schema: ErrorBody },
    rateLimit: { headers: ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'], refusal: ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'] },
  },

  answers: {
    error: presentLineWorksError,
    internal: (reply) => sendLineWorksError(reply, INTERNAL),
    notFound: (reply, request, path) => sendLineWorksError(reply, { code: 'NOT_FOUND', description: `No API ${request.method} ${path}.` }),
    methodNotAllowed: (reply, request, allowed) =>
      sendLineWorksError(reply, { code: 'METHOD_NOT_ALLOWED', description: `${request.method} is not allowed here; use ${allowed.join(', ')}.` }),
  },

  routes: lineworksRoutes,
};

async function lineworksRoutes(app: FastifyInstance, { services: { properties }, config }: SurfaceDeps) {
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

  const sendList = serialiseOnce();
  r.get(BASE, {
    config: { auth: 'properties:read' },
    schema: { ...tagged, summary: 'List contact custom properties', querystring: DomainQuery, response: { 200: CustomPropertyList, ...errorResponses } },
    handler: async (request, reply) => {
      const ws = request.workspace;
      // Custom, live properties, sorted by display order (null last), then name.
      const result = await properties.search(ws.id, { equals: { system: false }, sort: [{ field: 'display_order', desc: false }], offset: 0, limit: undefined });
      return sendList(reply, result, () => ({ customProperties: result.items.map((p) => toContactCustomProperty(p, ws.id)) }));
    },
  });

  r.post(BASE, {
    config: { auth: 'properties:write' },
    schema: { ...tagged, summary: 'Create a contact custom property', body: CreateBody, response: { 201: ContactCustomProperty, ...errorResponses } },
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
    schema: { ...tagged, summary: 'Get a contact custom property', params: RefParams, querystring: DomainQuery, response: { 200: ContactCustomProperty, ...errorResponses } },
    handler: async (request) => toContactCustomProperty(await findListed(request.workspace.id, request.params.customPropertyId), request.workspace.id),
  });

  r.patch(`${BASE}/:customPropertyId`, {
    config: { auth: 'properties:write' },
    schema: {
      ...tagged,
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
    schema: { ...tagged, summary: 'Delete a contact custom property', params: RefParams, querystring: DomainQuery, response: { 204: NoContent, ...errorResponses } },
    handler: async (request, reply) => {
      const ws = request.workspace;
      const current = await findListed(ws.id, request.params.customPropertyId);
      // Purged: the definition goes now, its values in the background, and the name is free again.
      await properties.purge(ws.id, current.uid, { actor: actorOf(request.principal) });
      return reply.code(204).send(null);
    },
  });
}
