// The LINE WORKS error envelope `{code, description}`: the vendor's codes, their statuses, and
// how anything thrown while serving a request (service errors, validation, Fastify's own) is
// presented in it.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { classifyError } from '../../http/errors.ts';
import { AppError, type ErrorCode, type ErrorDetail } from '../../shared/errors.ts';
import { vendorField } from './lineworks.mappers.ts';

/**
 * LINE WORKS's own codes first; METHOD_NOT_ALLOWED, PAYLOAD_TOO_LARGE and
 * UNSUPPORTED_MEDIA_TYPE name what LINE WORKS documents no code for.
 */
export const LINEWORKS_CODES = [
  'INVALID_PARAMETER',
  'MISSING_PARAMETER',
  'LIMIT_EXCEEDED',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'ALREADY_EXIST',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'TOO_MANY_REQUESTS',
  'INTERNAL_SERVER_ERROR',
  'SERVICE_UNAVAILABLE',
] as const;
export type LineWorksCode = (typeof LINEWORKS_CODES)[number];

export function statusOf(code: LineWorksCode): number {
  switch (code) {
    case 'INVALID_PARAMETER':
    case 'MISSING_PARAMETER':
    case 'LIMIT_EXCEEDED':
      return 400;
    case 'UNAUTHORIZED':
      return 401;
    case 'FORBIDDEN':
      return 403;
    case 'NOT_FOUND':
      return 404;
    case 'METHOD_NOT_ALLOWED':
      return 405;
    case 'ALREADY_EXIST':
    case 'CONFLICT':
      return 409;
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    case 'UNSUPPORTED_MEDIA_TYPE':
      return 415;
    case 'TOO_MANY_REQUESTS':
      return 429;
    case 'INTERNAL_SERVER_ERROR':
      return 500;
    case 'SERVICE_UNAVAILABLE':
      return 503;
  }
}

export interface LineWorksErrorBody {
  code: LineWorksCode;
  description: string;
}

/** An error only this surface raises (a missing domainId, a field LINE WORKS cannot update). */
export class LineWorksError extends Error {
  readonly code: LineWorksCode;
  constructor(code: LineWorksCode, description: string) {
    super(description);
    this.name = 'LineWorksError';
    this.code = code;
  }
}

export const RATE_LIMITED: LineWorksErrorBody = { code: 'TOO_MANY_REQUESTS', description: 'API rate limit exceeded' };
export const INTERNAL: LineWorksErrorBody = { code: 'INTERNAL_SERVER_ERROR', description: 'Internal server error.' };

/** Every problem in one sentence, in LINE WORKS's field names. */
export function describeProblems(details: readonly ErrorDetail[], fallback: string): string {
  if (details.length === 0) return fallback;
  const parts = details.map((d) => `${vendorField(d.field)} ${d.problem}${d.allowed ? ` (${d.allowed.join(', ')})` : ''}`);
  const said = parts.join('; ');
  // A suggestion ends in a question mark already.
  return said.endsWith('?') ? said : `${said}.`;
}

function describeClash(details: readonly ErrorDetail[]): string {
  const fields = [...new Set(details.map((d) => vendorField(d.field)))];
  return `The ${fields.join(' and ')} ${fields.length > 1 ? 'are' : 'is'} already used by another property of this domain.`;
}

function fromNative(code: ErrorCode, message: string, details: readonly ErrorDetail[]): LineWorksErrorBody {
  switch (code) {
    case 'VALIDATION_FAILED':
      return { code: 'INVALID_PARAMETER', description: describeProblems(details, message) };
    case 'UNAUTHENTICATED':
      return { code: 'UNAUTHORIZED', description: message };
    case 'FORBIDDEN':
      return { code: 'FORBIDDEN', description: message };
    case 'NOT_FOUND':
      return { code: 'NOT_FOUND', description: message };
    case 'METHOD_NOT_ALLOWED':
      return { code: 'METHOD_NOT_ALLOWED', description: message };
    case 'ALREADY_EXISTS':
      // The details name what clashes; the taken value itself is the client's own input.
      return { code: 'ALREADY_EXIST', description: details.length > 0 ? describeClash(details) : message };
    case 'CONFLICT':
    case 'PRECONDITION_FAILED':
    case 'PRECONDITION_REQUIRED':
      return { code: 'CONFLICT', description: message };
    case 'PAYLOAD_TOO_LARGE':
      return { code: 'PAYLOAD_TOO_LARGE', description: message };
    case 'UNSUPPORTED_MEDIA_TYPE':
      return { code: 'UNSUPPORTED_MEDIA_TYPE', description: 'Content-Type must be application/json.' };
    case 'LIMIT_EXCEEDED':
      return { code: 'LIMIT_EXCEEDED', description: message };
    case 'RATE_LIMITED':
      return RATE_LIMITED;
    case 'INTERNAL':
      return INTERNAL;
    case 'UNAVAILABLE':
      return { code: 'SERVICE_UNAVAILABLE', description: message };
  }
}

/** The envelope for anything thrown; undefined when it is not ours (then it is a 500, logged). */
function toLineWorksError(error: unknown, request: FastifyRequest): LineWorksErrorBody | undefined {
  if (error instanceof LineWorksError) return { code: error.code, description: error.message };
  const known = classifyError(error, request);
  if (!known) return undefined;
  const validation = (error as FastifyError).validation;
  // A schema failure made only of absent required fields is LINE WORKS's MISSING_PARAMETER.
  if (known.code === 'VALIDATION_FAILED' && validation && validation.length > 0 && validation.every((e) => e.keyword === 'required')) {
    return { code: 'MISSING_PARAMETER', description: describeProblems(known.details, known.message) };
  }
  return fromNative(known.code, known.message, known.details);
}

/** Anything thrown while serving a request, in LINE WORKS's envelope; a 401 or 403 carries its RFC 6750 challenge. */
export function presentLineWorksError(reply: FastifyReply, error: unknown): FastifyReply | undefined {
  if (error instanceof AppError) {
    switch (error.reason) {
      case 'BAD_URL':
        return sendLineWorksError(reply, { code: 'INVALID_PARAMETER', description: error.message });
      case 'NO_CREDENTIAL':
        return sendLineWorksError(reply, { code: 'UNAUTHORIZED', description: error.message }, { 'www-authenticate': 'Bearer realm="lineworks"' });
      case 'BAD_CREDENTIAL':
      case 'OPERATOR_NOT_SERVED':
        return sendLineWorksError(reply, { code: 'UNAUTHORIZED', description: error.message }, { 'www-authenticate': 'Bearer realm="lineworks", error="invalid_token"' });
      case 'MISSING_SCOPE': {
        const scope = String(reply.request.routeOptions.config.auth);
        return sendLineWorksError(
          reply,
          { code: 'FORBIDDEN', description: `This API needs the ${scope} scope.` },
          { 'www-authenticate': `Bearer realm="lineworks", error="insufficient_scope", scope="${scope}"` },
        );
      }
    }
  }
  const known = toLineWorksError(error, reply.request);
  return known && sendLineWorksError(reply, known);
}
/** Sends the envelope; a 401 carries the RFC 6750 challenge. */
export function sendLineWorksError(reply: FastifyReply, body: LineWorksErrorBody, headers: Record<string, string> = {}) {
  if (body.code === 'UNAUTHORIZED' && headers['www-authenticate'] === undefined) void reply.header('www-authenticate', 'Bearer realm="lineworks"');
  for (const [name, value] of Object.entries(headers)) void reply.header(name, value);
  return reply.code(statusOf(body.code)).send({ code: body.code, description: body.description });
}
