import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors, Name, PageQuery, pageOf, TenantParams, Timestamp } from '../../shared/api-schemas.ts';
import type { WorkspaceService } from './workspaces.service.ts';

const WorkspaceSchema = Type.Object({
  id: Type.Integer({ examples: [7196310] }),
  tenant_id: Type.Integer(),
  name: Type.String(),
  property_limit: Type.Integer({ description: 'Custom properties allowed' }),
  created_at: Timestamp,
});

export async function workspaceRoutes(app: FastifyInstance, { workspaces }: { workspaces: WorkspaceService }) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.post('/tenants/:tenant_id/workspaces', {
    config: { auth: 'admin' },
    schema: {
      tags: ['workspaces'],
      summary: 'Create a workspace; its system properties are seeded',
      description: 'id may be chosen (e.g. to equal an Ocamba company id, HCL campaign id or LINE WORKS domain id). property_limit is for the operator only.',
      params: TenantParams,
      body: Type.Object(
        {
          name: Name,
          id: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647 })),
          property_limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
        },
        { additionalProperties: false, examples: [{ name: 'Production', id: 7196310 }] },
      ),
      response: { 201: WorkspaceSchema, ...errors(409, 413, 415) },
    },
    handler: async (request, reply) => reply.code(201).send(await workspaces.create(request.principal, request.params.tenant_id, request.body)),
  });

  r.get('/tenants/:tenant_id/workspaces', {
    config: { auth: 'admin' },
    schema: { tags: ['workspaces'], summary: 'List workspaces', params: TenantParams, querystring: Type.Object(PageQuery), response: { 200: pageOf(WorkspaceSchema), ...errors() } },
    handler: async (request) => workspaces.list(request.principal, request.params.tenant_id, request.query.limit ?? 100, request.query.cursor),
  });
}
