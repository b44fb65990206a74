import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors, PageQuery, pageOf, Timestamp, WorkspaceParams } from '../../shared/api-schemas.ts';
import { VIOLATION_PROBLEMS } from './violation.ts';
import type { ViolationService } from './violations.service.ts';

const ViolationSchema = Type.Object({
  source_id: Type.Integer({ description: 'The source whose write key sent the calls' }),
  trait: Type.String({ description: 'The trait (or field, such as userId) as the calls named it', examples: ['favoriteColor'] }),
  property: Type.Union([Type.String(), Type.Null()], { description: 'The property it reached, if any' }),
  problem: Type.Enum(VIOLATION_PROBLEMS),
  message: Type.String({ examples: ['matches no property name or import alias of this workspace'] }),
  count: Type.Integer({ description: 'Calls refused this way' }),
  first_seen: Timestamp,
  last_seen: Timestamp,
  sample: Type.String({ description: 'The last refused value, masked', examples: ['"gre***" (5 characters)'] }),
});

// What ingestion refused is part of governing the dictionary: the properties read scope sees it.
export async function violationRoutes(app: FastifyInstance, { violations }: { violations: ViolationService }) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get('/violations', {
    config: { auth: 'properties:read' },
    schema: {
      tags: ['violations'],
      summary: 'Traits that ingestion refused, grouped',
      description:
        'One item per source, trait, property, problem and message, most recently seen first, with its count, first and last seen and a masked sample of the last refused value.',
      params: Type.Object(WorkspaceParams),
      querystring: Type.Object({
        ...PageQuery,
        source_id: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647 })),
        trait: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
        property: Type.Optional(Type.String({ minLength: 1, maxLength: 120 })),
        problem: Type.Optional(Type.Enum(VIOLATION_PROBLEMS)),
      }),
      response: { 200: pageOf(ViolationSchema), ...errors() },
    },
    handler: async (request) => {
      const { limit, cursor, ...filter } = request.query;
      return violations.list(request.workspace.id, filter, limit ?? 100, cursor);
    },
  });
}
