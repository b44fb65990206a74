// GET /v1/me: who a token is and what it reaches, so a client (the console) can offer only what
// the token may do. Any valid token may ask about itself.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors } from '../../shared/api-schemas.ts';
import { SCOPES } from '../auth/auth.ts';
import type { WorkspaceService } from './workspaces.service.ts';

/** Workspaces listed in one answer; a key reaching more lists them with GET /tenants/{id}/workspaces (admin). */
export const ME_WORKSPACES = 1000;

const MeSchema = Type.Object({
  kind: Type.Enum(['operator', 'key'], { description: 'operator: the server-wide token' }),
  key_id: Type.Union([Type.String(), Type.Null()]),
  tenant_id: Type.Union([Type.Integer(), Type.Null()], { description: "null for the operator, who reaches every tenant" }),
  scopes: Type.Array(Type.Enum(SCOPES), { description: 'The operator holds every scope' }),
  workspace_ids: Type.Union([Type.Array(Type.Integer()), Type.Null()], { description: "null: every workspace of the key's tenant" }),
  workspaces: Type.Array(Type.Object({ id: Type.Integer(), name: Type.String() }), {
    description: `The workspaces the key reaches, by id, at most ${ME_WORKSPACES}; empty for the operator (GET /v1/tenants lists tenants)`,
  }),
});

export async function meRoutes(app: FastifyInstance, { workspaces }: { workspaces: WorkspaceService }) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get('/me', {
    config: { auth: 'any' },
    schema: { tags: ['api-keys'], operationId: 'getMe', summary: 'Who this token is: its tenant, scopes and the workspaces it reaches', response: { 200: MeSchema, ...errors() } },
    handler: async (request) => {
      const p = request.principal;
      const reached = (await workspaces.reachable(p, ME_WORKSPACES)).map((w) => ({ id: w.id, name: w.name }));
      if (p.kind === 'operator') return { kind: 'operator' as const, key_id: null, tenant_id: null, scopes: [...SCOPES], workspace_ids: null, workspaces: reached };
      return { kind: 'key' as const, key_id: p.keyId, tenant_id: p.tenantId, scopes: [...p.scopes], workspace_ids: p.workspaceIds && [...p.workspaceIds], workspaces: reached };
    },
  });
}
