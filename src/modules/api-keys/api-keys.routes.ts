import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors, Name, PageQuery, pageOf, TenantParams, Timestamp } from '../../shared/api-schemas.ts';
import { SCOPES } from '../auth/auth.ts';
import type { ApiKeyService } from './api-keys.service.ts';

const Scope = Type.Enum(SCOPES);
const RateLimit = Type.Object(
  {
    per_second: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    per_minute: Type.Optional(Type.Integer({ minimum: 1, maximum: 60_000_000 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
const ApiKeySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  workspace_ids: Type.Union([Type.Array(Type.Integer()), Type.Null()], { description: 'null: every workspace of the tenant' }),
  rate_limit: Type.Union([RateLimit, Type.Null()], { description: 'null: no limit on the native API' }),
  created_at: Timestamp,
});

export async function apiKeyRoutes(app: FastifyInstance, { apiKeys }: { apiKeys: ApiKeyService }) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.post('/tenants/:tenant_id/api-keys', {
    config: { auth: 'admin' },
    schema: {
      tags: ['api-keys'],
      summary: 'Create an API key; its token is shown only in this answer',
      params: TenantParams,
      body: Type.Object(
        {
          name: Name,
          scopes: Type.Array(Scope, { minItems: 1, maxItems: SCOPES.length * 2 }),
          workspace_ids: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 2_147_483_647 }), { minItems: 1, maxItems: 1000 })),
          rate_limit: Type.Optional(RateLimit),
        },
        { additionalProperties: false, examples: [{ name: 'import job', scopes: ['properties:read', 'properties:write'], workspace_ids: [7196310] }] },
      ),
      response: { 201: Type.Object({ ...ApiKeySchema.properties, token: Type.String({ examples: ['pd_…'] }) }), ...errors(413, 415) },
    },
    handler: async (request, reply) => reply.code(201).send(await apiKeys.create(request.principal, request.params.tenant_id, request.body)),
  });

  r.get('/tenants/:tenant_id/api-keys', {
    config: { auth: 'admin' },
    schema: { tags: ['api-keys'], summary: 'List live API keys (never their tokens)', params: TenantParams, querystring: Type.Object(PageQuery), response: { 200: pageOf(ApiKeySchema), ...errors() } },
    handler: async (request) => apiKeys.list(request.principal, request.params.tenant_id, request.query.limit ?? 100, request.query.cursor),
  });

  r.delete('/tenants/:tenant_id/api-keys/:key_id', {
    config: { auth: 'admin' },
    schema: {
      tags: ['api-keys'],
      summary: 'Revoke an API key; it fails with 401 from the next request on',
      params: Type.Object({ ...TenantParams.properties, key_id: Type.String({ minLength: 1, maxLength: 64 }) }),
      response: { 204: Type.Null(), ...errors() },
    },
    handler: async (request, reply) => {
      await apiKeys.revoke(request.principal, request.params.tenant_id, request.params.key_id);
      return reply.code(204).send(null);
    },
  });
}
