// Segment's answers: 200 {"success": true} for every call it can read; otherwise
// {"success": false, "message"}: 400 for a body it cannot read (malformed JSON, a bad gzip, a
// missing id, over the size limits), 401 for a bad write key, 429 over the source's rate limit. Anything else that is the client's
// fault stays a 4xx; ours is a 500 without detail (the SDKs retry it).
import type { FastifyError, FastifyRequest, FastifyReply } from 'fastify';
import { classifyError } from '../../http/errors.ts';
import { MAX_BATCH_BYTES } from './segment.mappers.ts';

/** An answer this surface has already put in its words. */
export class SegmentError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'SegmentError';
    this.status = status;
  }
}

export const say = {
  malformed: 'The body is not valid JSON.',
  empty: 'The body is empty: send a JSON object.',
  notAnObject: 'The body must be a JSON object.',
  badGzip: 'The body is labelled Content-Encoding: gzip but does not inflate.',
  encoding: (name: string) => `Content-Encoding "${name}" is not supported: send the body as it is, or gzip it.`,
  batchTooLarge: `The body is larger than ${MAX_BATCH_BYTES / 1024} KB (counted after inflating).`,
  unauthorized: 'The write key is missing, unknown or revoked: send it as the HTTP Basic user name, or as writeKey in the body.',
  badUrl: (field: string, problem: string) => `The request URL is not valid: ${field} ${problem}.`,
  routeNotFound: (method: string, path: string) => `No endpoint ${method} ${path}.`,
  methodNotAllowed: (method: string, allowed: string[]) => `${method} is not allowed here; use ${allowed.join(', ')}.`,
  rateLimited: (spent: string, wait: number) => `This source's rate limit of ${spent} is reached; retry in ${wait} s.`,
  internal: 'Something went wrong on our side; send the call again.',
} as const;

export const failure = (message: string) => ({ success: false as const, message });

export const sendFailure = (reply: FastifyReply, status: number, message: string) => reply.code(status).send(failure(message));

/** Anything thrown while serving a request, as a status and message; undefined when it is ours (500). */
export function presentError(error: unknown, request: FastifyRequest): SegmentError | undefined {
  if (error instanceof SegmentError) return error;
  const e = error as FastifyError;
  if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new SegmentError(400, say.batchTooLarge);
  const known = classifyError(error, request);
  if (known) {
    switch (known.code) {
      case 'UNAUTHENTICATED':
        return new SegmentError(401, say.unauthorized);
      case 'VALIDATION_FAILED':
        return new SegmentError(400, known.details.length > 0 ? known.details.map((d) => `${d.field} ${d.problem}.`).join(' ') : known.message);
      case 'INTERNAL':
        return undefined;
      default:
        return new SegmentError(400, known.message);
    }
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return new SegmentError(400, say.malformed);
  return undefined;
}
