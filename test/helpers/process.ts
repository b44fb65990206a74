// Real server processes for the tests whose subject is the process: started from the CLI as an
// operator would, each on a database of its own, stopped in `after` even when a test failed.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const CLI = join(import.meta.dirname, '..', '..', 'src', 'cli.ts');

export interface ServerProcess {
  child: ChildProcess;
  /** http://127.0.0.1:<port>, once it listens. */
  url: string;
  port: number;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string | null>;
  /** SIGTERM, then SIGKILL if it has not exited within `ms`. */
  stop(ms?: number): Promise<void>;
}

/** Environment every test server gets unless the test says otherwise: quiet, on a free port. */
const BASE_ENV = { PORT: '0', LOG_LEVEL: 'warn', PROPDICT_ADMIN_TOKEN: 'process-operator-token-00' };

function spawnCli(args: string[], env: Record<string, string>, options: { uid?: number; gid?: number } = {}) {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...BASE_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return { child, output: () => out, exited };
}

/** Starts `propdict serve`; resolves once it listens (LOG_LEVEL info is forced to see that line). */
export async function startServer(env: Record<string, string>, options: { uid?: number; gid?: number; timeoutMs?: number } = {}): Promise<ServerProcess> {
  const { child, output, exited } = spawnCli(['serve'], { ...env, LOG_LEVEL: 'info' }, options);
  const stop = async (ms = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    await exited;
    clearTimeout(timer);
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "Server listening" within ${options.timeoutMs ?? 120_000} ms: ${output()}`)), options.timeoutMs ?? 120_000);
    const onData = () => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output());
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening: ${output()}`));
    });
  }).catch(async (error) => {
    await stop(1000);
    throw error;
  });
  return { child, url, port: Number(new URL(url).port), output, exited, stop };
}

/** Runs `propdict <args>` to its end (killed after `timeoutMs`); its exit code and output. */
export async function runCli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 120_000,
  options: { uid?: number; gid?: number } = {},
): Promise<{ code: number | string | null; output: string }> {
  const { child, output, exited } = spawnCli(args, env, options);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  return { code, output: output() };
}

/** Polls `check` until it returns a value other than undefined, or fails after `ms`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, ms = 30_000, every = 100): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

/** One JSON request; the status, headers and parsed body. */
export async function call(base: string, method: string, path: string, options: { token?: string; body?: unknown } = {}) {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const raw = await res.text();
  let body: any;
  try {
    body = raw === '' ? undefined : JSON.parse(raw);
  } catch {
    body = raw;
  }
  return { status: res.status, headers: res.headers, body, raw };
}

/** A tenant, a workspace and an all-scopes key on a running server, made by the operator. */
export async function tenancy(base: string, operatorToken = BASE_ENV.PROPDICT_ADMIN_TOKEN) {
  const tenant = await call(base, 'POST', '/v1/tenants', { token: operatorToken, body: { name: 'Faults' } });
  if (tenant.status !== 201) throw new Error(`tenant: ${tenant.raw}`);
  const ws = await call(base, 'POST', `/v1/tenants/${tenant.body.id}/workspaces`, { token: operatorToken, body: { name: 'faults' } });
  if (ws.status !== 201) throw new Error(`workspace: ${ws.raw}`);
  const key = await call(base, 'POST', `/v1/tenants/${tenant.body.id}/api-keys`, {
    token: operatorToken,
    body: { name: 'all', scopes: ['properties:read', 'properties:write', 'profiles:read', 'profiles:write', 'pii:read', 'admin'] },
  });
  if (key.status !== 201) throw new Error(`key: ${key.raw}`);
  return { tenantId: tenant.body.id as number, workspaceId: ws.body.id as number, token: key.body.token as string };
}

export const OPERATOR = BASE_ENV.PROPDICT_ADMIN_TOKEN;
