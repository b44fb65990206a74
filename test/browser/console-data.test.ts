// The console's import, export and safe-change screens in a real Chromium against a real server
// process on SQLite: files uploaded and downloaded for real, jobs run by the server itself.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import type { Download, Page } from 'playwright-core';
import { consoleSuite, DATABASE_NAME, expectAccessible, screenshot, signIn, visit } from './console-browser.ts';

// Headers another tool wrote: Email_Address and FirstName reach system properties through their
// import aliases, Subscription reaches ours through its alias, Seats and Note by name (names and
// aliases match whatever their case); the colour maps to nothing. Row 2 is bad.
const CONTACTS = [
  'Email_Address,FirstName,Subscription,Seats,Note,Favourite colour',
  'ana@example.com,Ana,pro,12,likes tea,blue',
  'bo@example.com,Bo,free,three,,green',
  'cy@example.com,Cy,pro,3,night owl,red',
  '',
].join('\n');

describe(`console: import, export, safe changes in Chromium [${DATABASE_NAME}]`, () => {
  const suite = consoleSuite('console-data');
  const { api, wsPath, open, expectClean } = suite;
  let ws: number;
  let tenant: number;
  let token: string;

  const downloaded = async (page: Page, click: () => Promise<void>): Promise<{ name: string; text: string }> => {
    const [download]: [Download, void] = await Promise.all([page.waitForEvent('download'), click()]);
    return { name: download.suggestedFilename(), text: readFileSync(await download.path(), 'utf8') };
  };
  const keyWith = async (scopes: string[]) => {
    const key = await api('POST', `/v1/tenants/${tenant}/api-keys`, { name: scopes.join(' '), scopes });
    assert.equal(key.status, 201, key.raw);
    return key.body.token as string;
  };

  before(async () => {
    ({ ws, tenant, token } = suite.tenancy());
    for (const body of [
      { name: 'plan', data_type: 'enum', options: [{ value: 'free' }, { value: 'pro' }], import_aliases: ['Subscription'] },
      { name: 'seats', data_type: 'integer', import_aliases: ['Seats'] },
      { name: 'note', data_type: 'string', pii: true, import_aliases: ['Note'] },
    ]) {
      const res = await api('POST', `${wsPath()}/properties`, body);
      assert.equal(res.status, 201, res.raw);
    }
  });

  test('import a CSV through import aliases: the mapping, a dry run, the import with its counts, the rejected row read and downloaded', async () => {
    const page = await open();
    await signIn(page, token);
    await visit(page, `/w/${ws}/imports`, /^Imports/);
    await page.getByText('No import yet').waitFor();
    await expectAccessible(page, 'imports (empty)');

    // Nothing chosen: said beside the file field.
    await page.getByRole('button', { name: 'Dry run (writes nothing)' }).click();
    await page.locator('#f-file-errors').getByText('Choose a file first').waitFor();
    assert.equal(await page.getByLabel('File (CSV or NDJSON)').getAttribute('aria-invalid'), 'true');

    // A file the API cannot read: its words beside the file field.
    await page.getByLabel('File (CSV or NDJSON)').setInputFiles({ name: 'broken.csv', mimeType: 'text/csv', buffer: Buffer.from('email,seats\n"ana@example.com,1\n') });
    await page.getByRole('button', { name: 'Dry run (writes nothing)' }).click();
    await page.locator('#f-file-errors').getByText(/The file is not valid CSV at line \d+/).waitFor();
    assert.equal(await page.getByLabel('File (CSV or NDJSON)').getAttribute('aria-invalid'), 'true');

    await page.getByLabel('File (CSV or NDJSON)').setInputFiles({ name: 'contacts.csv', mimeType: 'text/csv', buffer: Buffer.from(CONTACTS) });
    await page.getByRole('button', { name: 'Dry run (writes nothing)' }).click();
    await page.getByRole('status').filter({ hasText: `Uploaded: ${CONTACTS.length} of ${CONTACTS.length} bytes` }).waitFor();
    await page.getByRole('heading', { level: 2, name: /^Dry run imp_/ }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Rows checked: done (3 of 3)' }).waitFor();
    const counts = async () =>
      Object.fromEntries(await page.locator('td[data-count]').evaluateAll((cells) => cells.map((c) => [c.getAttribute('data-count'), Number(c.textContent)])));
    assert.deepEqual(await counts(), { created: 2, updated: 0, merged: 0, unchanged: 0, rejected: 1 });
    // The columns as the API mapped them.
    const mapping = await page.locator('table', { has: page.getByText('Columns: where each goes') }).locator('tbody tr').allInnerTexts();
    assert.deepEqual(
      mapping.map((r) => r.split('\t').map((c) => c.trim())),
      [
        ['Email_Address', 'email', 'by import alias'],
        ['FirstName', 'first_name', 'by import alias'],
        ['Subscription', 'plan', 'by import alias'],
        ['Seats', 'seats', 'by name'],
        ['Note', 'note', 'by name'],
        ['Favourite colour', '—', 'skipped: no property has this name or import alias'],
      ],
    );
    const none = await api('GET', `${wsPath()}/profiles`);
    assert.equal(none.status, 200, none.raw);
    assert.deepEqual(none.body.data, [], 'a dry run writes nothing');

    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByRole('heading', { level: 2, name: /^Import imp_/ }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Rows written: done (3 of 3)' }).waitFor();
    assert.deepEqual(await counts(), { created: 2, updated: 0, merged: 0, unchanged: 0, rejected: 1 });
    // The rejected row, read on the page.
    const report = page.locator('table', { has: page.getByText('problem in the rejected rows') });
    await report.waitFor();
    assert.deepEqual(
      (await report.locator('tr').allInnerTexts()).map((r) => r.split('\t').map((c) => c.trim())),
      [
        ['row', 'column', 'property', 'problem', 'value'],
        ['2', 'Seats', 'seats', 'must be a number (got "three")', 'three'],
      ],
    );
    await page.getByRole('row', { name: /^Dry run imp_/ }).waitFor();
    await page.getByRole('row', { name: /^Import imp_/ }).waitFor();
    await expectAccessible(page, 'imports (done)');
    await screenshot(page, 'import');

    // The downloaded report is the API's, byte for byte.
    const id = (await page.getByRole('heading', { level: 2, name: /^Import imp_/ }).innerText()).split(' ')[1];
    const file = await downloaded(page, () => page.getByRole('button', { name: 'Download the error report (CSV)' }).click());
    const served = await api('GET', `${wsPath()}/imports/${id}/errors`);
    assert.equal(served.status, 200, served.raw);
    assert.equal(file.name, `${id}-errors.csv`);
    assert.equal(file.text, served.raw);
    assert.match(file.text, /^row,column,property,problem,value\n2,Seats,seats,"must be a number \(got ""three""\)",three\n$/);

    const written = await api('GET', `${wsPath()}/profiles?filter[email][eq]=ana@example.com`);
    assert.equal(written.status, 200, written.raw);
    assert.deepEqual([written.body.data.length, written.body.data[0].properties.seats, written.body.data[0].properties.plan], [1, 12, 'pro']);

    // A past import opened from the list, by its own address too.
    await visit(page, `/w/${ws}/imports/${id}`, `Import ${id}`);
    await page.getByRole('status').filter({ hasText: 'Rows written: done (3 of 3)' }).waitFor();
    await expectAccessible(page, 'one import');
    await expectClean();
  });

  test('a key without profiles:write cannot upload, and says why', async () => {
    const page = await open();
    await signIn(page, await keyWith(['properties:read', 'profiles:read']));
    await visit(page, `/w/${ws}/imports`, /^Imports/);
    await page.getByText('This key does not have the profiles:write scope').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Dry run (writes nothing)' }).isDisabled(), true);
    await page.getByRole('row', { name: /^Import imp_/ }).waitFor();
    await expectAccessible(page, 'imports (read-only key)');
    await expectClean();
  });

  test('export the profiles a search chooses, as CSV and NDJSON; PII only when asked, and only with pii:read', async () => {
    const page = await open();
    await signIn(page, token);
    await visit(page, `/w/${ws}/profiles`, /^Profiles/);
    await page.getByRole('button', { name: 'Add a filter' }).click();
    await page.getByLabel('Property of filter 1').selectOption('plan');
    await page.getByLabel('Value of filter 1').selectOption('pro');
    await expectAccessible(page, 'profiles with export');
    await screenshot(page, 'export');

    const csv = await downloaded(page, () => page.getByRole('button', { name: 'Download the export' }).click());
    await page.getByRole('status').filter({ hasText: 'Exported 2 profiles' }).waitFor();
    assert.equal(csv.name, `profiles-workspace-${ws}.csv`);
    const [header, ...lines] = csv.text.trim().split('\n');
    const columns = header.split(',');
    assert.equal(columns[0], 'id');
    assert.ok(!columns.includes('note'), 'PII left out by default');
    const at = (line: string, column: string) => line.split(',')[columns.indexOf(column)];
    assert.deepEqual(lines.map((l) => [at(l, 'email'), at(l, 'plan'), at(l, 'seats')]).sort(), [
      ['ana@example.com', 'pro', '12'],
      ['cy@example.com', 'pro', '3'],
    ]);

    await page.getByLabel('File format').selectOption('ndjson');
    await page.getByLabel('Include PII properties').check();
    const ndjson = await downloaded(page, () => page.getByRole('button', { name: 'Download the export' }).click());
    assert.equal(ndjson.name, `profiles-workspace-${ws}.ndjson`);
    const records = ndjson.text.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(records.map((r) => [r.email, r.seats, r.note]).sort(), [
      ['ana@example.com', 12, 'likes tea'],
      ['cy@example.com', 3, 'night owl'],
    ]);

    // A filter value the API refuses is shown beside that filter.
    await page.getByLabel('Property of filter 1').selectOption('seats');
    await page.getByLabel('Operator of filter 1').selectOption({ label: 'at least' });
    await page.getByLabel('Value of filter 1').fill('1e999');
    await page.getByRole('button', { name: 'Download the export' }).click();
    await page.locator('.filter-row .field-errors').first().waitFor();
    await expectClean();

    // Without pii:read the PII choice is off, with the reason.
    const reader = await open();
    await signIn(reader, await keyWith(['properties:read', 'profiles:read']));
    await visit(reader, `/w/${ws}/profiles`, /^Profiles/);
    assert.equal(await reader.getByLabel('Include PII properties').isDisabled(), true);
    await reader.getByText('Off: this key does not have the pii:read scope').waitFor();
    const plain = await downloaded(reader, () => reader.getByRole('button', { name: 'Download the export' }).click());
    assert.ok(!plain.text.split('\n')[0].split(',').includes('note'));
    assert.equal(plain.text.trim().split('\n').length, 3, 'every profile (two were imported): a header and two rows');
    await expectClean();
  });

  test('a type change (string to integer): the save refused, the preview, abort changes nothing, clear converts', async () => {
    const created = await api('POST', `${wsPath()}/properties`, { name: 'points', data_type: 'string' });
    assert.equal(created.status, 201, created.raw);
    const batch = await api('POST', `${wsPath()}/profiles/batch`, {
      inputs: [{ properties: { email: 'p1@example.com', points: '120' } }, { properties: { email: 'p2@example.com', points: ' 75 ' } }, { properties: { email: 'p3@example.com', points: 'lots' } }],
    });
    assert.equal(batch.status, 200, batch.raw);
    const ids: string[] = batch.body.results.map((r: { id: string }) => r.id);

    const page = await open();
    await signIn(page, token);
    await visit(page, `/w/${ws}/properties/points`, 'points');
    await page.getByLabel('Type', { exact: true }).selectOption('integer');
    await page.getByRole('button', { name: 'Save changes' }).click();
    // The PATCH is refused (values are stored); the console offers the change instead.
    await page.getByRole('alert').getByText(/data_type cannot change by PATCH while 3 profiles hold values/).waitFor();
    await page.getByRole('button', { name: 'Preview this change' }).click();
    await page.getByRole('heading', { level: 2, name: 'Change points with its stored values' }).waitFor();
    // Focus moves to the change once it has been drawn (an effect, after the paint).
    await page.waitForFunction(() => document.activeElement?.id === 'change-title', undefined, { timeout: 10_000 });
    const counts = page.locator('.preview-counts');
    await counts.waitFor();
    assert.deepEqual(await counts.locator('dd').allInnerTexts(), ['3', '2', '1']);
    assert.deepEqual((await page.getByRole('row', { name: /^data_type/ }).innerText()).split('\t').map((c) => c.trim()), ['data_type', 'string', 'integer']);
    assert.deepEqual((await page.getByRole('row', { name: ids[2] }).innerText()).split('\t').map((c) => c.trim()), [ids[2], 'lots', 'is not a number']);
    await expectAccessible(page, 'change preview');
    await screenshot(page, 'change-preview');

    // Abort: one value fails, so nothing changes.
    await page.getByRole('button', { name: 'Apply the change' }).click();
    await page.getByRole('alert').getByText('1 of 3 values do not convert; nothing changed (on_failure: abort).').waitFor();
    const still = await api('GET', `${wsPath()}/properties/points`);
    assert.deepEqual([still.status, still.body.data_type, still.body.version], [200, 'string', 1], still.raw);

    // Clear: confirmed first, then the job to the end; the values converted.
    await page.getByLabel('Clear: remove the values that fail from their profiles').check();
    await page.getByRole('button', { name: 'Apply the change' }).click();
    await page.getByRole('dialog', { name: 'Clear 1 value of points?' }).waitFor();
    await page.getByRole('button', { name: 'Apply and clear' }).click();
    await page.getByRole('status').filter({ hasText: '2 values converted, 1 cleared; the definition is at version 2.' }).waitFor();
    await page.getByText('version 2').first().waitFor();
    assert.equal(await page.getByLabel('Type', { exact: true }).inputValue(), 'integer');
    await expectAccessible(page, 'change applied');
    await screenshot(page, 'change-applied');

    const after = await Promise.all(ids.map((id) => api('GET', `${wsPath()}/profiles/${id}`)));
    assert.deepEqual(after.map((r) => [r.status, r.body.properties.points]), [[200, 120], [200, 75], [200, undefined]]);
    // The profile screen shows the converted number.
    await visit(page, `/w/${ws}/profiles/${ids[1]}`, /./);
    await page.getByRole('row', { name: /points/ }).getByText('75', { exact: true }).waitFor();
    await expectClean();
  });

  test('an identity role turned on over stored values goes through the change, which claims their keys', async () => {
    const created = await api('POST', `${wsPath()}/properties`, { name: 'member_no', data_type: 'string' });
    assert.equal(created.status, 201, created.raw);
    const batch = await api('POST', `${wsPath()}/profiles/batch`, {
      inputs: [{ properties: { email: 'm1@example.com', member_no: 'm-1' } }, { properties: { email: 'm2@example.com', member_no: 'm-2' } }],
    });
    assert.equal(batch.status, 200, batch.raw);
    const ids: string[] = batch.body.results.map((r: { id: string }) => r.id);

    const page = await open();
    await signIn(page, token);
    await visit(page, `/w/${ws}/properties/member_no`, 'member_no');
    await page.getByLabel('Identity role').selectOption('secondary');
    await page.getByLabel('Identity priority (1 is tried first)').fill('5');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('alert').getByText(/identity.role cannot be turned on by PATCH while 2 profiles hold values/).waitFor();
    await page.getByRole('button', { name: 'Preview this change' }).click();
    await page.getByRole('heading', { level: 2, name: 'Change member_no with its stored values' }).waitFor();
    await page.locator('.preview-counts').waitFor();
    assert.deepEqual(await page.locator('.preview-counts dd').allInnerTexts(), ['2', '2', '0']);
    await page.getByRole('button', { name: 'Apply the change' }).click();
    await page.getByRole('status').filter({ hasText: /the definition is at version 2/ }).waitFor();

    const property = await api('GET', `${wsPath()}/properties/member_no`);
    assert.deepEqual([property.status, property.body.identity], [200, { role: 'secondary', priority: 5 }], property.raw);
    // The stored values' keys were claimed: a record naming only m-2 finds its profile.
    const again = await api('POST', `${wsPath()}/profiles/batch`, { inputs: [{ properties: { member_no: 'm-2', seats: 3 } }] });
    assert.deepEqual([again.status, again.body.results[0].status, again.body.results[0].id], [200, 'updated', ids[1]], again.raw);
    await expectClean();
  });

  test('a narrowing that stored values break (an option removed) offers the change; a read-only key cannot apply it', async () => {
    // plan holds free (bo was rejected, so only pro is held): removing pro breaks two values.
    const page = await open();
    await signIn(page, token);
    await visit(page, `/w/${ws}/properties/plan`, 'plan');
    await page.getByRole('button', { name: 'Remove pro' }).click();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('alert').getByText(/This change would break stored values: 2 profiles hold values/).waitFor();
    await page.locator('#f-options-errors').getByText('2 profiles hold values this would refuse').waitFor();
    await page.getByRole('button', { name: 'Preview this change' }).click();
    await page.getByRole('heading', { level: 2, name: 'Change plan with its stored values' }).waitFor();
    await page.locator('.preview-counts').waitFor();
    assert.deepEqual(await page.locator('.preview-counts dd').allInnerTexts(), ['2', '0', '2']);
    await page.getByRole('button', { name: 'Close without changing' }).click();
    await expectClean();

    // properties:read only: the form is read-only, so no change can be started from it.
    const reader = await open();
    await signIn(reader, await keyWith(['properties:read', 'profiles:read']));
    await visit(reader, `/w/${ws}/properties/points`, 'points');
    await reader.getByText('This key can read definitions only').waitFor();
    assert.equal(await reader.getByRole('button', { name: /Preview/ }).count(), 0);
    await expectClean();
  });

  test('a running import is cancelled: it stops after the step under way, the rows written stay', async () => {
    const rows = 50_000;
    const csv = ['email,seats', ...Array.from({ length: rows }, (_, i) => `bulk${i}@example.com,${i}`)].join('\n');
    const page = await open();
    await signIn(page, token);
    await visit(page, `/w/${ws}/imports`, /^Imports/);
    await page.getByLabel('File (CSV or NDJSON)').setInputFiles({ name: 'bulk.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByRole('status').filter({ hasText: /Rows written: running/ }).waitFor();
    await page.getByRole('button', { name: 'Cancel this import' }).click();
    await page.getByRole('status').filter({ hasText: /Rows written: cancelled/ }).waitFor();
    const id = (await page.getByRole('heading', { level: 2, name: /^Import imp_/ }).innerText()).split(' ')[1];
    const imp = await api('GET', `${wsPath()}/imports/${id}`);
    assert.equal(imp.status, 200, imp.raw);
    assert.equal(imp.body.status, 'cancelled', imp.raw);
    assert.ok(imp.body.progress.rows_done < rows, imp.raw);
    assert.equal(Number((await page.locator('td[data-count="created"]').innerText()).replace(/,/g, '')), imp.body.counts.created);
    assert.equal(await page.getByRole('button', { name: 'Cancel this import' }).count(), 0);
    await expectAccessible(page, 'import cancelled');
    await expectClean();
  });

  test('stored <script> and "><img onerror> in a file\'s headers and cells are shown as text and never run', async () => {
    const bad = '"><img src=x onerror="window.__xss = 3">';
    const csv = `email,seats,"${bad.replace(/"/g, '""')}"\nx1@example.com,"${bad.replace(/"/g, '""')}",<script>window.__xss = 4</script>\n`;
    const page = await open();
    await signIn(page, token);
    await visit(page, `/w/${ws}/imports`, /^Imports/);
    await page.getByLabel('File (CSV or NDJSON)').setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Dry run (writes nothing)' }).click();
    await page.getByRole('status').filter({ hasText: 'Rows checked: done (1 of 1)' }).waitFor();
    await page.getByRole('row', { name: /skipped: no property/ }).getByText(bad).waitFor();
    await page.locator('table', { has: page.getByText('problem in the rejected rows') }).getByText(bad).first().waitFor();
    const found = await page.evaluate(() => ({ imgs: document.querySelectorAll('main img').length, ran: (window as unknown as { __xss?: number }).__xss }));
    assert.deepEqual(found, { imgs: 0, ran: undefined });
    await expectClean();
  });

  test('readable at 200% zoom: the imports and the export scroll not sideways at 640 CSS pixels', async () => {
    const page = await open({ viewport: { width: 640, height: 900 } });
    await signIn(page, token);
    const listed = await api('GET', `${wsPath()}/imports`);
    assert.equal(listed.status, 200, listed.raw);
    for (const [path, heading] of [
      [`/w/${ws}/imports`, /^Imports/],
      [`/w/${ws}/imports/${listed.body.data[0].id}`, /^Import imp_/],
      [`/w/${ws}/profiles`, /^Profiles/],
    ] as const) {
      await visit(page, path, heading);
      if (path.endsWith('/imports')) await page.getByRole('row', { name: /^Import imp_/ }).first().waitFor();
      const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      assert.ok(scroll <= client, `${path}: ${scroll} px wide in a ${client} px window`);
    }
    await expectClean();
  });
});
