// One front door for every surface, native and vendor. Each surface says only what differs: how a
// caller presents a credential, whether the operator token is served, how the workspace is found,
// how requests are counted, and how answers look. The checks and their order are the same for all:
//
//   onRequest   authenticate → refuse the operator token where it is not served → check the scope
//               → count the request, when the surface counts per caller
//   (bodies parsed as JSON — an empty one on a route that takes none — and validated)
//   preHandler  find the workspace → count the request, when the surface counts per workspace
//
// Anything thrown on the way (a refusal here, a service error, a validation failure) reaches the
// surface's one presenter; anything it does not know is logged and answered as a 500.
//
// The two hooks are the route's own, made for its need when it is added (no lookup of the route's
// options per request), and take callbacks: a request whose key and workspace are in memory, and
// that no rate limit counts, passes both without a promise turn.
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler, preHandlerHookHandler } from 'fastify';
import type { Config } from '../config.ts';
import { hasScope, type Principal, type Scope } from '../modules/auth/auth.ts';
import type { RateLimiter } from '../modules/rate-limits/rate-limiter.ts';
import type { Workspace } from '../modules/workspaces/workspace.ts';
import type { Services } from '../services.ts';
import { AppError } from '../shared/errors.ts';
import { acceptJsonBodies } from './json-body.ts';
import { type ApiDescription, describeSurface, documentRoute } from './openapi.ts';
import { countRequest, type RateLimitPolicy } from './rate-limit.ts';
import { answerRouteMisses, type RouteMissAnswers } from './route-miss.ts';

/** What a route needs: a scope, `operator` for the server-wide token only, or `any` caller. */
export type RouteAuth = Scope | 'operator' | 'any';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    principal: Principal;
    /** The workspace the request acts on, found and checked against the caller once per request. */
    workspace: Workspace;
  }
}

export interface SurfaceDeps {
  services: Services;
  limiter: RateLimiter;
  config: Pick<Config, 'ocamba' | 'hcl' | 'lineworks'>;
}

export interface SurfaceRateLimit extends RateLimitPolicy {
  /** `caller`: counted once the caller is known, before the request is validated; `workspace`: once its workspace is found. */
  per: 'caller' | 'workspace';
}

export interface SurfaceAnswers extends RouteMissAnswers {
  /** Anything thrown while serving a request, in the surface's envelope; undefined when it is not ours. */
  error(reply: FastifyReply, error: unknown): FastifyReply | undefined;
  /** The answer to what is not ours (it is logged with the request id). */
  internal(reply: FastifyReply): FastifyReply;
}

export interface Surface {
  /** What `GET /` calls it. */
  name: string;
  /** Where it is mounted: `/v1`, `/ocamba`, … */
  prefix: string;
  /** Where a client starts, as `GET /` lists it. */
  home: string;
  /** The credential a request carries (a bearer token, HCL's authKey header), if any. */
  credential(request: FastifyRequest): string | undefined;
  /** Whether the server-wide operator token may call it (the native surface only). */
  servesOperator: boolean;
  /**
   * The workspace a request acts on, read once its parts are validated; undefined for a route
   * that acts on none. A workspace the caller may not reach is not found.
   */
  workspace(request: FastifyRequest, deps: SurfaceDeps): Workspace | undefined | Promise<Workspace | undefined>;
  /** How requests are counted, if they are. */
  rateLimit(deps: SurfaceDeps): SurfaceRateLimit | undefined;
  answers: SurfaceAnswers;
  /** Its OpenAPI document: where it is served, and what it says besides the route schemas (its routes are those under `prefix`). */
  openapi: Omit<ApiDescription, 'prefix'>;
  routes(app: FastifyInstance, deps: SurfaceDeps): Promise<void>;
}

/** A route as the app serves it, for the checks every route gets. */
export interface SurfaceRoute {
  method: string;
  url: string;
  auth: RouteAuth;
}

/**
 * Registers a surface under its prefix, and its OpenAPI document; resolves to its routes once they
 * are all added. A document under the prefix is served by the surface, so that a wrong method
 * there answers in its envelope like any other path of it.
 */
