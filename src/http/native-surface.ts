// The native surface (/v1): bearer tokens (the operator's too), the workspace named in the path,
// optional per-key rate limits with the IETF headers, and the native error envelope.
import type { FastifyReply } from 'fastify';
import { apiKeyRoutes } from '../modules/api-keys/api-keys.routes.ts';
import { importRoutes } from '../modules/imports/imports.routes.ts';
import { jobRoutes } from '../modules/jobs/jobs.routes.ts';
import { profileRoutes } from '../modules/profiles/profiles.routes.ts';
import { propertyRoutes } from '../modules/properties/properties.routes.ts';
import type { Window } from '../modules/rate-limits/rate-limiter.ts';
import { sourceRoutes } from '../modules/sources/sources.routes.ts';
import { writeKeyRoutes } from '../modules/sources/write-keys.routes.ts';
import { violationRoutes } from '../modules/violations/violations.routes.ts';
import { tenantRoutes } from '../modules/tenants/tenants.routes.ts';
import { meRoutes } from '../modules/workspaces/me.routes.ts';
import { workspaceRoutes } from '../modules/workspaces/workspaces.routes.ts';
import { ErrorEnvelope } from '../shared/api-schemas.ts';
import { codeToStatus, ERROR_CODES, type ErrorCode, type ErrorDetail } from '../shared/errors.ts';
import { classifyError } from './errors.ts';
import { seconds } from './rate-limit.ts';
import { bearerToken, type Surface } from './surface.ts';

export function sendError(reply: FastifyReply, code: ErrorCode, message: string, details: readonly ErrorDetail[] = []) {
  // Only what the envelope declares goes out (a detail's reason is for presenters).
  const shown = details.map(({ field, problem, allowed }) => (allowed === undefined ? { field, problem } : { field, problem, allowed }));
  return reply.code(codeToStatus(code)).send({ error: { code, message, request_id: String(reply.request.id), details: shown } });
}

const policyHeader = (windows: readonly { name: string; limit: number; windowMs: number }[]) =>
  windows.map((w) => `"${w.name}";q=${w.limit};w=${w.windowMs / 1000}`).join(', ');

export const nativeSurface: Surface = {
  name: 'native',
  prefix: '/v1',
  home: '/v1',
  credential: bearerToken,
  servesOperator: true,

  workspace(request, { services }) {
    const { ws } = request.params as { ws?: number };
    return ws === undefined ? undefined : services.workspaces.resolve(request.principal, ws);
  },

  /** Per key and optional: `rate_limit: {per_second?, per_minute?}`. */
  rateLimit: () => ({
    per: 'caller',
    subject: (request) => (request.principal?.kind === 'key' && request.principal.rateLimit ? `native:${request.principal.keyId}` : undefined),
    windows: (request) => {
      const limit = request.principal.kind === 'key' ? request.principal.rateLimit : null;
      const windows: Window[] = [];
      if (limit?.per_second) windows.push({ name: 'per_second', limit: limit.per_second, ms: 1000 });
      if (limit?.per_minute) windows.push({ name: 'per_minute', limit: limit.per_minute, ms: 60_000 });
      return windows;
    },
    // IETF httpapi-ratelimit-headers: the policy names every window, RateLimit the tightest one.
    headers: (reply, d) => {
      void reply.header('ratelimit-policy', policyHeader(d.windows));
      void reply.header('ratelimit', `"${d.tightest.name}";r=${d.tightest.remaining};t=${seconds(d.tightest.resetMs)}`);
    },
    refuse: (reply, d) => {
      void reply.header('retry-after', String(seconds(d.retryAfterMs)));
      void reply.header('ratelimit-policy', policyHeader(d.windows));
      void reply.header('ratelimit', `"${d.tightest.name}";r=0;t=${seconds(d.retryAfterMs)}`);
      return sendError(reply, 'RATE_LIMITED', `This key's rate limit is reached; retry in ${seconds(d.retryAfterMs)} s.`);
    },
  }),

  openapi: {
    server: { url: '/', description: 'This server' },
    url: '/openapi.json',
    decorator: 'swagger',
    title: 'propdict',
    description:
      'Profile property dictionary: define the custom properties your profiles carry, then write and search the profiles. ' +
      'Send `Authorization: Bearer <token>` with a tenant API key (or the operator token where a route says so); each route names the scope it needs. ' +
      'Every answer carries `X-Request-Id`; every error is the same envelope, with a code, a message for people and the fields at fault.',
    tags: {
      tenants: 'Tenants: the operator creates them; each has its own workspaces and API keys.',
      workspaces: 'Workspaces of a tenant, each with its own dictionary and profiles.',
      'api-keys': 'API keys of a tenant: scopes, the workspaces they reach, an optional rate limit.',
      properties: 'Property definitions: the dictionary of a workspace, with history and If-Match.',
      jobs: 'Background jobs, such as purging a property\'s values.',
      sources: 'Data sources: how raw records map onto properties, their priorities and write keys.',
      profiles: 'Profiles: values typed by the dictionary, identities, search, export.',
      imports: 'Imports of profiles from CSV or NDJSON files, written by background jobs.',
      violations: 'Traits that ingestion refused, grouped, so that a mapping can be fixed.',
    },
    security: { name: 'bearer', scheme: { type: 'http', scheme: 'bearer', description: 'A tenant API key, or the operator token (`PROPDICT_ADMIN_TOKEN`)' } },
    error: {
      name: 'ErrorEnvelope',
      schema: ErrorEnvelope,
      about: (status) => {
        const codes = ERROR_CODES.filter((c) => codeToStatus(c) === status);
        return codes.length === 0 ? undefined : `Code${codes.length > 1 ? 's' : ''}: ${codes.map((c) => `\`${c}\``).join(', ')}.`;
      },
    },
    rateLimit: { headers: ['RateLimit-Policy', 'RateLimit'], refusal: ['RateLimit-Policy', 'RateLimit'] },
  },

  answers: {
    error(reply, error) {
      const known = classifyError(error, reply.request);
      return known && sendError(reply, known.code, known.message, known.details);
    },
    internal: (reply) => sendError(reply, 'INTERNAL', 'Something went wrong on our side; the request id identifies it in our logs.'),
    notFound: (reply, request, path) => sendError(reply, 'NOT_FOUND', `No route ${request.method} ${path}.`),
    methodNotAllowed: (reply, request, allowed) => sendError(reply, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here; use ${allowed.join(', ')}.`),
  },

  async routes(v1, { services }) {
    // A query parameter a route does not know is refused, not ignored: `?dry_run=true` on a
    // route without a dry run must not apply the change.
    v1.addHook('onRoute', (route) => {
      const query = route.schema?.querystring as { additionalProperties?: unknown } | undefined;
      if (route.schema && query?.additionalProperties === undefined) {
        route.schema.querystring = { type: 'object', properties: {}, ...query, additionalProperties: false };
      }
    });
    await v1.register(tenantRoutes, services);
    await v1.register(workspaceRoutes, services);
    await v1.register(apiKeyRoutes, services);
    await v1.register(meRoutes, services);
    await v1.register(
      async (ws) => {
        await ws.register(propertyRoutes, services);
        await ws.register(jobRoutes, services);
        await ws.register(sourceRoutes, services);
        await ws.register(profileRoutes, services);
        await ws.register(writeKeyRoutes, services);
        await ws.register(violationRoutes, services);
        await ws.register(importRoutes, services);
      },
      { prefix: '/workspaces/:ws' },
    );
  },
};
