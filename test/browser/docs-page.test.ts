// The /docs page in a real headless Chromium (the system's): it offers every surface's document,
// shows the search's placeholders (`filter[<property>][<op>]`) instead of eating them as HTML,
// and its "Try it out" sends the declared filter parameter as the server reads it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createTenancy, createTestApp, expectStatus, type Tenancy, type TestApp } from '../helpers/app.ts';
import { dialects } from '../helpers/dialects.ts';
import { launch } from './console-browser.ts';

for (const dialect of dialects) {
  describe(`the /docs page [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;
    let browser: Browser;
    let page: Page;

    before(async () => {
      t = await createTestApp(dialect);
      a = await createTenancy(t);
      const ws = `/v1/workspaces/${a.workspaceId}`;
      expectStatus(await t.request({ method: 'POST', url: `${ws}/properties`, token: a.token, payload: { name: 'loyalty_tier', data_type: 'string', display_name: 'Tier' } }), 201);
      for (const [id, tier] of [['cust-1', 'gold'], ['cust-2', 'silver']]) {
        expectStatus(await t.request({ method: 'PUT', url: `${ws}/profiles/${id}`, token: a.token, payload: { properties: { loyalty_tier: tier } } }), 201);
      }
      const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
      browser = await launch();
      page = await browser.newPage({ baseURL: base });
      page.setDefaultTimeout(15_000);
      await page.goto('/docs/');
    });
    after(async () => {
      await browser?.close();
      await t.close();
    });

    test('a menu offers the five documents', async () => {
      const options = await Promise.all((await page.locator('select#select option').all()).map((option) => option.getAttribute('value')));
      assert.deepEqual(options, ['/openapi.json', '/ocamba/openapi.json', '/hcl/openapi.json', '/lineworks/openapi.json', '/segment/openapi.json']);
    });

    test('the search description shows its placeholders and the scope it needs', async () => {
      const search = page.locator('#operations-profiles-searchProfiles');
      await search.locator('.opblock-summary-control').click();
      const text = await search.locator('.opblock-description-wrapper').innerText();
      assert.match(text, /^filter\[<property>\]\[<op>\]=<value> with <op> one of eq ne/, text);
      assert.match(text, /sort=<property>,-<property>: up to \d keys/, text);
      assert.match(text, /Needs the profiles:read scope\.$/, text);
    });

    test('"Try it out" with a key and a filter sends filter[<property>][<op>] and gets the matching profiles', async () => {
      await page.locator('button.authorize').first().click();
      await page.locator('#auth-bearer-value').fill(a.token);
      await page.locator('.modal-ux button.authorize').click();
      await page.locator('.modal-ux button.btn-done').click();

      const search = page.locator('#operations-profiles-searchProfiles');
      await search.getByRole('button', { name: 'Try it out' }).click();
      await search.locator('tr[data-param-name="ws"] input').fill(String(a.workspaceId));
      await search.locator('tr[data-param-name="filter"] textarea').fill('{"loyalty_tier][eq": "gold"}');
      // The page fills each parameter with its example; the sort example names other properties.
      await search.locator('tr[data-param-name="sort"] input').fill('');
      await search.getByRole('button', { name: 'Execute' }).click();
      await search.locator('.live-responses-table').waitFor();

      const url = new URL((await search.locator('.request-url pre').innerText()).trim());
      assert.equal(url.pathname, `/v1/workspaces/${a.workspaceId}/profiles`);
      assert.equal(url.searchParams.get('filter[loyalty_tier][eq]'), 'gold', url.href);
      assert.equal((await search.locator('.live-responses-table tbody .response-col_status').first().innerText()).trim(), '200');
      const body = JSON.parse(await search.locator('.live-responses-table tbody .response-col_description pre').first().innerText()) as { data: { id: string }[]; next_cursor: unknown };
      assert.deepEqual([body.data.map((p) => p.id), body.next_cursor], [['cust-1'], null]);
    });
  });
}
