// The admin console in a real Chromium against a real server process on SQLite: every screen
// through the public API, scanned by axe-core, and nothing stored in the data ever runs as code.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { OPERATOR } from '../helpers/process.ts';
import { consoleSuite, DATABASE_NAME, expectAccessible, screenshot, signIn, visit } from './console-browser.ts';

const TYPES = ['string', 'text', 'number', 'integer', 'boolean', 'date', 'datetime', 'link', 'email', 'phone', 'enum', 'json'] as const;
const XSS = ['<script>window.__xss = 1</script>', '"><img src=x onerror="window.__xss = 2">'];

describe(`admin console in Chromium [${DATABASE_NAME}]`, () => {
  const suite = consoleSuite('console');
  const { api, wsPath, open, expectClean } = suite;
  let base: string;
  let ws: number;
  let tenant: number;
  let token: string;
  before(() => void ({ base, ws, tenant, token } = suite.tenancy()));

  test('sign in: a wrong key is refused beside the field, the right one opens the workspaces', async () => {
    const page = await open();
    await page.getByRole('heading', { level: 1, name: 'Sign in to the propdict console' }).waitFor();
    await expectAccessible(page, 'sign in');
    await screenshot(page, 'sign-in');
    await page.getByLabel('API key or operator token').fill('pd_wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#f-token-errors').getByText('This key is not accepted').waitFor();
    assert.equal(await page.getByLabel('API key or operator token').getAttribute('aria-invalid'), 'true');

    // Keyboard only: the field, then Enter.
    await page.getByLabel('API key or operator token').fill('');
    await page.getByLabel('API key or operator token').focus();
    await page.keyboard.type(token);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Workspaces' }).waitFor();
    await page.getByRole('row', { name: /faults/ }).waitFor();
    await expectAccessible(page, 'workspaces');
    await screenshot(page, 'workspaces');
    // The token is in sessionStorage only.
    const stored = await page.evaluate(() => ({ session: Object.values(sessionStorage), local: Object.values(localStorage), cookie: document.cookie }));
    assert.deepEqual(stored, { session: [token], local: [], cookie: '' });
    await expectClean();
  });

  test('the operator token signs in and sees tenants', async () => {
    const page = await open();
    await signIn(page, OPERATOR);
    await page.getByText('Faults').first().click();
    await page.getByRole('link', { name: `Properties of faults` }).waitFor();
    await expectAccessible(page, 'workspaces (operator)');
    // The operator manages one tenant's keys at a time.
    await page.getByRole('link', { name: 'API keys of Faults' }).click();
    await page.getByRole('heading', { level: 1, name: `API keys tenant ${tenant}` }).waitFor();
    await page.getByRole('row', { name: /^all / }).waitFor();
    await expectClean();
  });

  test('define a property of each type, with enum options (added, reordered, hidden) and validation', async () => {
    const page = await open();
    await signIn(page, token);
    for (const type of TYPES) {
      await visit(page, `/w/${ws}/properties/new`, 'New property');
      await page.getByLabel('Name (the key)').fill(`p_${type}`);
      await page.getByLabel('Display name', { exact: true }).fill(`P ${type}`);
      await page.getByLabel('Type').selectOption(type);
      if (type === 'enum') {
        for (const [value, label] of [['silver', 'Silver'], ['gold', 'Gold'], ['retired', 'Retired']]) {
          await page.getByRole('button', { name: 'Add option' }).click();
          const n = await page.locator('.option-row').count();
          await page.getByLabel(`Value of option ${n}`).fill(value);
          await page.getByLabel(`Label of option ${n}`).fill(label);
        }
        await page.getByRole('button', { name: 'Move gold up' }).click();
        await page.locator('.option-row').nth(2).getByLabel('Hidden').check();
        await page.getByRole('button', { name: 'Add a language' }).click();
        await page.getByLabel('Language tag 1').fill('fr_FR');
        await page.getByLabel('Name in that language 1').fill('Niveau');
        await expectAccessible(page, 'property editor (enum)');
        await screenshot(page, 'property-editor');
      }
      if (type === 'string') {
        await page.getByLabel('Longest length').fill('40');
        await page.getByLabel('Pattern (regular expression)').fill('^[a-z ]+$');
        await page.getByLabel('Identity role').selectOption('secondary');
        await page.getByLabel('Identity priority (1 is tried first)').fill('2');
      }
      if (type === 'integer') {
        await page.getByLabel('Minimum').fill('0');
        await page.getByLabel('Maximum').fill('100');
        // Only what an integer takes is offered.
        assert.deepEqual(await page.getByLabel('Merge function').locator('option').allTextContents(), ['update', 'keep', 'sum', 'min', 'max']);
        await page.getByLabel('Merge function').selectOption('sum');
      }
      if (type === 'boolean') assert.deepEqual(await page.getByLabel('Merge function').locator('option').allTextContents(), ['update', 'keep']);
      if (type === 'email') await page.getByLabel('PII: values encrypted at rest and masked without pii:read').check();
      await page.getByRole('button', { name: 'Create property' }).click();
      await page.getByRole('heading', { level: 1, name: type === 'enum' ? /Niveau|P enum/ : `P ${type}` }).waitFor();
    }
    // The name is shown as immutable once created; multi-valued changes only with its stored values.
    assert.equal(await page.getByLabel('Name (the key)').getAttribute('readonly'), '');
    await page.locator('#f-multi_valued-hint').getByText('Changing it converts the stored values: preview the change below.').waitFor();

    const list = await api('GET', `${wsPath()}/properties?q=p_&limit=100`);
    assert.equal(list.status, 200, list.raw);
    const byName = Object.fromEntries(list.body.data.map((p: { name: string }) => [p.name, p]));
    assert.deepEqual(TYPES.filter((t) => !byName[`p_${t}`]), [], list.raw);
    assert.deepEqual(byName.p_enum.options, [
      { value: 'gold', label: 'Gold', display_order: 1, hidden: false },
      { value: 'silver', label: 'Silver', display_order: 2, hidden: false },
      { value: 'retired', label: 'Retired', display_order: 3, hidden: true },
    ]);
    assert.deepEqual(byName.p_enum.i18n_display_names, { fr_FR: 'Niveau' });
    assert.deepEqual([byName.p_string.validation, byName.p_string.identity], [{ max_length: 40, pattern: '^[a-z ]+$' }, { role: 'secondary', priority: 2 }]);
    assert.deepEqual([byName.p_integer.validation, byName.p_integer.merge_function], [{ minimum: 0, maximum: 100 }, 'sum']);
    assert.equal(byName.p_email.pii, true);

    await visit(page, `/w/${ws}/properties`, /Properties/);
    await page.getByRole('link', { name: 'P string' }).waitFor();
    await expectAccessible(page, 'properties');
    await screenshot(page, 'properties');
    // Filters: type and PII.
    await page.getByLabel('Type').selectOption('email');
    await page.getByLabel('PII', { exact: true }).selectOption('yes');
    await page.getByRole('link', { name: 'P email' }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1);
    await page.getByLabel('Type').selectOption('');
    await page.getByLabel('PII', { exact: true }).selectOption('');
    await page.getByLabel('Search name, display name, description').fill('zzz nothing');
    await page.getByText('No property matches these filters').waitFor();
    await expectAccessible(page, 'properties (empty)');

    await visit(page, `/w/${ws}/limits`, /Limits/);
    await page.getByText(`Custom properties: ${TYPES.length} used of 1,000 allowed`).waitFor();
    await expectAccessible(page, 'limits');
    await expectClean();
  });

  test('every problem the API finds is shown beside its field, at once', async () => {
    const page = await open();
    await signIn(page, token);
    await visit(page, `/w/${ws}/properties/new`, 'New property');
    await page.getByLabel('Name (the key)').fill('1 bad name');
    await page.getByLabel('Display order').fill('0');
    await page.getByRole('button', { name: 'Create property' }).click();
    await page.locator('#f-name-errors').getByText('must be letters, digits and _').waitFor();
    await page.locator('#f-display_order-errors').waitFor();
    assert.equal(await page.getByLabel('Name (the key)').getAttribute('aria-invalid'), 'true');
    await page.getByRole('alert').getByText('2 problems are shown beside their fields').waitFor();

    // A rule the API checks beyond the schema: a pattern that is not a regular expression.
    await page.getByLabel('Name (the key)').fill('good_name');
    await page.getByLabel('Display order').fill('');
    await page.getByLabel('Pattern (regular expression)').fill('([a-z');
    await page.getByRole('button', { name: 'Create property' }).click();
    await page.locator('#f-validation_pattern-errors').getByText('is not a valid regular expression').waitFor();
    await expectAccessible(page, 'property editor with errors');
    await screenshot(page, 'field-errors');
    await expectClean();
  });

  test('a save over someone else\'s change is refused (If-Match) and explained, with a reload', async () => {
    const page = await open();
    await signIn(page, token);
    await visit(page, `/w/${ws}/properties/p_string`, 'P string');
    await page.getByLabel('Description').fill('typed in the console');
    const other = await api('PATCH', `${wsPath()}/properties/p_string`, { description: 'saved elsewhere' });
    assert.equal(other.status, 200, other.raw);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('this property was changed by someone else while you edited it').waitFor();
    await page.getByText(/You opened version 1; it is now version 2/).waitFor();
    await expectAccessible(page, 'conflict');
    await screenshot(page, 'conflict');
    await page.getByRole('button', { name: /Reload the property/ }).click();
    await page.waitForFunction(() => (document.getElementById('f-description') as HTMLTextAreaElement).value === 'saved elsewhere');
    // Now the save goes through, and history shows both versions with their diff.
    await page.getByLabel('Description').fill('then changed here');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').getByText('Saved: now version 3.').waitFor();
    await page.getByRole('link', { name: 'History' }).click();
    await page.getByRole('heading', { level: 2, name: 'Version 3: updated' }).waitFor();
    const diff = page.locator('.history-entry').last().getByRole('row', { name: /description/ });
    assert.match(await diff.innerText(), /saved elsewhere\s+then changed here/);
    await expectAccessible(page, 'history');
    await screenshot(page, 'history');
    await expectClean();
  });

  test('archive and restore after confirming; purge for good with live job progress', async () => {
    const page = await open();
    await signIn(page, token);
    await visit(page, `/w/${ws}/properties/p_text`, 'P text');
    await page.getByRole('button', { name: 'Archive' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('its values are kept').waitFor();
    await expectAccessible(page, 'archive dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await api('GET', `${wsPath()}/properties/p_text`)).body.archived, false);
    await page.getByRole('button', { name: 'Archive' }).click();
    await dialog.getByRole('button', { name: 'Archive' }).click();
    await page.getByText('Archived: hidden from lists').waitFor();
    assert.equal((await api('GET', `${wsPath()}/properties/p_text`)).body.archived, true);

    await visit(page, `/w/${ws}/properties`, /Properties/);
    await page.getByLabel('Archived ones instead').check();
    await page.getByRole('link', { name: 'P text' }).click();
    await page.getByRole('button', { name: 'Restore' }).click();
    await page.getByText('Restored.').waitFor();
    assert.equal((await api('GET', `${wsPath()}/properties/p_text`)).body.archived, false);

    // Purge: the name must be typed; the job's progress shows until it is done.
    const seeded = await api('POST', `${wsPath()}/profiles/batch`, { inputs: Array.from({ length: 30 }, (_, i) => ({ id: `j${i}`, properties: { p_json: { n: i } } })) });
    assert.equal(seeded.status, 200, seeded.raw);
    await visit(page, `/w/${ws}/properties/p_json`, 'P json');
    await page.getByRole('button', { name: 'Purge for good' }).click();
    assert.equal(await dialog.getByRole('button', { name: 'Purge' }).isDisabled(), true);
    await dialog.getByLabel('Type p_json to confirm').fill('p_json');
    await dialog.getByRole('button', { name: 'Purge' }).click();
    await page.getByText(/purge property: (queued|running|done)/).waitFor();
    await page.getByText('Purged: the definition and every value are gone').waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('progress').getAttribute('value'), await page.locator('progress').getAttribute('max'));
    assert.equal((await api('GET', `${wsPath()}/properties/p_json`)).status, 404);
    await expectClean();
  });

  test('profiles: a search with two typed filters, paging, one profile with provenance, PII masked without pii:read', async () => {
    const source = await api('POST', `${wsPath()}/sources`, { name: 'crm', priority: 1 });
    assert.equal(source.status, 201, source.raw);
    const inputs = Array.from({ length: 40 }, (_, i) => ({
      id: `c${String(i).padStart(2, '0')}`,
      properties: { p_integer: i, p_enum: i % 2 ? 'gold' : 'silver', p_email: `c${i}@example.com`, p_date: `2026-01-${String((i % 28) + 1).padStart(2, '0')}` },
      source: 'crm',
    }));
    const batch = await api('POST', `${wsPath()}/profiles/batch`, { inputs });
    assert.equal(batch.status, 200, batch.raw);
    assert.deepEqual(batch.body.results.filter((r: { status: string }) => r.status === 'rejected'), [], batch.raw);

    const page = await open();
    await signIn(page, token);
    await visit(page, `/w/${ws}/profiles`, /Profiles/);
    await page.getByRole('button', { name: 'Add a filter' }).click();
    await page.getByLabel('Property of filter 1').selectOption('p_integer');
    // An integer offers ordering operators and a number input.
    assert.ok((await page.getByLabel('Operator of filter 1').locator('option').allTextContents()).includes('at least'));
    await page.getByLabel('Operator of filter 1').selectOption('gte');
    assert.equal(await page.getByLabel('Value of filter 1').getAttribute('type'), 'number');
    await page.getByLabel('Value of filter 1').fill('10');
    await page.getByRole('button', { name: 'Add a filter' }).click();
    await page.getByLabel('Property of filter 2').selectOption('p_enum');
    // An enum: equality only, and its options to choose from.
    assert.deepEqual(await page.getByLabel('Operator of filter 2').locator('option').allTextContents(), ['is', 'is not', 'is one of', 'has a value']);
    await page.getByLabel('Value of filter 2').selectOption('gold');
    await page.getByLabel('Sort by').selectOption('p_integer');
    await page.getByLabel('Descending').check();
    await page.getByLabel('Results per page').selectOption('10');
    await page.getByRole('button', { name: 'Search' }).click();
    // 15 odd numbers from 11 to 39, highest first, 10 a page; the enum shows its label.
    await page.getByRole('link', { name: 'c39' }).waitFor();
    const ids = () => page.locator('tbody th').allTextContents();
    const expected = Array.from({ length: 15 }, (_, i) => `c${39 - 2 * i}`);
    assert.deepEqual(await ids(), expected.slice(0, 10));
    assert.match(await page.getByRole('row', { name: /c39/ }).innerText(), /39\s+Gold/);
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByRole('link', { name: 'c19' }).waitFor();
    assert.deepEqual(await ids(), expected.slice(10));
    assert.equal(await page.getByRole('button', { name: 'Next page' }).isDisabled(), true);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByRole('link', { name: 'c39' }).waitFor();
    await expectAccessible(page, 'profiles');
    await screenshot(page, 'profiles');

    // A value the filter cannot take is refused beside that filter.
    await page.getByLabel('Operator of filter 1').selectOption('in');
    await page.getByLabel('Value of filter 1').fill('11, eleven');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('.filter-row').first().locator('.field-errors').getByText('must be a number').waitFor();

    await visit(page, `/w/${ws}/profiles/c07`, /Profile/);
    const row = page.getByRole('row', { name: /P email/ });
    assert.match(await row.innerText(), /c7@example\.com\s+crm/);
    await expectAccessible(page, 'profile');
    await screenshot(page, 'profile');

    // A key without pii:read: the value is ***, and the screen says why.
    const reader = await api('POST', `/v1/tenants/${tenant}/api-keys`, { name: 'reader', scopes: ['properties:read', 'profiles:read'] });
    const masked = await open();
    await signIn(masked, reader.body.token);
    await visit(masked, `/w/${ws}/profiles/c07`, /Profile/);
    assert.match(await masked.getByRole('row', { name: /P email/ }).innerText(), /\*\*\*/);
    await masked.getByText('PII values show as *** because this key does not have the pii:read scope').waitFor();
    // What the key may not do is off, with the reason.
    await masked.getByText('API keys (needs admin)').waitFor();
    await visit(masked, `/w/${ws}/properties`, /Properties/);
    await masked.getByText('New property (this key does not have the properties:write scope)').waitFor();
    await visit(masked, `/w/${ws}/properties/p_string`, 'P string');
    assert.equal(await masked.getByLabel('Description').isDisabled(), true);
    await expectAccessible(masked, 'read-only editor');

    // A key with profiles:read alone: search still works, untyped, and the page says why filters are off.
    const only = await api('POST', `/v1/tenants/${tenant}/api-keys`, { name: 'profiles only', scopes: ['profiles:read'] });
    const bare = await open();
    await signIn(bare, only.body.token);
    await visit(bare, `/w/${ws}/profiles`, /Profiles/);
    await bare.getByText('filters (which are typed by the property definitions) are off').waitFor();
    assert.equal(await bare.getByRole('button', { name: 'Add a filter' }).isDisabled(), true);
    await bare.getByRole('button', { name: 'Search' }).click();
    await bare.getByRole('link', { name: 'c00' }).waitFor();
    assert.match(await bare.getByRole('row', { name: /^c00/ }).innerText(), /\*\*\*/);
    await expectAccessible(bare, 'profiles without properties:read');
    await expectClean();
  });

  test('API keys: create one (its token shown once), list, revoke after confirming', async () => {
    const page = await open();
    await signIn(page, token);
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { level: 1, name: /API keys/ }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('nightly import');
    await page.getByLabel('profiles:write').check();
    // A problem the API finds is shown beside its field: a workspace id no key can name.
    await page.getByLabel('Workspaces (ids, separated by commas)').fill('0');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.locator('#f-workspace_ids-errors').waitFor();
    await page.getByLabel('Workspaces (ids, separated by commas)').fill('');
    await page.getByLabel('Requests per minute').fill('600');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = await page.getByLabel('Token', { exact: true }).inputValue();
    assert.match(shown, /^pd_/);
    assert.equal((await api('GET', '/v1/me', undefined, shown)).status, 200);
    await page.getByRole('button', { name: 'I have copied it' }).click();
    assert.equal(await page.getByLabel('Token', { exact: true }).count(), 0);
    assert.match(await page.getByRole('row', { name: /nightly import/ }).innerText(), /properties:read, profiles:write\s+all\s+600\/min/);
    await expectAccessible(page, 'keys');
    await screenshot(page, 'keys');
    await page.getByRole('button', { name: 'Revoke nightly import' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await page.getByText(/Key nightly import \(key_[^)]+\) is revoked/).waitFor();
    await page.getByRole('row', { name: /nightly import/ }).waitFor({ state: 'detached' });
    assert.equal((await api('GET', '/v1/me', undefined, shown)).status, 401);
    await expectClean();
  });

  test('a lost connection says so and keeps what was typed', async () => {
    const page = await open();
    await signIn(page, token);
    await visit(page, `/w/${ws}/properties/p_phone`, 'P phone');
    await page.getByLabel('Description').fill('typed while offline');
    await page.context().setOffline(true);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('alert').getByText('The server cannot be reached').waitFor();
    assert.equal(await page.getByLabel('Description').inputValue(), 'typed while offline');
    await page.context().setOffline(false);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Saved: now version 2.').waitFor();
    assert.equal((await api('GET', `${wsPath()}/properties/p_phone`)).body.description, 'typed while offline');
    await expectClean();
  });

  test('keyboard only: visible focus, a confirmation dialog opened and cancelled with keys', async () => {
    const page = await open();
    await signIn(page, token);
    await visit(page, `/w/${ws}/properties/p_date`, 'P date');
    // The skip link comes first, and focus is drawn.
    await page.keyboard.press('Tab');
    const first = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      return { text: el.textContent, outline: getComputedStyle(el).outlineStyle, width: getComputedStyle(el).outlineWidth };
    });
    assert.deepEqual(first, { text: 'Skip to content', outline: 'solid', width: '3px' });
    await page.getByRole('button', { name: 'Archive' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.closest('dialog') !== null), true, 'focus moves into the dialog');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    assert.equal((await api('GET', `${wsPath()}/properties/p_date`)).body.archived, false);
    // Options are reordered by keyboard too.
    await visit(page, `/w/${ws}/properties/p_enum`, /Niveau|P enum/);
    await page.getByRole('button', { name: 'Move silver up' }).focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.getByLabel('Value of option 1').inputValue(), 'silver');
    await expectClean();
  });

  test('paging through hundreds of properties, filtered by group', async () => {
    // A workspace of its own, so the other tests' lists stay short.
    const other = await api('POST', `/v1/tenants/${tenant}/workspaces`, { name: 'bulk' });
    assert.equal(other.status, 201, other.raw);
    const bulkWs = other.body.id as number;
    for (let batch = 0; batch < 3; batch++) {
      const inputs = Array.from({ length: 100 }, (_, i) => ({ name: `bulk_${String(batch * 100 + i).padStart(3, '0')}`, data_type: 'string', group: 'bulk' }));
      const res = await api('POST', `/v1/workspaces/${bulkWs}/properties/batch`, { inputs: batch === 2 ? inputs.slice(0, 60) : inputs });
      assert.equal(res.status, 201, res.raw);
    }
    const page = await open();
    await signIn(page, token);
    await visit(page, `/w/${bulkWs}/properties`, /Properties/);
    await page.getByLabel('Group').fill('bulk');
    // The unfiltered first page holds bulk_000 too (after the system properties): wait for the filtered one.
    await page.waitForFunction(() => document.querySelector('tbody td code')?.textContent === 'bulk_000', undefined, { timeout: 10_000 });
    const names = async () => page.locator('tbody td code').allTextContents();
    const seen: string[] = [...(await names())];
    for (let n = 2; n <= 6; n++) {
      await page.getByRole('button', { name: 'Next page' }).click();
      await page.getByText(`Page ${n}`, { exact: true }).waitFor();
      await page.getByRole('link', { name: `bulk_${String((n - 1) * 50).padStart(3, '0')}` }).waitFor();
      seen.push(...(await names()));
    }
    assert.deepEqual(seen, Array.from({ length: 260 }, (_, i) => `bulk_${String(i).padStart(3, '0')}`));
    assert.equal(await page.getByRole('button', { name: 'Next page' }).isDisabled(), true);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByRole('link', { name: 'bulk_200' }).waitFor();
    await expectClean();
  });

  test('a revoked sign-in key says so and keeps what was typed', async () => {
    const key = await api('POST', `/v1/tenants/${tenant}/api-keys`, { name: 'short lived', scopes: ['properties:read', 'properties:write'] });
    const page = await open();
    await signIn(page, key.body.token);
    await visit(page, `/w/${ws}/properties/p_link`, 'P link');
    await page.getByLabel('Description').fill('not lost');
    assert.equal((await api('DELETE', `/v1/tenants/${tenant}/api-keys/${key.body.id}`)).status, 204);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: 'Your key is no longer accepted' }).waitFor();
    await expectAccessible(page, 'sign in again over a screen');
    await page.getByLabel('API key or operator token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Your key is no longer accepted' }).waitFor({ state: 'detached' });
    assert.equal(await page.getByLabel('Description').inputValue(), 'not lost');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText(/Saved: now version 2/).waitFor();
    await expectClean();
  });

  test('stored <script> and "><img onerror> in names, labels, descriptions, option labels and profile values never run', async () => {
    const [script, img] = XSS;
    const created = await api('POST', `${wsPath()}/properties`, {
      name: 'xss_prop',
      display_name: script,
      i18n_display_names: { en_GB: img },
      description: img + script,
      group: img,
      data_type: 'enum',
      options: [{ value: 'a', label: script }, { value: 'b', label: img }],
    });
    assert.equal(created.status, 201, created.raw);
    const text = await api('POST', `${wsPath()}/properties`, { name: 'xss_text', display_name: img, data_type: 'string' });
    assert.equal(text.status, 201, text.raw);
    const profile = await api('PUT', `${wsPath()}/profiles/xss1`, { properties: { xss_text: script + img, xss_prop: 'b' } });
    assert.ok([200, 201].includes(profile.status), profile.raw);
    const key = await api('POST', `/v1/tenants/${tenant}/api-keys`, { name: img, scopes: ['properties:read'] });
    assert.equal(key.status, 201, key.raw);

    const page = await open();
    await signIn(page, token);
    const noMarkup = async (where: string) => {
      const found = await page.evaluate(() => ({
        images: document.querySelectorAll('img').length,
        inlineScripts: document.querySelectorAll('script:not([src])').length,
        handlers: [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => a.name.startsWith('on'))).length,
      }));
      assert.deepEqual(found, { images: 0, inlineScripts: 0, handlers: 0 }, where);
    };
    await visit(page, `/w/${ws}/properties`, /Properties/);
    await page.getByText(img, { exact: true }).first().waitFor(); // the i18n name, shown as text
    await noMarkup('properties');
    await visit(page, `/w/${ws}/properties/xss_prop`, img);
    assert.equal(await page.getByLabel('Label of option 1').inputValue(), script);
    await noMarkup('editor');
    await visit(page, `/w/${ws}/profiles`, /Profiles/);
    await page.getByRole('button', { name: 'Add a filter' }).click();
    await page.getByLabel('Property of filter 1').selectOption('xss_text');
    await page.getByLabel('Operator of filter 1').selectOption('exists');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText(script + img).waitFor();
    await noMarkup('profiles');
    await visit(page, '/w/' + ws + '/profiles/xss1', /Profile/);
    await page.getByText(script + img).waitFor();
    await noMarkup('profile');
    await visit(page, '/keys', /API keys/);
    await page.getByRole('row', { name: img }).waitFor();
    await noMarkup('keys');
    // A payload in the URL is not shown as markup either.
    await page.goto(`/console/w/${ws}/properties/${encodeURIComponent(img)}`);
    await page.getByText(`Property ${img} not found`).or(page.getByRole('alert')).first().waitFor();
    await noMarkup('url');
    await expectClean();
  });

  test("display names in the browser's language, dates in its locale and time zone", async () => {
    const page = await open({ locale: 'fr-FR' });
    await signIn(page, token);
    await visit(page, `/w/${ws}/properties`, /Properties/);
    // p_enum has {fr_FR: "Niveau"}; a French browser shows it.
    const row = page.getByRole('row', { name: /Niveau/ });
    await row.waitFor();
    const stored = await api('GET', `${wsPath()}/properties/p_enum`);
    const expected = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'Europe/Paris' }).format(new Date(stored.body.updated_at));
    assert.match(await row.innerText(), new RegExp(expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await expectClean();
  });

  test('readable at 200% zoom: no screen scrolls sideways at 640 CSS pixels', async () => {
    const page = await open({ viewport: { width: 640, height: 900 } });
    await signIn(page, token);
    for (const [path, heading] of [
      ['/workspaces', 'Workspaces'],
      [`/w/${ws}/properties`, /Properties/],
      [`/w/${ws}/properties/p_enum`, /Niveau|P enum/],
      [`/w/${ws}/profiles/c07`, /Profile/],
      ['/keys', /API keys/],
    ] as const) {
      await visit(page, path, heading);
      const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      assert.ok(scroll <= client, `${path}: ${scroll} px wide in a ${client} px window`);
    }
    await expectClean();
  });

  test('deep links load the app; assets are cached for good, the page never, under a strict CSP', async () => {
    const deep = await fetch(`${base}/console/w/${ws}/properties/p_string/history`);
    assert.equal(deep.status, 200);
    assert.equal(deep.headers.get('cache-control'), 'no-cache');
    const csp = deep.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:|\*/);
    const html = await deep.text();
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, html);
    assert.doesNotMatch(html, /<script>(?!<)/, 'no inline script');
    const asset = await fetch(base + script);
    assert.equal(asset.status, 200);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const missing = await fetch(`${base}/console/assets/nope.js`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
    const index = (await (await fetch(`${base}/`)).json()) as { console: string };
    assert.equal(index.console, '/console');
  });
});
