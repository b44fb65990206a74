// The console's one way to the server: /v1 through a client typed from the served OpenAPI
// document (api.d.ts is generated from it at build time). The token lives in sessionStorage only.
import createClient from 'openapi-fetch';
import type { components, paths } from './openapi';

export type Property = components['schemas']['Property'];
export type Job = components['schemas']['Job'];
export type Profile = components['schemas']['Profile'];
export type Me = paths['/v1/me']['get']['responses'][200]['content']['application/json'];
export type Scope = Me['scopes'][number];
export type PropertyCreate = NonNullable<paths['/v1/workspaces/{ws}/properties']['post']['requestBody']>['content']['application/json'];
export type PropertyPatch = NonNullable<paths['/v1/workspaces/{ws}/properties/{name}']['patch']['requestBody']>['content']['application/json'];
export type HistoryEntry = paths['/v1/workspaces/{ws}/properties/{name}/history']['get']['responses'][200]['content']['application/json']['data'][number];
export type ApiKey = paths['/v1/tenants/{tenant_id}/api-keys']['get']['responses'][200]['content']['application/json']['data'][number];
export type NewApiKey = paths['/v1/tenants/{tenant_id}/api-keys']['post']['responses'][201]['content']['application/json'];
export type Workspace = paths['/v1/tenants/{tenant_id}/workspaces']['get']['responses'][200]['content']['application/json']['data'][number];
export type Tenant = paths['/v1/tenants']['get']['responses'][200]['content']['application/json']['data'][number];
export type ErrorDetail = components['schemas']['ErrorEnvelope']['error']['details'][number];

const TOKEN = 'propdict.token';

export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN),
  signIn: (token: string) => sessionStorage.setItem(TOKEN, token),
  signOut: () => sessionStorage.removeItem(TOKEN),
};

/** Told when the server stops accepting the token (revoked, expired): the screen asks for a key again and keeps what was typed. */
export const onUnauthenticated = new EventTarget();

export const api = createClient<paths>({ baseUrl: location.origin });
api.use({
  onRequest({ request }) {
    const token = session.token();
    if (token) request.headers.set('authorization', `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401 && session.token()) onUnauthenticated.dispatchEvent(new Event('lost'));
    return response;
  },
});

/** What the API refused (or why it could not be asked), in the API's own words. */
export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[];
  readonly requestId?: string;
  constructor(status: number, code: string, message: string, details: ErrorDetail[] = [], requestId?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
  }
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The answer's body, or an ApiFailure carrying the error envelope; a lost connection says so. */
export async function call<T>(request: Promise<Answer<T>>): Promise<{ data: T; response: Response }> {
  let answer: Answer<T>;
  try {
    answer = await request;
  } catch {
    throw new ApiFailure(0, 'OFFLINE', 'The server cannot be reached. Check the connection and try again; nothing you typed is lost.');
  }
  const { data, error, response } = answer;
  if (response.ok) return { data: data as T, response };
  const envelope = (error as { error?: { code?: string; message?: string; details?: ErrorDetail[]; request_id?: string } } | undefined)?.error;
  if (envelope?.code) throw new ApiFailure(response.status, envelope.code, envelope.message ?? response.statusText, envelope.details ?? [], envelope.request_id);
  throw new ApiFailure(response.status, 'HTTP_' + response.status, `The server answered ${response.status} ${response.statusText}.`);
}

/** Polls a job until it ends, reporting its progress each time. */
export async function followJob(ws: number, job: Job, onProgress: (job: Job) => void, every = 400): Promise<Job> {
  let current = job;
  onProgress(current);
  while (current.status === 'queued' || current.status === 'running') {
    await new Promise((resolve) => setTimeout(resolve, every));
    current = (await call(api.GET('/v1/workspaces/{ws}/jobs/{id}', { params: { path: { ws, id: current.id } } }))).data;
    onProgress(current);
  }
  return current;
}
