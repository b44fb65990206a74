import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors, PageQuery, pageOf, PathId, Timestamp, WorkspaceParams } from '../../shared/api-schemas.ts';
import type { WriteKeyService } from './write-keys.service.ts';

const SourceId = PathId({ description: 'Source id' });
const Params = Type.Object({ ...WorkspaceParams, id: SourceId });
const KeyParams = Type.Object({ ...WorkspaceParams, id: SourceId, key_id: Type.String({ minLength: 1, maxLength: 64 }) });
const tags = ['sources'];

const WriteKey = Type.Object({ id: Type.String({ examples: ['wk_3q2x9Zb1fQ0a'] }), source_id: Type.Integer(), created_at: Timestamp });
const CreatedWriteKey = Type.Object({
  id: Type.String(),
  key: Type.String({ description: 'The write key itself: shown this once, stored only as a hash', examples: ['pdw_7196310_Jx0c...'] }),
  source_id: Type.Integer(),
  created_at: Timestamp,
});

// A write key lets whoever holds it write profiles through the source, so making or revoking one
// takes the scope that writes profiles.
export async function writeKeyRoutes(app: FastifyInstance, { writeKeys }: { writeKeys: WriteKeyService }) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.post('/sources/:id/write-keys', {
    config: { auth: 'profiles:write' },
    schema: {
      tags,
      summary: 'Create a write key for a source',
      description:
        'The key authenticates Segment-compatible SDKs on `/segment` (HTTP Basic user name, or `writeKey` in the body); what they write carries the source\'s priority. The key is shown once.',
      params: Params,
      response: { 201: CreatedWriteKey, ...errors(415) },
    },
    handler: async (request, reply) => reply.code(201).send(await writeKeys.create(request.workspace.id, request.params.id)),
  });

  r.get('/sources/:id/write-keys', {
    config: { auth: 'properties:read' },
    schema: { tags, summary: "List a source's live write keys (without the keys)", params: Params, querystring: Type.Object(PageQuery), response: { 200: pageOf(WriteKey), ...errors() } },
    handler: async (request) => writeKeys.list(request.workspace.id, request.params.id, request.query.limit ?? 100, request.query.cursor),
  });

  r.delete('/sources/:id/write-keys/:key_id', {
    config: { auth: 'profiles:write' },
    schema: { tags, summary: 'Revoke a write key, at once on every server', params: KeyParams, response: { 204: Type.Null(), ...errors() } },
    handler: async (request, reply) => {
      await writeKeys.revoke(request.workspace.id, request.params.id, request.params.key_id);
      return reply.code(204).send(null);
    },
  });
}
