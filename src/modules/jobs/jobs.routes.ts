import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors, WorkspaceParams } from '../../shared/api-schemas.ts';
import type { JobService } from './jobs.service.ts';

export async function jobRoutes(app: FastifyInstance, { jobs }: { jobs: JobService }) {
  app.withTypeProvider<TypeBoxTypeProvider>().get('/jobs/:id', {
    // A job belongs to the workspace; reading its progress needs only read access to properties.
    config: { auth: 'properties:read' },
    schema: {
      tags: ['jobs'],
      summary: 'Progress of a background job',
      params: Type.Object({ ...WorkspaceParams, id: Type.String({ minLength: 1, maxLength: 64 }) }),
      response: { 200: Type.Ref('Job'), ...errors() },
    },
    handler: async (request) => jobs.get(request.workspace.id, request.params.id),
  });
}
