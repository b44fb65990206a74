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
