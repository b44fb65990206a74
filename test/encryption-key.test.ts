// The encryption key as an operator meets it, with real server processes on SQLite: made on the
// first start and said where once, read from then on, and a server given another key (or none,
// once the file is lost) refuses to start naming the fingerprints.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { keyFingerprint } from '../src/shared/pii-cipher.ts';
import { call, runCli, startServer, tenancy, type ServerProcess } from './helpers/process.ts';

describe('the encryption key on the embedded default', () => {
  let dir: string;
  let server: ServerProcess | undefined;
  const env = () => ({ DATABASE_URL: `sqlite:${join(dir, 'data', 'propdict.db')}`, PROPDICT_ENCRYPTION_KEY: '' });
  const keyFile = () => join(dir, 'data', 'encryption.key');

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'propdict-key-'));
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the first start makes a key file (0600) and says where; PII works out of the box; later starts read it silently', async () => {
    server = await startServer(env());
    assert.match(server.output(), new RegExp(`An encryption key for PII values was created in ${keyFile().replace(/[.]/g, '\\.')} \\(readable by this user only\\)`));
    assert.equal(statSync(keyFile()).mode & 0o777, 0o600);

    // The Ocamba quick start's own example: a PII property.
    const t = await tenancy(server.url);
    const ocamba = await call(server.url, 'POST', '/ocamba/v1/hood/profile-properties', {
      token: t.token,
      body: { label: 'national_id', data_type: 'text', pi_data: 1 },
    });
    assert.equal(ocamba.status, 201, ocamba.raw);
    assert.equal(ocamba.body.pi_data, 1);
    const put = await call(server.url, 'PUT', `/v1/workspaces/${t.workspaceId}/profiles/ana`, { token: t.token, body: { properties: { national_id: 'X-123' } } });
    assert.equal(put.status, 201, put.raw);
    await server.stop();

    server = await startServer(env());
    assert.doesNotMatch(server.output(), /encryption key/i);
    const read = await call(server.url, 'GET', `/v1/workspaces/${t.workspaceId}/profiles/ana`, { token: t.token });
    assert.equal(read.status, 200, read.raw);
    assert.equal(read.body.properties.national_id, 'X-123');
    const found = await call(server.url, 'GET', `/v1/workspaces/${t.workspaceId}/profiles?filter[national_id][eq]=X-123`, { token: t.token });
    assert.deepEqual(found.body.data.map((p: { id: string }) => p.id), ['ana'], found.raw);
    await server.stop();
  });

  test('another key: refuses to start, naming both fingerprints and asking for the original key', async () => {
    const original = keyFingerprint(Buffer.from(readFileSync(keyFile(), 'utf8').trim(), 'hex'));
    const other = 'cd'.repeat(32);
    const res = await runCli(['serve'], { ...env(), PROPDICT_ENCRYPTION_KEY: other });
    assert.equal(res.code, 1, res.output);
    assert.equal(res.output.trim().split('\n').length, 1, res.output);
    assert.ok(res.output.includes(`fingerprint ${keyFingerprint(Buffer.from(other, 'hex'))}`), res.output);
    assert.ok(res.output.includes(`fingerprint ${original}`), res.output);
    assert.match(res.output, /start with that original key/);
    assert.doesNotMatch(res.output, /openssl|new key|generate/i);
  });

  test('the key file lost: refuses to start rather than make a new key', async () => {
    unlinkSync(keyFile());
    const res = await runCli(['serve'], env());
    assert.equal(res.code, 1, res.output);
    assert.equal(res.output.trim().split('\n').length, 1, res.output);
    assert.match(res.output, /^This database's PII values are encrypted with the key of fingerprint [0-9a-f]{16}, and no key was given: give that key in the key file .*encryption\.key \(restore it from your backup\)/);
    assert.throws(() => statSync(keyFile()), /ENOENT/);
  });
});

