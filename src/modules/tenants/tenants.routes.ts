import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors, Name, PageQuery, pageOf, TenantParams, Timestamp } from '../../shared/api-schemas.ts';
import type { TenantService } from './tenants.service.ts';

const TenantSchema = Type.Object({ id: Type.Integer({ examples: [1] }), name: Type.String(), created_at: Timestamp });

export async function tenantRoutes(app: FastifyInstance, { tenants }: { tenants: TenantService }) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.post('/tenants', {
    config: { auth: 'operator' },
    schema: {
      tags: ['tenants'],
      summary: 'Create a tenant (operator token only)',
      body: Type.Object({ name: Name }, { additionalProperties: false, examples: [{ name: 'Acme' }] }),
      response: { 201: TenantSchema, ...errors(413, 415) },
    },
    handler: async (request, reply) => reply.code(201).send(await tenants.create(request.body.name)),
  });

  r.get('/tenants', {
    config: { auth: 'operator' },
    schema: { tags: ['tenants'], summary: 'List tenants (operator token only)', querystring: Type.Object(PageQuery), response: { 200: pageOf(TenantSchema), ...errors() } },
    handler: async (request) => tenants.list(request.query.limit ?? 100, request.query.cursor),
  });

  r.get('/tenants/:tenant_id', {
    config: { auth: 'admin' },
    schema: { tags: ['tenants'], summary: 'Get a tenant', params: TenantParams, response: { 200: TenantSchema, ...errors() } },
    handler: async (request) => tenants.get(request.principal, request.params.tenant_id),
  });

}
