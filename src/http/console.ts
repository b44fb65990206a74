// The admin console: a built single-page app served from console/dist under /console. Hashed
// assets are cached for good, index.html never without asking again, and a Content-Security-Policy
// lets the page load and call nothing but this server. Any other path under /console is the app
// itself (it routes in the browser), so a deep link works after a reload.
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { nativeSurface } from './native-surface.ts';
import { AppError } from '../shared/errors.ts';

export const CONSOLE_PREFIX = '/console';
export const CONSOLE_DIST = join(import.meta.dirname, '..', '..', 'console', 'dist');

/** Nothing from elsewhere, no inline script or style, no framing, no plugins. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';

export async function consoleRoutes(app: FastifyInstance, options: { root?: string } = {}) {
  const root = options.root ?? CONSOLE_DIST;
  const built = existsSync(join(root, 'index.html'));

  app.addHook('onSend', async (_request, reply) => {
    void reply.header('content-security-policy', CONSOLE_CSP);
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('referrer-policy', 'no-referrer');
    void reply.header('x-frame-options', 'DENY');
  });

  if (!built) {
    // A checkout where the install did not build the console (npm install --ignore-scripts).
    app.get(`${CONSOLE_PREFIX}*`, { schema: { hide: true } }, async (_request, reply) =>
      nativeSurface.answers.error(reply, new AppError('UNAVAILABLE', 'The console is not built: run `npm run build:console`.')),
    );
    return;
  }

  await app.register(fastifyStatic, {
    root,
    prefix: `${CONSOLE_PREFIX}/`,
    wildcard: false,
    index: false,
    cacheControl: false,
    etag: true,
    lastModified: true,
    setHeaders(reply, path) {
      void reply.header('cache-control', path.startsWith(join(root, 'assets')) ? IMMUTABLE : 'no-cache');
    },
  });

  const sendApp = async (_request: unknown, reply: FastifyReply) =>
    reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').sendFile('index.html', root);
  app.get(CONSOLE_PREFIX, { schema: { hide: true } }, sendApp);
  app.get(`${CONSOLE_PREFIX}/*`, { schema: { hide: true } }, async (request, reply) => {
    // A missing asset is a 404, not the app: a stale page must not run HTML as a script.
    if (request.url.startsWith(`${CONSOLE_PREFIX}/assets/`)) {
      return nativeSurface.answers.notFound(reply, request, request.url.split('?')[0]);
    }
    return sendApp(request, reply);
  });
}
