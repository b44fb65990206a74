// The native surface (/v1): bearer authentication, scope checks and the native error envelope.
// Each vendor surface is its own plugin with its own envelope; they share only the services.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, codeToStatus, type ErrorCode, type ErrorDetail } from '../shared/errors.ts';
import { hasScope, type Principal, type Scope } from '../modules/auth/auth.ts';
import type { ApiKeyService } from '../modules/api-keys/api-keys.service.ts';
import type { RateLimiter, Window } from '../modules/rate-limits/rate-limiter.ts';
import { rateLimitHook, seconds } from './rate-limit.ts';
import { answerRouteMisses } from './route-miss.ts';
import { classifyError } from './errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What a route needs: a scope, or `operator` for the server-wide token only. */
    auth?: Scope | 'operator' | 'any';
  }
  interface FastifyRequest {
    principal: Principal;
  }
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

export function sendError(reply: FastifyReply, code: ErrorCode, message: string, details: ErrorDetail[] = []) {
  return reply.code(codeToStatus(code)).send({ error: { code, message, request_id: String(reply.request.id), details } });
}

/** Native limits are per key and optional: `rate_limit: {per_second?, per_minute?}`. */
function nativeRateLimits(limiter: RateLimiter) {
  return rateLimitHook(limiter, {
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
      void reply.header('ratelimit-policy', d.windows.map((w) => `"${w.name}";q=${w.limit};w=${w.windowMs / 1000}`).join(', '));
      void reply.header('ratelimit', `"${d.tightest.name}";r=${d.tightest.remaining};t=${seconds(d.tightest.resetMs)}`);
    },
    refuse: (reply, d) => {
      void reply.header('retry-after', String(seconds(d.retryAfterMs)));
      void reply.header('ratelimit-policy', d.windows.map((w) => `"${w.name}";q=${w.limit};w=${w.windowMs / 1000}`).join(', '));
      void reply.header('ratelimit', `"${d.tightest.name}";r=0;t=${seconds(d.retryAfterMs)}`);
      return sendError(reply, 'RATE_LIMITED', `This key's rate limit is reached; retry in ${seconds(d.retryAfterMs)} s.`);
    },
  });
}

export function nativeSurface(app: FastifyInstance, { apiKeys, limiter }: { apiKeys: ApiKeyService; limiter: RateLimiter }) {
  app.decorateRequest('principal', null as never);
  // Fastify parses text/plain by default; the native API takes JSON only, so any other body is 415.
  app.removeContentTypeParser('text/plain');

  app.addHook('onRequest', async (request, reply) => {
    const need = request.routeOptions.config.auth;
    if (need === undefined) return; // unmatched route: the not-found handler answers
    try {
      request.principal = await apiKeys.authenticate(bearerToken(request));
    } catch (error) {
      if (error instanceof AppError) return sendError(reply, error.code, error.message);
      throw error;
    }
    if (need === 'operator' ? request.principal.kind !== 'operator' : need !== 'any' && !hasScope(request.principal, need)) {
      return sendError(reply, 'FORBIDDEN', need === 'operator' ? 'Only the operator token may do this.' : `This needs the ${need} scope.`);
    }
  });
  app.addHook('onRequest', nativeRateLimits(limiter));

  app.setErrorHandler((error, request, reply) => {
    const known = classifyError(error);
    if (known) return sendError(reply, known.code, known.message, known.details);
    request.log.error({ err: error, request_id: request.id }, 'unhandled error');
    return sendError(reply, 'INTERNAL', 'Something went wrong on our side; the request id identifies it in our logs.');
  });

  answerRouteMisses(app, {
    notFound: (reply, request, path) => sendError(reply, 'NOT_FOUND', `No route ${request.method} ${path}.`),
    methodNotAllowed: (reply, request, allowed) => sendError(reply, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here; use ${allowed.join(', ')}.`),
  });
}