export async function registerSurface(app: FastifyInstance, surface: Surface, deps: SurfaceDeps): Promise<SurfaceRoute[]> {
  const routes: SurfaceRoute[] = [];
  const serveDocument = await describeSurface(app, { ...surface.openapi, prefix: surface.prefix });
  const documentPath = surface.openapi.url.startsWith(`${surface.prefix}/`) ? surface.openapi.url.slice(surface.prefix.length) : undefined;
  if (documentPath === undefined) app.get(surface.openapi.url, documentRoute, serveDocument);
  await app.register(
    async (door) => {
      door.decorateRequest('principal', null as never);
      door.decorateRequest('workspace', null as never);
      acceptJsonBodies(door);
      const rateLimit = surface.rateLimit(deps);
      door.addHook('onRoute', (route) => {
        const auth = route.config?.auth;
        if (auth === undefined) return; // not behind the door (the surface's document)
        for (const method of [route.method].flat()) routes.push({ method, url: route.url, auth });
        route.onRequest = [admit(surface, deps, auth, rateLimit?.per === 'caller' ? rateLimit : undefined), ...[route.onRequest ?? []].flat()];
        route.preHandler = [enter(surface, deps, rateLimit?.per === 'workspace' ? rateLimit : undefined), ...[route.preHandler ?? []].flat()];
      });

      answerEverything(door, surface.answers);

      if (documentPath !== undefined) door.get(documentPath, documentRoute, serveDocument);
      await surface.routes(door, deps);
    },
    { prefix: surface.prefix },
  );
  return routes;
}

/**
 * Calls `then` with `value` at once when it is one, else once the promise settles; whatever fails
 * goes to `done`, the hook's callback.
 */
function settle<T>(value: T | Promise<T>, then: (value: T) => void, done: HookHandlerDoneFunction): void {
  if (!(value instanceof Promise)) return then(value);
  value.then((v) => {
    try {
      then(v);
    } catch (error) {
      done(error as Error);
    }
  }, done);
}

/** Counts the request when the surface limits it here; the hook goes on unless it was refused (a 429 sent). */
function count(deps: SurfaceDeps, policy: RateLimitPolicy | undefined, request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const counting = policy && countRequest(deps.limiter, policy, request, reply);
  if (counting === undefined) return done();
  counting.then(() => {
    if (!reply.sent) done();
  }, done);
}

/** onRequest: authenticate → refuse the operator token where it is not served → check the scope → count per caller. */
function admit(surface: Surface, deps: SurfaceDeps, need: RouteAuth, perCaller: RateLimitPolicy | undefined): onRequestHookHandler {
  return function admit(request, reply, done) {
    settle(
      deps.services.apiKeys.authenticate(surface.credential(request)),
      (principal) => {
        if (principal.kind === 'operator' && !surface.servesOperator) {
          throw new AppError('UNAUTHENTICATED', 'The operator token serves the native API only; use a tenant API key.', [], 'OPERATOR_NOT_SERVED');
        }
        if (need === 'operator' && principal.kind !== 'operator') {
          throw new AppError('FORBIDDEN', 'Only the operator token may do this.', [], 'OPERATOR_ONLY');
        }
        if (need !== 'operator' && need !== 'any' && !hasScope(principal, need)) {
          throw new AppError('FORBIDDEN', `This needs the ${need} scope.`, [], 'MISSING_SCOPE');
        }
        request.principal = principal;
        count(deps, perCaller, request, reply, done);
      },
      done,
    );
  };
}

/** preHandler: find the workspace → count per workspace. */
function enter(surface: Surface, deps: SurfaceDeps, perWorkspace: RateLimitPolicy | undefined): preHandlerHookHandler {
  return function enter(request, reply, done) {
    settle(
      surface.workspace(request, deps),
      (workspace) => {
        if (workspace) request.workspace = workspace;
        count(deps, perWorkspace, request, reply, done);
      },
      done,
    );
  };
}

/** A context's error, 404 and 405 answers: anything not the surface's own is logged and a 500. */
export function answerEverything(app: FastifyInstance, answers: SurfaceAnswers): void {
  app.setErrorHandler((error, request, reply) => {
    const answered = answers.error(reply, error);
    if (answered) return answered;
    request.log.error({ err: error, request_id: request.id }, 'unhandled error');
    return answers.internal(reply);
  });
  answerRouteMisses(app, answers);
}

/** `Authorization: Bearer <token>` */
export function bearerToken(request: FastifyRequest): string | undefined {
  // Every request reads it: tested and cut rather than matched (a match builds an array). `trim`
  // takes away exactly what `\s` matches.
  const header = request.headers.authorization;
  if (header === undefined || !/^Bearer\s/i.test(header)) return undefined;
  const token = header.slice(6).trim();
  return token === '' || /\s/.test(token) ? undefined : token;
}
