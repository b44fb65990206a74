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
export type Import = components['schemas']['Import'];
export type ImportOptions = NonNullable<paths['/v1/workspaces/{ws}/imports']['post']['parameters']['query']>;
export type ChangeFields = NonNullable<paths['/v1/workspaces/{ws}/properties/{name}/changes/preview']['post']['requestBody']>['content']['application/json'];
export type ChangePreview = paths['/v1/workspaces/{ws}/properties/{name}/changes/preview']['post']['responses'][200]['content']['application/json'];

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

/** The failure an error envelope (or its absence) stands for, from a status and a body's text. */
function failureOf(status: number, statusText: string, text: string): ApiFailure {
  try {
    const envelope = (JSON.parse(text) as { error?: { code?: string; message?: string; details?: ErrorDetail[]; request_id?: string } }).error;
    if (envelope?.code) return new ApiFailure(status, envelope.code, envelope.message ?? statusText, envelope.details ?? [], envelope.request_id);
  } catch {
    // Not an envelope: the status says what happened.
  }
  return new ApiFailure(status, 'HTTP_' + status, `The server answered ${status} ${statusText}.`);
}

/**
 * Sends a file to POST /imports, reporting the bytes sent as they go. XMLHttpRequest, not
 * openapi-fetch: fetch reports no upload progress (and streams a request body only over HTTP/2).
 * The path and query are typed from the same document as every other call.
 */
export function uploadImport(ws: number, file: Blob, format: 'csv' | 'ndjson', options: ImportOptions, onProgress: (sent: number, total: number) => void): Promise<Import> {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(options)) if (value !== undefined && value !== '') query.set(key, String(value));
  const path: keyof paths = '/v1/workspaces/{ws}/imports';
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${path.replace('{ws}', String(ws))}?${query}`);
    const token = session.token();
    if (token) xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.setRequestHeader('content-type', format === 'csv' ? 'text/csv' : 'application/x-ndjson');
    xhr.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    xhr.onload = () => {
      if (xhr.status === 202) resolve(JSON.parse(xhr.responseText) as Import);
      else {
        if (xhr.status === 401 && session.token()) onUnauthenticated.dispatchEvent(new Event('lost'));
        reject(failureOf(xhr.status, xhr.statusText, xhr.responseText));
      }
    };
    xhr.onerror = () => reject(new ApiFailure(0, 'OFFLINE', 'The server cannot be reached, so the file was not sent. Check the connection and try again.'));
    xhr.send(file);
  });
}

/** Hands a body to the browser as a downloaded file (the API needs the token, so no plain link). */
export function saveFile(body: Blob, name: string): void {
  const url = URL.createObjectURL(body);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Rows of an RFC 4180 CSV text (quoted cells, doubled quotes, line breaks inside quotes). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell), rows.push(row), (row = []), (cell = '');
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) row.push(cell), rows.push(row);
  return rows;
}
