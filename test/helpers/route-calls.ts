// How to call every route of every surface with a valid request, for the suites that check all
// of them (common-routes.test.ts, front-door.test.ts).
import type { Fixture, SurfaceCase } from './common-route-tests.ts';
import { hcl, lineworks, native, ocamba } from './surfaces.ts';

const ws = (f: Fixture) => `/v1/workspaces/${f.a.workspaceId}`;
const tenant = (f: Fixture) => `/v1/tenants/${f.a.tenantId}`;
const W = '/v1/workspaces/:ws';
const T = '/v1/tenants/:tenant_id';

export const nativeCase: SurfaceCase = {
  surface: native,
  calls: [
    { route: 'POST /v1/tenants', url: () => '/v1/tenants', payload: () => ({ name: 'x' }) },
    { route: 'GET /v1/tenants', url: () => '/v1/tenants' },
    { route: `GET ${T}`, url: tenant, isolation: 'tenant' },
    { route: `POST ${T}/workspaces`, url: (f) => `${tenant(f)}/workspaces`, payload: () => ({ name: 'x' }), isolation: 'tenant' },
    { route: `GET ${T}/workspaces`, url: (f) => `${tenant(f)}/workspaces`, isolation: 'tenant' },
    { route: `POST ${T}/api-keys`, url: (f) => `${tenant(f)}/api-keys`, payload: () => ({ name: 'x', scopes: ['properties:read'] }), isolation: 'tenant' },
    { route: `GET ${T}/api-keys`, url: (f) => `${tenant(f)}/api-keys`, isolation: 'tenant' },
    { route: `DELETE ${T}/api-keys/:key_id`, url: (f) => `${tenant(f)}/api-keys/${f.spareKeyId}`, isolation: 'tenant' },
    { route: 'GET /v1/me', url: () => '/v1/me', isolation: 'own' },
    { route: `GET ${W}/properties`, url: (f) => `${ws(f)}/properties` },
    { route: `POST ${W}/properties`, url: (f) => `${ws(f)}/properties`, payload: () => ({ name: 'new_one', data_type: 'string' }) },
    { route: `POST ${W}/properties/batch`, url: (f) => `${ws(f)}/properties/batch`, payload: () => ({ inputs: [{ name: 'new_two', data_type: 'string' }] }) },
    { route: `GET ${W}/properties/:name`, url: (f) => `${ws(f)}/properties/${f.property}` },
    { route: `PATCH ${W}/properties/:name`, url: (f) => `${ws(f)}/properties/${f.property}`, payload: () => ({ description: 'x' }) },
    { route: `DELETE ${W}/properties/:name`, url: (f) => `${ws(f)}/properties/${f.property}` },
    { route: `DELETE ${W}/properties/:name`, url: (f) => `${ws(f)}/properties/${f.property}?purge=true` },
    { route: `POST ${W}/properties/:name/restore`, url: (f) => `${ws(f)}/properties/${f.property}/restore` },
    { route: `GET ${W}/properties/:name/history`, url: (f) => `${ws(f)}/properties/${f.property}/history` },
    { route: `POST ${W}/properties/:name/changes/preview`, url: (f) => `${ws(f)}/properties/${f.property}/changes/preview`, payload: () => ({ data_type: 'text' }) },
    { route: `POST ${W}/properties/:name/changes`, url: (f) => `${ws(f)}/properties/${f.property}/changes`, payload: () => ({ data_type: 'text', on_failure: 'abort' }) },
    { route: `GET ${W}/limits`, url: (f) => `${ws(f)}/limits` },
    { route: `GET ${W}/jobs/:id`, url: (f) => `${ws(f)}/jobs/${f.jobId}` },
    { route: `GET ${W}/sources`, url: (f) => `${ws(f)}/sources` },
    { route: `POST ${W}/sources`, url: (f) => `${ws(f)}/sources`, payload: () => ({ name: 'src' }) },
    { route: `GET ${W}/sources/:id`, url: (f) => `${ws(f)}/sources/1` },
    { route: `PATCH ${W}/sources/:id`, url: (f) => `${ws(f)}/sources/1`, payload: () => ({ priority: 2 }) },
    { route: `DELETE ${W}/sources/:id`, url: (f) => `${ws(f)}/sources/1` },
    { route: `POST ${W}/sources/:id/records`, url: (f) => `${ws(f)}/sources/1/records`, payload: () => ({ records: [{}] }) },
    { route: `POST ${W}/sources/:id/write-keys`, url: (f) => `${ws(f)}/sources/1/write-keys` },
    { route: `GET ${W}/sources/:id/write-keys`, url: (f) => `${ws(f)}/sources/1/write-keys` },
    { route: `DELETE ${W}/sources/:id/write-keys/:key_id`, url: (f) => `${ws(f)}/sources/1/write-keys/wk_none` },
    { route: `GET ${W}/violations`, url: (f) => `${ws(f)}/violations` },
    { route: `GET ${W}/profiles`, url: (f) => `${ws(f)}/profiles` },
    { route: `POST ${W}/profiles`, url: (f) => `${ws(f)}/profiles`, payload: () => ({ properties: {} }) },
    { route: `POST ${W}/profiles/batch`, url: (f) => `${ws(f)}/profiles/batch`, payload: () => ({ inputs: [{ properties: {} }] }) },
    { route: `GET ${W}/profiles/:id`, url: (f) => `${ws(f)}/profiles/fixture` },
    { route: `PUT ${W}/profiles/:id`, url: (f) => `${ws(f)}/profiles/fixture`, payload: () => ({ properties: {} }) },
    { route: `PATCH ${W}/profiles/:id`, url: (f) => `${ws(f)}/profiles/fixture`, payload: () => ({ properties: {} }) },
    { route: `DELETE ${W}/profiles/:id`, url: (f) => `${ws(f)}/profiles/fixture` },
    { route: `GET ${W}/profiles/export`, url: (f) => `${ws(f)}/profiles/export` },
    // A JSON body meets the checks every route makes; the file itself is sent as text/csv.
    { route: `POST ${W}/imports`, url: (f) => `${ws(f)}/imports`, payload: () => ({}) },
    { route: `GET ${W}/imports`, url: (f) => `${ws(f)}/imports` },
    { route: `GET ${W}/imports/:id`, url: (f) => `${ws(f)}/imports/imp_none` },
    { route: `POST ${W}/imports/:id/cancel`, url: (f) => `${ws(f)}/imports/imp_none/cancel` },
    { route: `GET ${W}/imports/:id/errors`, url: (f) => `${ws(f)}/imports/imp_none/errors` },
  ],
};

