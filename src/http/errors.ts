// What went wrong, in the service's own vocabulary, whatever threw it: every surface presents
// the result in its own envelope.
import type { FastifyError, FastifyRequest } from 'fastify';
import { isUnavailable } from '../db/db-errors.ts';
import { AppError, type ErrorCode, type ErrorDetail } from '../shared/errors.ts';
import { detailsFromAjv } from './validation.ts';

export const UNAVAILABLE_MESSAGE = 'The service cannot reach its database right now; retry in a few seconds.';

/** A body over the limit: what was sent, what is taken, which variable sets it and what to do. */
function tooLarge(request: FastifyRequest): string {
  const limit = request.routeOptions.bodyLimit;
  const sent = Number(request.headers['content-length']);
  const size = Number.isFinite(sent) && sent > limit ? `${sent} bytes` : `more than ${limit} bytes`;
  return `The request body is ${size}; this server takes at most ${limit} bytes (PROPDICT_BODY_LIMIT). Split the batch into smaller requests.`;
}

/** Maps anything thrown while serving a request to a code, message and details. */
export function classifyError(error: unknown, request: FastifyRequest): { code: ErrorCode; message: string; details: ErrorDetail[] } | undefined {
  if (error instanceof AppError) return { code: error.code, message: error.message, details: error.details };
  // The database is away (an outage, a failover) or locked by another process for too long.
  if (isUnavailable(error)) return { code: 'UNAVAILABLE', message: UNAVAILABLE_MESSAGE, details: [] };
  const e = error as FastifyError;
  if (e?.validation) {
    return { code: 'VALIDATION_FAILED', message: 'The request is not valid.', details: detailsFromAjv(e.validation as never, e.validationContext) };
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send the body as application/json.', details: [] };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'PAYLOAD_TOO_LARGE', message: tooLarge(request), details: [] };
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
