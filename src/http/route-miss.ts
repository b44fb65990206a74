// Fastify answers a known path asked with another method as not found. Every surface tells the
// two apart the same way and differs only in how it words the answer.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface RouteMissAnswers {
  notFound(reply: FastifyReply, request: FastifyRequest, path: string): FastifyReply;
  /** Called with the `Allow` header already set. */
  methodNotAllowed(reply: FastifyReply, request: FastifyRequest, allowed: string[]): FastifyReply;
}

/** Collects the plugin's routes as they are added, then answers misses with 404 or 405. */
export function answerRouteMisses(app: FastifyInstance, answers: RouteMissAnswers): void {
  const routes: { method: string; pattern: RegExp }[] = [];
  app.addHook('onRoute', (route) => {
    const escaped = route.url.replace(/[.+*?^$()[\]{}|\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+');
    const pattern = new RegExp(`^${escaped}/?$`);
    for (const method of [route.method].flat()) routes.push({ method, pattern });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))];
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      void reply.header('allow', allowed.join(', '));
      return answers.methodNotAllowed(reply, request, allowed);
    }
    return answers.notFound(reply, request, path);
  });
}
