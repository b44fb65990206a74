// Starting and stopping a real server process: what it says when it cannot start (each in one
// line naming the variable to change, exit 1, no stack trace), a read-only database, and SIGTERM
// while requests wait to be read.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { CLI, call, runCli, startServer, tenancy, type ServerProcess } from './helpers/process.ts';

/** Exit 1 with a single line matching `pattern`, and no stack trace. */
function assertOneLine(res: { code: number | string | null; output: string }, pattern: RegExp) {
  assert.equal(res.code, 1, res.output);
  assert.equal(res.output.trim().split('\n').length, 1, `one line: ${res.output}`);
  assert.doesNotMatch(res.output, /\n\s+at /);
  assert.match(res.output, pattern);
}

/** A TCP port nothing listens on. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('start-up and shutdown of a server process', () => {
  let dir: string;
  let server: ServerProcess | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'propdict-start-'));
    chmodSync(dir, 0o755);
    server = await startServer({ DATABASE_URL: `sqlite:${join(dir, 'main.db')}` });
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a file that is not a SQLite database', async () => {
    const file = join(dir, 'corrupt.db');
    writeFileSync(file, 'this is not a database; '.repeat(400));
    assertOneLine(await runCli(['serve'], { DATABASE_URL: `sqlite:${file}` }), /^.*corrupt\.db is not a SQLite database, or it is damaged: .*DATABASE_URL/);
  });

  test('a database path whose folder cannot be created', async () => {
    writeFileSync(join(dir, 'a-file'), '');
    assertOneLine(
      await runCli(['serve'], { DATABASE_URL: `sqlite:${join(dir, 'a-file', 'sub', 'x.db')}` }),
      /^The folder of the SQLite database .*a-file\/sub\/x\.db cannot be created \(E\w+ at .*\): set DATABASE_URL/,
    );
  });

  test('PostgreSQL down', async () => {
    const port = await freePort();
    assertOneLine(
      await runCli(['serve'], { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/propdict` }),
      new RegExp(`^PostgreSQL at 127\\.0\\.0\\.1:${port}/propdict does not answer \\(ECONNREFUSED\\): start it, or set DATABASE_URL`),
    );
  });

  test('a port in use', async () => {
    assertOneLine(
      await runCli(['serve'], { DATABASE_URL: `sqlite:${join(dir, 'second.db')}`, PORT: String(server!.port) }),
      new RegExp(`^Port ${server!.port} on 127\\.0\\.0\\.1 is already in use: .*set PORT`),
    );
  });

  // Root writes whatever a file's mode says: as root, the server runs as nobody, who must be able
  // to read the project (a checkout under a private folder cannot be).
  const asRoot = process.getuid?.() === 0;
  const nobodyReadsProject = !asRoot || spawnSync(process.execPath, ['-e', `require('node:fs').readFileSync(${JSON.stringify(CLI)})`], { uid: 65534, gid: 65534 }).status === 0;

  test('a read-only database file: refuses to start rather than answer 500 to every write', { skip: nobodyReadsProject ? false : 'running as root, and nobody cannot read the project to run the server as another user' }, async () => {
    const file = join(dir, 'readonly.db');
    const migrated = await runCli(['migrate'], { DATABASE_URL: `sqlite:${file}` });
    assert.equal(migrated.code, 0, migrated.output);
    if (!asRoot) chmodSync(file, 0o444);
    const res = await runCli(['serve'], { DATABASE_URL: `sqlite:${file}` }, 120_000, asRoot ? { uid: 65534, gid: 65534 } : {});
    assertOneLine(res, /^The SQLite database .*readonly\.db cannot be written by this process .*: make both writable, or set DATABASE_URL/);
  });

  test('a purge of 60,000 values gives way: its progress is read while it runs, not only once it is done', async () => {
    const t = await tenancy(server!.url);
    const created = await call(server!.url, 'POST', `/v1/workspaces/${t.workspaceId}/properties`, { token: t.token, body: { name: 'doomed', data_type: 'string' } });
    assert.equal(created.status, 201, created.raw);
    // The values are written straight into the file (the API would take minutes on a busy machine).
    const file = new DatabaseSync(join(dir, 'main.db'));
    try {
      file.exec('PRAGMA busy_timeout = 10000; BEGIN IMMEDIATE');
      const at = new Date().toISOString();
      const profile = file.prepare('insert into profiles (workspace_id, id, created_at, updated_at) values (?, ?, ?, ?)');
      const value = file.prepare('insert into profile_values (workspace_id, profile_id, property_id, position, v_text, v_num, v_json, source, written_at) values (?, ?, ?, 0, ?, null, ?, null, ?)');
      for (let i = 0; i < 60_000; i++) {
        profile.run(t.workspaceId, `p${i}`, at, at);
        value.run(t.workspaceId, `p${i}`, created.body.id, `v${i}`, JSON.stringify(`v${i}`), at);
      }
      file.exec('COMMIT');
    } finally {
      file.close();
    }
    const purge = await call(server!.url, 'DELETE', `/v1/workspaces/${t.workspaceId}/properties/doomed?purge=true`, { token: t.token });
    assert.equal(purge.status, 202, purge.raw);
    const seen: string[] = [];
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
      const job = await call(server!.url, 'GET', `/v1/workspaces/${t.workspaceId}/jobs/${purge.body.job.id}`, { token: t.token });
      assert.equal(job.status, 200, job.raw);
      seen.push(`${job.body.status} ${job.body.progress.done}/${job.body.progress.total}`);
      if (job.body.status === 'done') break;
    }
    assert.match(seen.at(-1)!, /^done 60000\/60000$/, seen.join(', '));
    assert.ok(
      seen.some((s) => /^running [1-9]\d*\/60000$/.test(s) && !s.startsWith('running 60000')),
      `a reading while the job ran: ${seen.join(', ')}`,
    );
  });

  test('SIGTERM: every request that reached the server before the signal is answered, then it closes', async () => {
    const t = await tenancy(server!.url);
    const requests = Array.from({ length: 30 }, (_, i) =>
      i % 2
        ? 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
        : (() => {
            const body = JSON.stringify({ id: `sigterm-${i}`, properties: { first_name: `N${i}` } });
            return `POST /v1/workspaces/${t.workspaceId}/profiles HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.token}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
          })(),
    );
    // Stopped, the server cannot read: the requests wait in its socket buffers and its accept
    // queue, as they do behind a long write, and the signal arrives with them.
    const pid = server!.child.pid!;
    process.kill(pid, 'SIGSTOP');
    let sockets: Socket[] = [];
    try {
      const answers = requests.map((request) => {
        const socket = connect(server!.port, '127.0.0.1');
        sockets.push(socket);
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString()));
        socket.on('error', (error) => (text += `\n${error.message}`));
        const sent = new Promise<void>((resolve) => socket.once('connect', () => socket.write(request, () => resolve())));
        const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(text)));
        return { sent, closed };
      });
      await Promise.all(answers.map((a) => a.sent));
      process.kill(pid, 'SIGTERM');
      process.kill(pid, 'SIGCONT');
      const texts = await Promise.all(answers.map((a) => a.closed));
      texts.forEach((text, i) => assert.match(text, i % 2 ? /^HTTP\/1\.1 200 / : /^HTTP\/1\.1 201 /, `request ${i}: ${text}`));
      assert.equal(await server!.exited, 0, server!.output());
    } finally {
      if (server!.child.exitCode === null) process.kill(pid, 'SIGCONT');
      for (const socket of sockets) socket.destroy();
      sockets = [];
    }
  });
});
