// How /console is served, on a built folder made here: cache headers, the CSP, the app for deep
// links, a missing asset as 404, and a server whose console is not built saying what to run.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { CONSOLE_CSP, consoleRoutes } from '../src/http/console.ts';

const INDEX = '<!doctype html><title>console</title><script type="module" src="/console/assets/index-abc123.js"></script>';

describe('serving /console', () => {
  const root = mkdtempSync(join(tmpdir(), 'console-dist-'));
  let built: FastifyInstance;
  let unbuilt: FastifyInstance;

  before(async () => {
    mkdirSync(join(root, 'dist', 'assets'), { recursive: true });
    writeFileSync(join(root, 'dist', 'index.html'), INDEX);
    writeFileSync(join(root, 'dist', 'assets', 'index-abc123.js'), 'console.log(1)');
    built = Fastify();
    await built.register(consoleRoutes, { root: join(root, 'dist') });
    unbuilt = Fastify();
    await unbuilt.register(consoleRoutes, { root: join(root, 'nothing') });
  });
  after(async () => {
    await built.close();
    await unbuilt.close();
    rmSync(root, { recursive: true, force: true });
  });

  const cases = [
    { title: 'the app', url: '/console', status: 200, cache: 'no-cache', body: INDEX },
    { title: 'the app with a slash', url: '/console/', status: 200, cache: 'no-cache', body: INDEX },
    { title: 'a deep link', url: '/console/w/7/properties/email/history', status: 200, cache: 'no-cache', body: INDEX },
    { title: 'a hashed asset', url: '/console/assets/index-abc123.js', status: 200, cache: 'public, max-age=31536000, immutable', body: 'console.log(1)' },
  ];
  for (const c of cases) {
    test(`${c.title}: ${c.status}, ${c.cache}, the CSP`, async () => {
      const res = await built.inject({ method: 'GET', url: c.url });
      assert.equal(res.statusCode, c.status, res.body);
      assert.equal(res.body, c.body);
      assert.equal(res.headers['cache-control'], c.cache);
      assert.equal(res.headers['content-security-policy'], CONSOLE_CSP);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
    });
  }

  test('the CSP allows nothing from elsewhere and no inline code', () => {
    assert.match(CONSOLE_CSP, /default-src 'self'/);
    assert.doesNotMatch(CONSOLE_CSP, /unsafe-|https?:|\*|blob:/);
  });

  test('a missing asset is a 404 in the native envelope, not the app', async () => {
    const res = await built.inject({ method: 'GET', url: '/console/assets/index-old.js' });
    assert.equal(res.statusCode, 404, res.body);
    assert.equal(res.json().error.code, 'NOT_FOUND');
  });

  test('not built: 503 naming the command that builds it', async () => {
    const res = await unbuilt.inject({ method: 'GET', url: '/console/w/1/properties' });
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.json().error.code, 'UNAVAILABLE');
    assert.match(res.json().error.message, /npm run build:console/);
  });
});
