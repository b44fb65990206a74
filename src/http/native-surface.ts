// The native surface (/v1): bearer authentication, scope checks and the native error envelope.
// Each vendor surface is its own plugin with its own envelope; they share only the services.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, codeToStatus, type ErrorCode, type ErrorDetail } from '../shared/errors.ts';
import { hasScope, type Principal, type Scope } from '../modules/auth/auth.ts';
import type { ApiKeyService } from '../modules/api-keys/api-keys.service.ts';
import { detailsFromAjv } from './validation.ts';

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

/** Maps anything thrown while serving a request to a code, message and details. */
export function classifyError(error: unknown): { code: ErrorCode; message: string; details: ErrorDetail[] } | undefined {
  if (error instanceof AppError) return { code: error.code, message: error.message, details: error.details };
  const e = error as FastifyError;
  if (e?.validation) {
    return { code: 'VALIDATION_FAILED', message: 'The request is not valid.', details: detailsFromAjv(e.validation as never, e.validationContext) };
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send the body as application/json.', details: [] };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is larger than this server accepts.', details: [] };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'VALIDATION_FAILED', message: 'The request body is empty but its content type is JSON.', details: [{ field: 'body', problem: 'is empty' }] };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'VALIDATION_FAILED', message: 'The request body is not valid JSON.', details: [{ field: 'body', problem: 'is not valid JSON' }] };
  }
  if (e instanceof SyntaxError && (e as FastifyError).statusCode === 400) {
    return { code: 'VALIDATION_FAILED', message: 'The request body is not valid JSON.', details: [{ field: 'body', problem: 'is not valid JSON' }] };
  }
  return undefined;
}

function sendError(reply: FastifyReply, code: ErrorCode, message: string, details: ErrorDetail[] = []) {
  return reply.code(codeToStatus(code)).send({ error: { code, message, request_id: String(reply.request.id), details } });
}

export function nativeSurface(app: FastifyInstance, { apiKeys }: { apiKeys: ApiKeyService }) {
  app.decorateRequest('principal', null as never);

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

  app.setErrorHandler((error, request, reply) => {
    const known = classifyError(error);
    if (known) return sendError(reply, known.code, known.message, known.details);
    request.log.error({ err: error, request_id: request.id }, 'unhandled error');
    return sendError(reply, 'INTERNAL', 'Something went wrong on our side; the request id identifies it in our logs.');
  });

  // Fastify answers a known path with the wrong method as not found; tell the two apart.
  const routes: { method: string; pattern: RegExp }[] = [];
  app.addHook('onRoute', (route) => {
    const pattern = new RegExp(`^${route.url.replace(/:[^/]+/g, '[^/]+')}/?$`);
    for (const method of [route.method].flat()) routes.push({ method, pattern });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = routes.filter((r) => r.pattern.test(path)).map((r) => r.method);
    if (allowed.length > 0) {
      void reply.header('allow', [...new Set(allowed)].join(', '));
      return sendError(reply, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here; use ${[...new Set(allowed)].join(', ')}.`);
    }
    return sendError(reply, 'NOT_FOUND', `No route ${request.method} ${path}.`);
  });
}
