// Request bodies: JSON only, parsed safely (no __proto__ or constructor.prototype keys), refused
// when a string holds a NUL character (no database column can store one) or when nested deeper
// than any request needs. The walk is a loop, so no input can exhaust the stack; nothing after it
// meets a deeper body.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import secureJson from 'secure-json-parse';
import { AppError } from '../shared/errors.ts';

/** Objects and arrays nested inside one another, at the most. */
export const MAX_DEPTH = 64;

/** The first problem of a parsed body: a NUL character (and where) or too deep a nesting. */
function findProblem(body: unknown): { field: string; problem: string } | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: body, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return { field: path || 'body', problem: 'holds a NUL character' };
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_DEPTH) return { field: path || 'body', problem: `nests objects and arrays more than ${MAX_DEPTH} levels deep` };
    // Pushed in reverse, so the first problem in document order is found first.
    const entries = Object.entries(value);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i];
      const childPath = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      if (key.includes('\u0000')) return { field: childPath, problem: 'holds a NUL character' };
      stack.push({ value: child, path: childPath, depth: depth + 1 });
    }
  }
  return undefined;
}

export function parseJsonBody(text: string): unknown {
  if (text === '') {
    throw Object.assign(new Error('Body cannot be empty when content-type is set to application/json'), { statusCode: 400, code: 'FST_ERR_CTP_EMPTY_JSON_BODY' });
  }
  let parsed: unknown;
  try {
    parsed = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    throw Object.assign(error as Error, { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' });
  }
  const found = findProblem(parsed);
  if (found?.problem === 'holds a NUL character') throw new AppError('VALIDATION_FAILED', 'Strings may not hold the NUL character.', [found]);
  if (found) throw new AppError('VALIDATION_FAILED', `The request body is nested too deeply: at most ${MAX_DEPTH} levels of objects and arrays.`, [found]);
  return parsed;
}

/** Whether the route takes a body at all. */
const takesBody = (request: FastifyRequest) => request.routeOptions.schema?.body !== undefined;

/**
 * A surface's body parsers: JSON for a route that takes a body; for one that takes none, an
 * empty body whatever its Content-Type (many clients send `application/json` on every request).
 * Anything else is 415.
 */
export function acceptJsonBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '' && !takesBody(request)) return done(null, undefined);
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    if (body === '' && !takesBody(request)) return done(null, undefined);
    done(new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.'), undefined);
  });
}
