import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors, PageQuery, pageOf, PathId, WorkspaceParams } from '../../shared/api-schemas.ts';
import { AppError } from '../../shared/errors.ts';
import { MAX_BATCH_RECORDS } from '../profiles/profile.ts';
import { BatchResultSchema } from '../profiles/profiles.schemas.ts';
import type { SourceService } from './sources.service.ts';
import { SourceCreateBody, SourcePatchBody } from './sources.schemas.ts';

const Params = Type.Object(WorkspaceParams);
const IdParams = Type.Object({ ...WorkspaceParams, id: PathId() });
const tags = ['sources'];
const Source = Type.Ref('Source');

// Sources describe how profile data arrives; they are part of the dictionary, so the
// properties scopes govern them. Ingesting records through one writes profiles: profiles:write.
// One registration per route, each with its schemas: long only by the number of routes.
export async function sourceRoutes(app: FastifyInstance, { sources }: { sources: SourceService }) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get('/sources', {
    config: { auth: 'properties:read' },
    schema: { tags, summary: 'List data sources', params: Params, querystring: Type.Object(PageQuery), response: { 200: pageOf(Source), ...errors() } },
    handler: async (request) => sources.list(request.workspace.id, request.query.limit ?? 100, request.query.cursor),
  });

  r.post('/sources', {
    config: { auth: 'properties:write', answerHeaders: { 201: ['Location'] } },
    schema: {
      tags,
      summary: 'Create a data source',
      description: 'Each mapping names an existing property once; a mapped property cannot be purged until the mapping is removed.',
      params: Params,
      body: SourceCreateBody,
      response: { 201: Source, ...errors(409, 413, 415) },
    },
    handler: async (request, reply) => {
      const source = await sources.create(request.workspace.id, request.body);
      return reply.code(201).header('location', `/v1/workspaces/${request.workspace.id}/sources/${source.id}`).send(source);
    },
  });

  r.get('/sources/:id', {
    config: { auth: 'properties:read' },
    schema: { tags, summary: 'Get a data source', params: IdParams, response: { 200: Source, ...errors() } },
    handler: async (request) => sources.get(request.workspace.id, request.params.id),
  });

  r.patch('/sources/:id', {
    config: { auth: 'properties:write' },
    schema: {
      tags,
      summary: 'Change a data source',
      description: 'Fields given replace the stored ones; mappings are replaced as a whole.',
      params: IdParams,
      body: SourcePatchBody,
      response: { 200: Source, ...errors(409, 413, 415) },
    },
    handler: async (request) => sources.update(request.workspace.id, request.params.id, request.body),
  });

  r.delete('/sources/:id', {
    config: { auth: 'properties:write' },
    schema: { tags, summary: 'Delete a data source and its mappings', params: IdParams, response: { 204: Type.Null(), ...errors() } },
    handler: async (request, reply) => {
      await sources.remove(request.workspace.id, request.params.id);
      return reply.code(204).send(null);
    },
  });

  r.post('/sources/:id/records', {
    config: { auth: 'profiles:write' },
    schema: {
      tags,
      operationId: 'ingestSourceRecords',
      summary: `Ingest up to ${MAX_BATCH_RECORDS} raw JSON records through a source's mappings`,
      description:
        "Each mapped property is read at its input_path, else at its alternate_paths in order; a mandatory one missing rejects that record. Records are matched by identity; the source's priority and its mappings' merge functions apply.",
      params: IdParams,
      body: Type.Object(
        { records: Type.Array(Type.Record(Type.String(), Type.Unknown()), { minItems: 1 }) },
        { additionalProperties: false, examples: [{ records: [{ properties: { email: 'ana@example.com' }, otherIds: { customer_id: 'C-1' } }] }] },
      ),
      response: { 200: Type.Object({ results: Type.Array(BatchResultSchema) }), ...errors(413, 415) },
    },
    handler: async (request) => {
      if (request.body.records.length > MAX_BATCH_RECORDS) {
        throw new AppError('PAYLOAD_TOO_LARGE', `A request holds at most ${MAX_BATCH_RECORDS} records; this one has ${request.body.records.length}.`);
      }
      return { results: await sources.ingest(request.workspace.id, request.params.id, request.body.records) };
    },
  });
}
