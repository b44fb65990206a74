// Services hand back the same list object while a workspace's dictionary is unchanged, so a
// route serialises it once and sends the stored JSON text after that.
import type { FastifyReply } from 'fastify';

/**
 * One per route: sends `present(value)` serialised by the route's response schema, reusing the
 * text made for the same `value` object before.
 */
export function serialiseOnce<T extends object>() {
  const bodies = new WeakMap<T, string>();
  return (reply: FastifyReply, value: T, present: (value: T) => unknown): FastifyReply => {
    let body = bodies.get(value);
    if (body === undefined) {
      body = String(reply.serialize(present(value)));
      bodies.set(value, body);
    }
    // A string with a JSON content type is sent as it is.
    return reply.type('application/json; charset=utf-8').send(body);
  };
}
