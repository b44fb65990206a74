// The benchmark servers' process model, shared by bench/run.ts and bench/profiles.ts: each server
// (bench/serve-app.ts, bench/serve-baseline.ts) runs in a child process of its own, reports its
// port over IPC (bench/child.ts) and answers questions about its CPU time and memory; the bench
// talks to it over HTTP, so the load generator and the server under test do not share an event
// loop (or a heap).
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { ChildMemory, FromChild, ToChild } from './child.ts';

export interface Server {
  url: string;
  /** The child's process id. */
  pid: number;
  /** CPU time (user + system, µs) the server process has used so far. */
  cpu(): Promise<number>;
  /**
   * The child's memory as it sees it (RSS, peak RSS, V8 heap, external), asked over IPC: it
   * answers when its event loop is free, so ask between requests.
   */
  memory(): Promise<ChildMemory>;
  /**
   * The child's RSS and peak RSS in bytes, read from /proc/<pid>/status (VmRSS, VmHWM) without
   * the child's help, so a busy event loop does not delay the reading; asked over IPC where there
   * is no /proc.
   */
  rss(): Promise<{ rss: number; peak: number }>;
  stop(): Promise<void>;
  /** A full collection (the child must run with --expose-gc), then its memory. */
  gc(): Promise<ChildMemory>;
  /** Writes a heap snapshot into the child's working directory; its file name. */
  snapshot(): Promise<string>;
}

/**
 * Forks `file` (relative to this folder) with `env`. With `cpuProfDir`, the child runs with
 * --cpu-prof and writes its profile into that folder when it stops.
 */
export async function startServer(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  cpuProfDir?: string,
  options: { execArgv?: string[]; cwd?: string } = {},
): Promise<Server> {
  const execArgv = [...process.execArgv, ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []), ...(options.execArgv ?? [])];
  // fork runs the same node binary as this process (the pinned Node 24 when started by npm).
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), { env, execArgv, cwd: options.cwd, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // Each answer is told apart by its key, so questions asked at the same time cannot take each other's answers.
  const next = <K extends 'port' | 'cpu' | 'memory' | 'gc' | 'snapshot'>(key: K) =>
    new Promise<Extract<FromChild, Record<K, unknown>>>((resolve, reject) => {
      const onExit = (code: number | null) => {
        child.off('message', onMessage);
        reject(new Error(`${file} exited (code ${code}) before reporting its ${key}`));
      };
      const onMessage = (message: FromChild) => {
        if (!(key in message)) return;
        child.off('exit', onExit);
        child.off('message', onMessage);
        resolve(message as Extract<FromChild, Record<K, unknown>>);
      };
      child.once('exit', onExit);
      child.on('message', onMessage);
    });
  const ask = <K extends ToChild>(key: K) => {
    const answer = next(key);
    child.send(key satisfies ToChild);
    return answer;
  };
  const ready = await next('port');
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${file} has no process id`);
  const status = `/proc/${pid}/status`;
  const memory = async () => (await ask('memory')).memory;
  return {
    url: `http://127.0.0.1:${ready.port}`,
    pid,
    cpu: async () => (await ask('cpu')).cpu,
    gc: async () => (await ask('gc')).gc,
    snapshot: async () => (await ask('snapshot')).snapshot,
    memory,
    async rss() {
      let text: string;
      try {
        text = readFileSync(status, 'utf8');
      } catch {
        const { rss, peak } = await memory();
        return { rss, peak };
      }
      const kib = (field: string) => Number(new RegExp(`^${field}:\\s*(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
      return { rss: kib('VmRSS'), peak: kib('VmHWM') };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect(); // the child closes the app and exits when its IPC channel closes
      }),
  };
}

/** One JSON request to a bench server with a bearer token; any other status than `expect` throws. */
export async function request<T>(base: string, token: string, method: string, path: string, body: unknown, expect: number): Promise<T> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== expect) throw new Error(`${method} ${path}: expected ${expect}, got ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/**
 * A new schema in BENCH_DATABASE_URL's database, so that each run starts empty: the DATABASE_URL
 * that reaches it (by its search_path), the server's version, and its removal.
 */
export async function postgresSchema(baseUrl: string, prefix: string): Promise<{ schema: string; url: string; version: string; drop(): Promise<void> }> {
  const schema = `${prefix}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  let version: string;
  try {
    await admin.query(`create schema ${schema}`);
    version = (await admin.query<{ server_version: string }>('show server_version')).rows[0].server_version.split(' ')[0];
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    schema,
    url: url.toString(),
    version,
    async drop() {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      try {
        await c.query(`drop schema ${schema} cascade`);
      } finally {
        await c.end();
      }
    },
  };
}