const OCAMBA = '/ocamba/v1/hood/profile-properties';
export const ocambaCase: SurfaceCase = {
  surface: ocamba,
  // Ocamba names no workspace: every caller acts on its own, where property ids are its own too.
  calls: [
    { route: `GET ${OCAMBA}`, url: () => OCAMBA, isolation: 'own' },
    { route: `POST ${OCAMBA}`, url: () => OCAMBA, payload: () => ({ label: 'new_one', data_type: 'text' }), isolation: 'own' },
    { route: `GET ${OCAMBA}/:id`, url: (f) => `${OCAMBA}/${f.propertyId}`, isolation: 'own' },
    { route: `PATCH ${OCAMBA}/:id`, url: (f) => `${OCAMBA}/${f.propertyId}`, payload: () => ({ description: 'x' }), isolation: 'own' },
    { route: `DELETE ${OCAMBA}/:id`, url: (f) => `${OCAMBA}/${f.propertyId}`, isolation: 'own' },
  ],
};

const HCL = '/hcl/api/campaign-data-dictionary';
export const hclCase: SurfaceCase = {
  surface: hcl,
  calls: [
    { route: `POST ${HCL}`, url: () => HCL, payload: (f) => ({ campaignId: f.a.workspaceId, dmpDataPointCode: 'new_one', dataType: 'STRING' }) },
    { route: `PUT ${HCL}`, url: () => HCL, payload: (f) => ({ campaignId: f.a.workspaceId, dmpDataPointCode: f.property, dataType: 'STRING' }) },
    { route: `GET ${HCL}/campaignId/:campaignId`, url: (f) => `${HCL}/campaignId/${f.a.workspaceId}` },
    { route: `DELETE ${HCL}/campaignId/:campaignId/dataPoint/:dmpDataPointCode`, url: (f) => `${HCL}/campaignId/${f.a.workspaceId}/dataPoint/${f.property}` },
  ],
};

const LW = '/lineworks/v1.0/contacts/custom-properties';
export const lineworksCase: SurfaceCase = {
  surface: lineworks,
  calls: [
    { route: `GET ${LW}`, url: (f) => `${LW}?domainId=${f.a.workspaceId}` },
    {
      route: `POST ${LW}`,
      url: () => LW,
      payload: (f) => ({ domainId: f.a.workspaceId, propertyName: 'new_one', displayName: 'New one', propertyType: 'STRING' }),
    },
    { route: `GET ${LW}/:customPropertyId`, url: (f) => `${LW}/${f.propertyUid}?domainId=${f.a.workspaceId}` },
    { route: `PATCH ${LW}/:customPropertyId`, url: (f) => `${LW}/${f.propertyUid}?domainId=${f.a.workspaceId}`, payload: () => ({ displayName: 'x' }) },
    { route: `DELETE ${LW}/:customPropertyId`, url: (f) => `${LW}/${f.propertyUid}?domainId=${f.a.workspaceId}` },
  ],
};

export const ALL_SURFACES = [nativeCase, ocambaCase, hclCase, lineworksCase];
