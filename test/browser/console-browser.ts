// Drives the console in a real headless Chromium (the system's, /usr/bin/chromium) against a real
// server process on SQLite: the suite's server, tenancy and browser (consoleSuite), the page, its
// axe-core scan, its screenshots and what it must not run. The /docs page test launches the same
// Chromium.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { call, startServer, tenancy, type ServerProcess } from '../helpers/process.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Screenshots go into docs/console/ when CONSOLE_SCREENSHOTS=1 (to refresh the docs), else a temporary folder. */
export const SHOTS = process.env.CONSOLE_SCREENSHOTS === '1' ? join(import.meta.dirname, '..', '..', 'docs', 'console') : mkdtempSync(join(tmpdir(), 'console-shots-'));

export function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH.`);
  // Root on a CI machine: Chromium's sandbox needs user namespaces that containers often lack.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

export interface ConsolePage {
  page: Page;
  /** Console errors and uncaught page errors so far (a CSP refusal shows up here). */
  problems: string[];
  close(): Promise<void>;
}

export async function openConsole(browser: Browser, base: string, options: { locale?: string; viewport?: { width: number; height: number } } = {}): Promise<ConsolePage> {
  const context = await browser.newContext({ baseURL: base, locale: options.locale ?? 'en-GB', timezoneId: 'Europe/Paris', viewport: options.viewport ?? { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // 4xx answers the console expects (a refused save) are logged by Chromium as failed loads.
    // and a request made while a test has taken the browser offline.
    const expected = /Failed to load resource: (the server responded with a status of 4\d\d|net::ERR_INTERNET_DISCONNECTED)/;
    if (message.type() === 'error' && !expected.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  await page.goto('/console/');
  return { page, problems, close: () => context.close() };
}

export async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('API key or operator token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Workspaces' }).waitFor();
}

/** axe-core on the page as it is now: no serious or critical violation. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  // Evaluated through DevTools, so the page's Content-Security-Policy does not apply to it.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, options: object): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${screen}: ${JSON.stringify(bad, null, 1)}`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Moves to a console path the way a person does from the address bar (a full load). */
export async function visit(page: Page, path: string, heading: string | RegExp): Promise<void> {
  await page.goto(`/console${path}`);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

// SQLite in CI; CONSOLE_TEST_DATABASE_URL=postgres://... (an empty database) runs it on PostgreSQL by hand.
const DATABASE = process.env.CONSOLE_TEST_DATABASE_URL;
/** The database the console suites run on, for their titles. */
export const DATABASE_NAME = DATABASE?.startsWith('postgres') ? 'postgres' : 'sqlite';

/**
 * What every console suite shares, set up by the `before` and torn down by the `after` it
 * registers (call it in the suite's describe, before its own hooks): a server process, a tenancy
 * on it (read `tenancy()` in a hook or test), a Chromium; `open` a console page, which
 * `expectClean` then checks and closes.
 */
export function consoleSuite(name: string) {
  const folder = join(tmpdir(), `${name}-${randomBytes(4).toString('hex')}`);
  let server: ServerProcess;
  let browser: Browser;
  let base: string;
  let ws: number;
  let tenant: number;
  let token: string;
  const opened: ConsolePage[] = [];

  before(async () => {
    server = await startServer(
      DATABASE ? { DATABASE_URL: DATABASE, PROPDICT_ENCRYPTION_KEY: '07'.repeat(32) } : { DATABASE_URL: `sqlite:${join(folder, 'propdict.db')}` },
    );
    base = server.url;
    ({ workspaceId: ws, tenantId: tenant, token } = await tenancy(base));
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  return {
    tenancy: () => ({ base, ws, tenant, token }),
    api: (method: string, path: string, body?: unknown, as = token) => call(base, method, path, { token: as, body }),
    wsPath: () => `/v1/workspaces/${ws}`,
    async open(options: Parameters<typeof openConsole>[2] = {}): Promise<Page> {
      const c = await openConsole(browser, base, options);
      opened.push(c);
      return c.page;
    },
    /** Every page a test opened: no CSP refusal, no uncaught error, nothing injected ran. */
    async expectClean(): Promise<void> {
      for (const c of opened.splice(0)) {
        const ran = await c.page.evaluate(() => (window as unknown as { __xss?: number }).__xss).catch(() => undefined);
        assert.equal(ran, undefined, 'a stored payload ran');
        assert.deepEqual(c.problems, [], 'the page logged errors');
        await c.close();
      }
    },
  };
}