describe('rotating the encryption key (PROPDICT_ENCRYPTION_KEY_PREVIOUS)', () => {
  let dir: string;
  let server: ServerProcess | undefined;
  const oldKey = '11'.repeat(32);
  const newKey = '22'.repeat(32);
  const env = (key: string, previous = '') => ({ DATABASE_URL: `sqlite:${join(dir, 'rotate.db')}`, PROPDICT_ENCRYPTION_KEY: key, PROPDICT_ENCRYPTION_KEY_PREVIOUS: previous });
  const PROFILES = 2000;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'propdict-rotate-'));
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('values are re-encrypted by a job with progress; reads, writes and equality searches work throughout; a crash mid-rotation resumes', async () => {
    server = await startServer(env(oldKey));
    const t = await tenancy(server.url);
    const ws = `/v1/workspaces/${t.workspaceId}`;
    const ssn = await call(server.url, 'POST', `${ws}/properties`, { token: t.token, body: { name: 'ssn', data_type: 'string', pii: true, unique: true, identity: { role: 'primary', priority: 1 } } });
    assert.equal(ssn.status, 201, ssn.raw);
    for (let from = 0; from < PROFILES; from += 1000) {
      const inputs = Array.from({ length: 1000 }, (_, i) => ({ id: `p${from + i}`, properties: { ssn: `S-${from + i}`, first_name: `N${from + i}` } }));
      const batch = await call(server.url, 'POST', `${ws}/profiles/batch`, { token: t.token, body: { inputs } });
      assert.equal(batch.status, 200, batch.raw.slice(0, 300));
    }
    await server.stop();

    // The new key, with the old one as the previous: a rotate_key job per workspace.
    server = await startServer(env(newKey, oldKey));
    const jobPath = /progress at (\/v1\/workspaces\/\d+\/jobs\/\S+)/.exec(server.output())?.[1];
    assert.ok(jobPath, server.output());
    const during = async () => {
      const read = await call(server!.url, 'GET', `${ws}/profiles/p7`, { token: t.token });
      assert.equal(read.status, 200, read.raw);
      assert.equal(read.body.properties.ssn, 'S-7');
      const found = await call(server!.url, 'GET', `${ws}/profiles?filter[ssn][eq]=S-1999`, { token: t.token });
      assert.deepEqual(found.body.data.map((p: { id: string }) => p.id), ['p1999'], found.raw);
      // A record matched by its identity, whichever key its blind index is under.
      const batch = await call(server!.url, 'POST', `${ws}/profiles/batch`, { token: t.token, body: { inputs: [{ properties: { ssn: 'S-1998', first_name: 'Again' } }] } });
      assert.deepEqual(batch.body.results[0], { index: 0, status: 'updated', id: 'p1998' }, batch.raw);
      const taken = await call(server!.url, 'PUT', `${ws}/profiles/other`, { token: t.token, body: { properties: { ssn: 'S-1997' } } });
      assert.equal(taken.status, 409, taken.raw);
    };
    await during();
    // A crash: killed mid-rotation (or just after), then started again with both keys.
    server.child.kill('SIGKILL');
    await server.exited;
    server = await startServer(env(newKey, oldKey));
    await during();
    const job = await (async () => {
      for (const deadline = Date.now() + 120_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
        const res = await call(server!.url, 'GET', jobPath, { token: t.token });
        assert.equal(res.status, 200, res.raw);
        assert.equal(res.body.type, 'rotate_key');
        if (res.body.status === 'done') return res.body;
      }
      throw new Error('the rotation did not finish');
    })();
    assert.equal(job.progress.done, job.progress.total);
    await during();
    await server.stop();

    // Done: the previous key is no longer needed, and no longer accepted as the key.
    server = await startServer(env(newKey));
    await during();
    await server.stop();
    const old = await runCli(['serve'], env(oldKey));
    assert.equal(old.code, 1, old.output);
    assert.match(old.output, new RegExp(`fingerprint ${keyFingerprint(Buffer.from(oldKey, 'hex'))}, but .* fingerprint ${keyFingerprint(Buffer.from(newKey, 'hex'))}`));
  });
});
