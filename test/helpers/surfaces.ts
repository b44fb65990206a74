// How each surface carries a token and how its errors look, for suites that check every surface.
import assert from 'node:assert/strict';
import { STATUS_CODES } from 'node:http';
import { expectError, expectStatus, type Response } from './app.ts';

export interface SurfaceEnvelope {
  name: string;
  prefix: string;
  /** The headers carrying a token on this surface. */
  credential: (token: string) => Record<string, string>;
  /** Asserts this status in the surface's own envelope, with the code it uses for it. */
  expectError: (res: Response, status: number) => void;
}

const NATIVE_CODES: Record<number, string> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};
const LINEWORKS_CODES: Record<number, string> = {
  400: 'INVALID_PARAMETER',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export const native: SurfaceEnvelope = {
  name: 'native',
  prefix: '/v1',
  credential: bearer,
  expectError: (res, status) => void expectError(res, status, NATIVE_CODES[status]),
};

export const ocamba: SurfaceEnvelope = {
  name: 'Ocamba',
  prefix: '/ocamba',
  credential: bearer,
  expectError: (res, status) => {
    expectStatus(res, status);
    assert.deepEqual(Object.keys(res.body ?? {}), ['code', 'title', 'message', 'trace_id'], res.raw);
    assert.equal(res.body.code, status, res.raw);
    assert.equal(res.body.trace_id, res.headers['x-request-id'], res.raw);
  },
};

export const hcl: SurfaceEnvelope = {
  name: 'HCL',
  prefix: '/hcl',
  credential: (token) => ({ authkey: token }),
  expectError: (res, status) => {
    expectStatus(res, status);
    assert.deepEqual(Object.keys(res.body ?? {}), ['error', 'message'], res.raw);
    assert.equal(res.body.error, STATUS_CODES[status], res.raw);
  },
};

export const lineworks: SurfaceEnvelope = {
  name: 'LINE WORKS',
  prefix: '/lineworks',
  credential: bearer,
  expectError: (res, status) => {
    expectStatus(res, status);
    assert.deepEqual(Object.keys(res.body ?? {}), ['code', 'description'], res.raw);
    assert.equal(res.body.code, LINEWORKS_CODES[status], res.raw);
  },
};

export const SURFACE_ENVELOPES = [native, ocamba, hcl, lineworks];

/** The surface a path belongs to. */
export const envelopeOf = (path: string) => SURFACE_ENVELOPES.find((s) => path.startsWith(`${s.prefix}/`)) ?? native;
