// Input that is not HTTP at all never reaches a route or a surface: it is answered here, in the
// native envelope with a request id, before the connection closes.
import type { Socket } from 'node:net';
import type { FastifyServerOptions } from 'fastify';
import type { IdGenerator } from '../shared/ids.ts';

export function clientErrorAnswer(ids: IdGenerator): NonNullable<FastifyServerOptions['clientErrorHandler']> {
  return (error: Error & { code?: string }, socket: Socket) => {
    // A client that went away, or a socket already written to, has nobody to answer.
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    // A client too slow with its headers or body (PROPDICT_HEADERS_TIMEOUT_MS, _REQUEST_TIMEOUT_MS):
    // 408, as Node answers it, and the connection is closed.
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const id = ids.requestId();
    const body = JSON.stringify({ error: { code: 'VALIDATION_FAILED', message: 'The request is not valid HTTP.', request_id: id, details: [] } });
    socket.end(
      ['HTTP/1.1 400 Bad Request', 'Content-Type: application/json; charset=utf-8', `Content-Length: ${Buffer.byteLength(body)}`, `X-Request-Id: ${id}`, 'Connection: close', '', body].join('\r\n'),
    );
  };
}
