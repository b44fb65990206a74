// One rate-limit hook for every surface: each surface says whom a request counts against,
// which windows apply, and how its answers (headers, 429 body) look.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Decision, RateLimiter, Window } from '../modules/rate-limits/rate-limiter.ts';

export interface RateLimitPolicy {
  /** The counter a request uses, or undefined when it is not limited. */
  subject(request: FastifyRequest): string | undefined;
  windows(request: FastifyRequest): readonly Window[];
  /** Headers for an answer that was let through. */
  headers(reply: FastifyReply, decision: Decision): void;
  /** Sends the surface's 429. */
  refuse(reply: FastifyReply, decision: Decision): FastifyReply;
}

/**
 * Counts a request against `policy`: undefined at once when the policy does not limit it, else a
 * promise that settles once it is counted (when refused, after the 429 is sent).
 */
export function countRequest(limiter: RateLimiter, policy: RateLimitPolicy, request: FastifyRequest, reply: FastifyReply): Promise<unknown> | undefined {
  const subject = policy.subject(request);
  if (subject === undefined) return undefined;
  const windows = policy.windows(request);
  if (windows.length === 0) return undefined;
  return limiter.hit(subject, windows).then((decision) => {
    if (!decision.allowed) return policy.refuse(reply, decision);
    policy.headers(reply, decision);
    return undefined;
  });
}

/** countRequest as an async hook, for a surface that counts from its handler (Segment's write key may be in the body). */
export function rateLimitHook(limiter: RateLimiter, policy: RateLimitPolicy) {
  return async function rateLimit(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    return countRequest(limiter, policy, request, reply);
  };
}

/** Seconds, rounded up, at least 1: what Retry-After and reset headers carry. */
export const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** `<prefix>-limit`, `-remaining` and `-reset` (in seconds): the one-window headers vendors send. */
export function windowHeaders(reply: FastifyReply, prefix: 'ratelimit' | 'x-ratelimit', limit: number, remaining: number, resetMs: number): void {
  void reply.header(`${prefix}-limit`, String(limit));
  void reply.header(`${prefix}-remaining`, String(remaining));
  void reply.header(`${prefix}-reset`, String(seconds(resetMs)));
}
