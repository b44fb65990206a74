// Every 503 (the database away or locked by another process, the server shutting down) tells the
// client when to try again, whichever surface answers it and in whatever envelope.
import type { FastifyInstance } from 'fastify';

/** Seconds a client is asked to wait: a failover or a lock held by another process is short. */
export const RETRY_AFTER_S = 2;

export function retryAfterOnUnavailable(app: FastifyInstance): void {
  // Every answer passes here: a callback, so that it costs no promise turn.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (reply.statusCode === 503 && !reply.hasHeader('retry-after')) void reply.header('retry-after', String(RETRY_AFTER_S));
    done(null, payload);
  });
}
