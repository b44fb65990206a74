// Segment's HTTP Tracking API under /segment: an app's Segment or RudderStack SDK writes profiles
// through the dictionary by changing only where it sends and its write key. Schemas, mappers and
// the envelope only; the rules are the ingestion service's.
import { gunzipSync } from 'node:zlib';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { IngestCall, Refusal } from '../../modules/ingestion/ingestion.ts';
import type { IngestionService } from '../../modules/ingestion/ingestion.service.ts';
import type { WriteKeyService } from '../../modules/sources/write-keys.service.ts';
import type { WriteKeyAuth } from '../../modules/sources/write-keys.ts';
import type { Clock } from '../../shared/clock.ts';
import { rateLimitHook, seconds } from '../../http/rate-limit.ts';
import { answerRouteMisses } from '../../http/route-miss.ts';
import type { RateLimiter, Window } from '../../modules/rate-limits/rate-limiter.ts';
import { presentError, say, SegmentError, sendFailure } from './segment.errors.ts';
import { type BatchShared, type CallType, MAX_BATCH_BYTES, MAX_CALL_BYTES, readCall } from './segment.mappers.ts';
import { type ApiDescription, documentRoute } from '../../http/openapi.ts';
import { AliasBody, answers, BatchBody, EventBody, Failure, IdentifyBody } from './segment.schemas.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Bytes of the JSON body once inflated: the size limits apply to it. */
    jsonBytes: number;
    /** The write key's source, once authenticated: requests are counted against it. */
    writeKey: WriteKeyAuth | null;
  }
}

export interface SegmentDeps {
  ingestion: IngestionService;
  writeKeys: WriteKeyService;
  clock: Clock;
  limiter: RateLimiter;
  /** Requests per source (0 turns a window off): PROPDICT_SEGMENT_PER_SECOND, _PER_MINUTE. */
  limits: { perSecond: number; perMinute: number };
  /** Serves segmentOpenapi (at /segment/openapi.json). */
  serveDocument: RouteHandlerMethod;
}

/**
 * The body as JSON, whatever its declared type (RudderStack labels its gzipped JSON as a form),
 * inflated first when gzipped, and never more than the batch limit once inflated: a small gzip
 * bomb stops there.
 */
function decodeBody(request: FastifyRequest, raw: Buffer): unknown {
  const encoding = String(request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  let bytes = raw;
  if (encoding === 'gzip' || encoding === 'x-gzip') {
    try {
      bytes = gunzipSync(raw, { maxOutputLength: MAX_BATCH_BYTES });
    } catch (error) {
      throw new SegmentError(400, (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? say.batchTooLarge : say.badGzip);
    }
  } else if (encoding !== 'identity') throw new SegmentError(400, say.encoding(encoding));
  request.jsonBytes = bytes.length;
  const text = bytes.toString('utf8');
  if (text.trim() === '') throw new SegmentError(400, say.empty);
  try {
    // A trait named __proto__ stays an own, inert key (JSON.parse never sets a prototype), so it
    // is refused as an unknown trait like any other.
    return JSON.parse(text);
  } catch {
    throw new SegmentError(400, say.malformed);
  }
}

/** The write key: the HTTP Basic user name, else `writeKey` in the body. */
function writeKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string' && /^basic /i.test(header)) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const user = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded;
    if (user !== '') return user;
  }
  const body = request.body as { writeKey?: unknown } | undefined;
  return typeof body?.writeKey === 'string' && body.writeKey !== '' ? body.writeKey : undefined;
}

/** Its own document: an SDK needs no client, but a server sending calls by hand may generate one. */
export const segmentOpenapi: ApiDescription = {
  prefix: '/segment',
  server: { url: '/segment', description: 'This server, in place of https://api.segment.io' },
  url: '/segment/openapi.json',
  title: 'propdict: Segment HTTP Tracking API',
  description:
    "Segment's HTTP Tracking API served by propdict: a Segment or RudderStack SDK writes profiles through the dictionary with this base URL and a source's write key. " +
    'Answers are `{success: true}`, or `{success: false, message}` for an error.',
  tags: { tracking: 'Calls from instrumented apps, written to profiles through a source.' },
  security: { name: 'writeKey', scheme: { type: 'http', scheme: 'basic', description: "A source's write key as the user name, the password empty (or `writeKey` in the body)" } },
  error: { name: 'SegmentFailure', schema: Failure },
  rateLimit: { headers: [], refusal: [] },
};

/**
 * Requests counted per source, whichever of its write keys they carry, once the key is known (it
 * may be in the body). Segment sends no rate-limit headers; a 429 carries Retry-After, which
 * the SDKs wait for before sending the batch again.
 */
function perSource(limiter: RateLimiter, { perSecond, perMinute }: SegmentDeps['limits']) {
  const windows: Window[] = [];
  if (perSecond > 0) windows.push({ name: 'second', limit: perSecond, ms: 1000 });
  if (perMinute > 0) windows.push({ name: 'minute', limit: perMinute, ms: 60_000 });
  return rateLimitHook(limiter, {
    subject: (request) => (request.writeKey ? `segment:${request.writeKey.workspaceId}:${request.writeKey.sourceId}` : undefined),
    windows: () => windows,
    headers: () => undefined,
    refuse: (reply, d) => {
      const wait = seconds(d.retryAfterMs);
      void reply.header('retry-after', String(wait));
      const spent = d.windows.filter((w) => w.remaining === 0).map((w) => `${w.limit} requests per ${w.name}`);
      return sendFailure(reply, 429, say.rateLimited(spent.join(' and '), wait));
    },
  });
}

