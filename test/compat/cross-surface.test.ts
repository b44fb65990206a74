// One core, four presentations: a property created on any surface reads correctly on the
// other three, and a change made on one is seen by all.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTenancy, createTestApp, expectStatus, type Tenancy, type TestApp } from '../helpers/app.ts';
import { dialects } from '../helpers/dialects.ts';

const WS = 4242;

for (const dialect of dialects) {
  describe(`one property, four surfaces [${dialect.name}]`, () => {
    let t: TestApp;
    let a: Tenancy;

    before(async () => {
      t = await createTestApp(dialect, { config: { lineworks: { perMinute: 240, maxCustomProperties: 50 } } });
      // The key reaches one workspace, so it is the Ocamba company and the LINE WORKS domain alike.
      a = await createTenancy(t, 'Cross', WS);
    });
    after(() => t.close());

    const native = (name: string) => t.request({ method: 'GET', url: `/v1/workspaces/${WS}/properties/${name}`, token: a.token });
    const ocambaList = () => t.request({ method: 'GET', url: '/ocamba/v1/hood/profile-properties?page=1,1000', token: a.token });
    const hclList = () => t.request({ method: 'GET', url: `/hcl/api/campaign-data-dictionary/campaignId/${WS}`, token: null, headers: { authkey: a.token } });
    const lineworksGet = (ref: string) => t.request({ method: 'GET', url: `/lineworks/v1.0/contacts/custom-properties/${ref}?domainId=${WS}`, token: a.token });

    test('created natively: every surface shows it in its own shape', async () => {
      const created = await t.request({
        method: 'POST',
        url: `/v1/workspaces/${WS}/properties`,
        token: a.token,
        payload: {
          name: 'ext_id',
          display_name: 'External ID',
          data_type: 'string',
          description: 'Id in the CRM',
          export_alias: 'external_id',
          pii: true,
          identity: { role: 'secondary', priority: 2 },
          i18n_display_names: { en_US: 'external id' },
          display_order: 3,
        },
      });
      expectStatus(created, 201);
      const p = created.body;

      const ocamba = await ocambaList();
      expectStatus(ocamba, 200);
      const item = ocamba.body.items.find((i: { label: string }) => i.label === 'ext_id');
      assert.deepEqual(
        { ...item, create_time: undefined, update_time: undefined },
        {
          id: String(p.id),
          company_id: String(WS),
          target: 'ext_id',
          label: 'ext_id',
          data_type: 'text',
          example: '',
          description: 'Id in the CRM',
          import_aliases: ['external_id'],
          export_alias: 'external_id',
          pi_data: 1,
          system: 0,
          importable: 1,
          exportable: 1,
          create_time: undefined,
          update_time: undefined,
        },
      );
      assert.match(item.create_time, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

      const hcl = await hclList();
      expectStatus(hcl, 200);
      assert.deepEqual(
        hcl.body.find((i: { dmpDataPointCode: string }) => i.dmpDataPointCode === 'ext_id'),
        { id: p.id, campaignId: WS, dmpDataPointCode: 'ext_id', dataType: 'STRING', preference: 'sec', priority: 2, mergeFunction: 'UPDATE', isProfileField: 1, metadata: '{}' },
      );

      for (const ref of [p.uid, 'ext_id']) {
        const lw = await lineworksGet(ref);
        expectStatus(lw, 200);
        assert.deepEqual(lw.body, {
          domainId: WS,
          customPropertyId: p.uid,
          propertyName: 'ext_id',
          displayName: 'External ID',
          i18nDisplayNames: [{ language: 'en_US', name: 'external id' }],
          propertyType: 'STRING',
          displayOrder: 3,
          multiValued: false,
        });
      }
    });

    test('created on Ocamba: read natively, on HCL and on LINE WORKS', async () => {
      const res = await t.request({
        method: 'POST',
        url: '/ocamba/v1/hood/profile-properties',
        token: a.token,
        payload: { label: 'my_region', data_type: 'text', example: 'northern_europe', export_alias: 'region_name', pi_data: 0, importable: 1, exportable: 0 },
      });
      expectStatus(res, 201);
      const n = await native('my_region');
      expectStatus(n, 200);
      assert.deepEqual(
        { data_type: n.body.data_type, example: n.body.example, export_alias: n.body.export_alias, import_aliases: n.body.import_aliases, pii: n.body.pii, exportable: n.body.exportable, id: String(n.body.id) },
        { data_type: 'string', example: 'northern_europe', export_alias: 'region_name', import_aliases: ['region_name'], pii: false, exportable: false, id: res.body.id },
      );
      expectStatus(await hclList(), 200);
      assert.ok((await hclList()).body.some((i: { dmpDataPointCode: string; dataType: string }) => i.dmpDataPointCode === 'my_region' && i.dataType === 'STRING'));
      const lw = await lineworksGet('my_region');
      expectStatus(lw, 200);
      assert.equal(lw.body.customPropertyId, n.body.uid);
      assert.equal(lw.body.displayName, 'my_region');
    });

    test('created on HCL: read natively, on Ocamba and on LINE WORKS', async () => {
      const res = await t.request({
        method: 'POST',
        url: '/hcl/api/campaign-data-dictionary',
        token: null,
        headers: { authkey: a.token },
        payload: { campaignId: WS, dmpDataPointCode: 'loyalty_points', dataType: 'NUMBER', preference: 'none', priority: 1, mergeFunction: 'SUM' },
      });
      expectStatus(res, 200);
      assert.equal(res.body.message, `User property 'loyalty_points' has been successfully created for Tenant ${a.tenantId}.`);
      const n = await native('loyalty_points');
      expectStatus(n, 200);
      assert.deepEqual([n.body.data_type, n.body.merge_function, n.body.identity], ['number', 'sum', { role: 'none', priority: 1 }]);
      const ocamba = await ocambaList();
      assert.equal(ocamba.body.items.find((i: { label: string }) => i.label === 'loyalty_points')?.data_type, 'number');
      const lw = await lineworksGet('loyalty_points');
      expectStatus(lw, 200);
      assert.equal(lw.body.propertyType, 'STRING', 'LINE WORKS names no number type; listed under STRING');
    });

    test('created on LINE WORKS: read natively, on Ocamba and on HCL', async () => {
      const res = await t.request({
        method: 'POST',
        url: '/lineworks/v1.0/contacts/custom-properties',
        token: a.token,
        payload: { domainId: WS, propertyName: 'homepage', displayName: 'Homepage', propertyType: 'LINK', displayOrder: 1, multiValued: true },
      });
      expectStatus(res, 201);
      const n = await native(res.body.customPropertyId);
      expectStatus(n, 200);
      assert.deepEqual([n.body.name, n.body.data_type, n.body.multi_valued, n.body.display_order], ['homepage', 'link', true, 1]);
      const item = (await ocambaList()).body.items.find((i: { label: string }) => i.label === 'homepage');
      assert.equal(item?.data_type, 'text');
      const hcl = (await hclList()).body.find((i: { dmpDataPointCode: string }) => i.dmpDataPointCode === 'homepage');
      assert.equal(hcl?.dataType, 'STRING');
    });

    test('a change on one surface is seen on the others; a vendor delete frees the name everywhere', async () => {
      const patch = await t.request({ method: 'PATCH', url: `/lineworks/v1.0/contacts/custom-properties/ext_id?domainId=${WS}`, token: a.token, payload: { displayName: 'CRM id' } });
      expectStatus(patch, 200);
      expectStatus(await t.request({ method: 'PATCH', url: `/ocamba/v1/hood/profile-properties/${(await native('ext_id')).body.id}`, token: a.token, payload: { description: 'From Ocamba' } }), 204);
      const put = await t.request({
        method: 'PUT',
        url: '/hcl/api/campaign-data-dictionary',
        token: null,
        headers: { authkey: a.token },
        payload: { campaignId: WS, dmpDataPointCode: 'ext_id', dataType: 'STRING', preference: 'pri', priority: 1, mergeFunction: 'UPDATE' },
      });
      expectStatus(put, 200);
      const n = await native('ext_id');
      assert.deepEqual([n.body.display_name, n.body.description, n.body.identity], ['CRM id', 'From Ocamba', { role: 'primary', priority: 1 }]);
      assert.equal(n.body.version, 4);

      const del = await t.request({ method: 'DELETE', url: `/hcl/api/campaign-data-dictionary/campaignId/${WS}/dataPoint/ext_id`, token: null, headers: { authkey: a.token } });
      expectStatus(del, 200);
      expectStatus(await native('ext_id'), 404);
      expectStatus(await lineworksGet('ext_id'), 404);
      const again = await t.request({ method: 'POST', url: `/v1/workspaces/${WS}/properties`, token: a.token, payload: { name: 'ext_id', data_type: 'string' } });
      expectStatus(again, 201);
    });
  });
}

for (const dialect of dialects) {
  describe(`a URL that cannot be decoded [${dialect.name}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(dialect);
    });
    after(() => t.close());

    const rows = [
      { url: '/v1/workspaces/%zz/properties', body: { error: { code: 'VALIDATION_FAILED', message: 'The request URL is not valid.', details: [{ field: 'url', problem: 'cannot be decoded' }] } } },
      { url: '/ocamba/v1/hood/profile-properties/%zz', body: { code: 400, title: 'Bad request.', message: 'The request URL is not valid.' } },
      { url: '/hcl/api/campaign-data-dictionary/campaignId/%zz', body: { error: 'Bad Request', message: 'The request URL is not valid.' } },
      { url: '/lineworks/v1.0/contacts/custom-properties/%zz', body: { code: 'INVALID_PARAMETER', description: 'The request URL is not valid.' } },
    ];
    for (const row of rows) {
      test(`${row.url} → 400 in that surface's envelope`, async () => {
        const res = await t.request({ method: 'GET', url: row.url });
        expectStatus(res, 400);
        // Request ids vary; everything else is exact.
        const native = typeof res.body.error === 'object';
        const { request_id: _r, ...nativeError } = native ? res.body.error : {};
        const { trace_id: _t, ...rest } = res.body;
        assert.deepEqual(native ? { error: nativeError } : rest, row.body);
      });
    }
  });
}
