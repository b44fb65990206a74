import { dialects } from './helpers/dialects.ts';
import { runCommonRouteTests, type RouteCase } from './helpers/common-route-tests.ts';

const ws = (f: { a: { workspaceId: number } }) => `/v1/workspaces/${f.a.workspaceId}`;
const tenant = (f: { a: { tenantId: number } }) => `/v1/tenants/${f.a.tenantId}`;

// Every native route. A new route is added here, or it ships without its security checks.
const routes: RouteCase[] = [
  { method: 'POST', url: () => '/v1/tenants', scope: 'operator', payload: { name: 'x' } },
  { method: 'GET', url: () => '/v1/tenants', scope: 'operator' },
  { method: 'GET', url: (f) => tenant(f), scope: 'admin' },
  { method: 'POST', url: (f) => `${tenant(f)}/workspaces`, scope: 'admin', payload: { name: 'x' } },
  { method: 'GET', url: (f) => `${tenant(f)}/workspaces`, scope: 'admin' },
  { method: 'POST', url: (f) => `${tenant(f)}/api-keys`, scope: 'admin', payload: { name: 'x', scopes: ['properties:read'] } },
  { method: 'GET', url: (f) => `${tenant(f)}/api-keys`, scope: 'admin' },
  { method: 'DELETE', url: (f) => `${tenant(f)}/api-keys/${f.spareKeyId}`, scope: 'admin' },
  { method: 'GET', url: (f) => `${ws(f)}/properties`, scope: 'properties:read' },
  { method: 'POST', url: (f) => `${ws(f)}/properties`, scope: 'properties:write', payload: { name: 'new_one', data_type: 'string' } },
  { method: 'POST', url: (f) => `${ws(f)}/properties/batch`, scope: 'properties:write', payload: { inputs: [{ name: 'new_two', data_type: 'string' }] } },
  { method: 'GET', url: (f) => `${ws(f)}/properties/${f.property}`, scope: 'properties:read' },
  { method: 'PATCH', url: (f) => `${ws(f)}/properties/${f.property}`, scope: 'properties:write', payload: { description: 'x' } },
  { method: 'DELETE', url: (f) => `${ws(f)}/properties/${f.property}`, scope: 'properties:write' },
  { method: 'DELETE', url: (f) => `${ws(f)}/properties/${f.property}?purge=true`, scope: 'properties:write' },
  { method: 'POST', url: (f) => `${ws(f)}/properties/${f.property}/restore`, scope: 'properties:write' },
  { method: 'GET', url: (f) => `${ws(f)}/properties/${f.property}/history`, scope: 'properties:read' },
  { method: 'GET', url: (f) => `${ws(f)}/limits`, scope: 'properties:read' },
  { method: 'GET', url: (f) => `${ws(f)}/jobs/${f.jobId}`, scope: 'properties:read' },
  { method: 'GET', url: (f) => `${ws(f)}/sources`, scope: 'properties:read' },
  { method: 'POST', url: (f) => `${ws(f)}/sources`, scope: 'properties:write', payload: { name: 'src' } },
  { method: 'GET', url: (f) => `${ws(f)}/sources/1`, scope: 'properties:read' },
  { method: 'PATCH', url: (f) => `${ws(f)}/sources/1`, scope: 'properties:write', payload: { priority: 2 } },
  { method: 'DELETE', url: (f) => `${ws(f)}/sources/1`, scope: 'properties:write' },
  { method: 'POST', url: (f) => `${ws(f)}/sources/1/records`, scope: 'profiles:write', payload: { records: [{}] } },
  { method: 'POST', url: (f) => `${ws(f)}/sources/1/write-keys`, scope: 'profiles:write' },
  { method: 'GET', url: (f) => `${ws(f)}/sources/1/write-keys`, scope: 'properties:read' },
  { method: 'DELETE', url: (f) => `${ws(f)}/sources/1/write-keys/wk_none`, scope: 'profiles:write' },
  { method: 'GET', url: (f) => `${ws(f)}/violations`, scope: 'properties:read' },
  { method: 'GET', url: (f) => `${ws(f)}/profiles`, scope: 'profiles:read' },
  { method: 'POST', url: (f) => `${ws(f)}/profiles`, scope: 'profiles:write', payload: { properties: {} } },
  { method: 'POST', url: (f) => `${ws(f)}/profiles/batch`, scope: 'profiles:write', payload: { inputs: [{ properties: {} }] } },
  { method: 'GET', url: (f) => `${ws(f)}/profiles/fixture`, scope: 'profiles:read' },
  { method: 'PUT', url: (f) => `${ws(f)}/profiles/fixture`, scope: 'profiles:write', payload: { properties: {} } },
  { method: 'PATCH', url: (f) => `${ws(f)}/profiles/fixture`, scope: 'profiles:write', payload: { properties: {} } },
  { method: 'DELETE', url: (f) => `${ws(f)}/profiles/fixture`, scope: 'profiles:write' },
];

for (const dialect of dialects) runCommonRouteTests(dialect, routes);