export async function segmentSurface(app: FastifyInstance, { ingestion, writeKeys, clock, limiter, limits, serveDocument }: SegmentDeps) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  app.decorateRequest('jsonBytes', 0);
  app.decorateRequest('writeKey', null);
  const countRequest = perSource(limiter, limits);

  // Every body is read as JSON, however it is labelled.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_BATCH_BYTES }, (request, body, done) => {
    // No endpoint takes it: the 404 or 405 says so, whatever the body holds.
    if (request.is404) return done(null, undefined);
    try {
      done(null, decodeBody(request, body as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  app.setErrorHandler((error, request, reply) => {
    const known = presentError(error, request);
    if (known) return sendFailure(reply, known.status, known.message);
    request.log.error({ err: error, request_id: request.id }, 'unhandled error');
    return sendFailure(reply, 500, say.internal);
  });

  answerRouteMisses(app, {
    notFound: (reply, request, path) => sendFailure(reply, 404, say.routeNotFound(request.method, path)),
    methodNotAllowed: (reply, request, allowed) => sendFailure(reply, 405, say.methodNotAllowed(request.method, allowed)),
  });
  app.get('/openapi.json', documentRoute, serveDocument);

  async function authenticate(request: FastifyRequest): Promise<WriteKeyAuth> {
    const key = writeKeyOf(request);
    const auth = key === undefined ? undefined : await writeKeys.authenticate(key);
    if (!auth) throw new SegmentError(401, say.unauthorized);
    return auth;
  }

  /**
   * Reads the calls; a single call that cannot be read is a 400, a batch's is refused alone. A
   * request over its source's rate limit is refused (429) before any of its calls is mapped or written.
   */
  async function ingest(request: FastifyRequest, reply: FastifyReply, raws: unknown[], endpoint: CallType | undefined, shared: BatchShared) {
    const auth = await authenticate(request);
    request.writeKey = auth;
    // A reply is thenable: awaited, the hook's refusal resolves once sent, so ask the reply.
    await countRequest(request, reply);
    if (reply.sent) return reply;
    const receivedAt = clock.now();
    const calls: IngestCall[] = [];
    const refused: Refusal[] = [];
    for (const raw of raws) {
      const read = readCall(raw, endpoint, shared, receivedAt);
      if (!read.ok) {
        if (endpoint !== undefined) throw new SegmentError(400, `${read.message[0].toUpperCase()}${read.message.slice(1)}.`);
        refused.push({ trait: read.trait, property: null, problem: read.problem, message: read.message, value: read.value });
        continue;
      }
      calls.push(read.call);
      if (read.invalidTimestamp !== undefined) {
        refused.push({ trait: 'timestamp', property: null, problem: 'invalid_timestamp', message: 'is not an ISO 8601 date-time: the values were dated at receipt', value: read.invalidTimestamp });
      }
    }
    await ingestion.ingest(auth, calls, refused);
    return { success: true as const };
  }

  const single = (endpoint: CallType) => async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.jsonBytes > MAX_CALL_BYTES) throw new SegmentError(400, `A call must be at most ${MAX_CALL_BYTES / 1024} KB (counted after inflating).`);
    return ingest(request, reply, [request.body], endpoint, {});
  };

  const tags = ['tracking'];
  // Each call type is its operation: identify, track, …, batch, import.
  const doc = (operationId: string, summary: string, description: string) => ({ tags, operationId, summary, description });

  r.post('/v1/identify', {
    schema: {
      ...doc('identify', 'Identify: write traits to a profile', "Traits map to properties by name, then import alias; userId and anonymousId to the source's identity properties. 200 even when some traits are refused (see GET /v1/workspaces/{ws}/violations)."),
      body: IdentifyBody,
      response: answers,
    },
    handler: single('identify'),
  });
  for (const type of ['track', 'page', 'screen', 'group'] as const) {
    r.post(`/v1/${type}`, {
      schema: { ...doc(type, `${type[0].toUpperCase()}${type.slice(1)}: accepted, not stored`, 'Only context.traits are written, as an identify would; a call with both ids links them.'), body: EventBody, response: answers },
      handler: single(type),
    });
  }
  r.post('/v1/alias', {
    schema: {
      ...doc(
        'alias',
        "Alias: merge previousId's profile into userId's",
        "The profiles holding previousId (as the source's user id, now or retired by an earlier alias, or as its anonymous id) merge into the one holding userId, which keeps userId as its user id; the user ids they held are retired and still lead to it. A previousId no profile holds is written as an anonymous id beside userId.",
      ),
      body: AliasBody,
      response: answers,
    },
    handler: single('alias'),
  });
  for (const path of ['/v1/batch', '/v1/import']) {
    r.post(path, {
      schema: {
        ...doc(path.slice('/v1/'.length), path === '/v1/batch' ? 'Batch: many calls, written as one unit of work' : 'Import: the same as batch', `At most ${MAX_BATCH_BYTES / 1024} KB, each call at most ${MAX_CALL_BYTES / 1024} KB (after inflating gzip). A call that cannot be read, or is too large, is refused alone and recorded as a violation; the others are written.`),
        body: BatchBody,
        response: answers,
      },
      handler: async (request, reply) => ingest(request, reply, request.body.batch, undefined, { context: request.body.context, sentAt: request.body.sentAt }),
    });
  }
}
