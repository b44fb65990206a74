import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors, PageQuery, pageOf, WorkspaceParams } from '../../shared/api-schemas.ts';
import { serialiseOnce } from '../../http/serialise-once.ts';
import { AppError } from '../../shared/errors.ts';
import { actorOf, hasScope } from '../auth/auth.ts';
import { JobSchema } from '../jobs/jobs.schemas.ts';
import type { PropertyService } from './properties.service.ts';
import { MAX_BATCH, type Property } from './property.ts';
import { ChangeBody, ChangePreviewBody, ChangePreviewSchema, HistoryEntrySchema, PropertyBatchBody, PropertyCreateBody, PropertyListQuery, PropertyPatchBody, PropertySchema } from './properties.schemas.ts';

const Params = Type.Object(WorkspaceParams);
const RefParams = Type.Object({
  ...WorkspaceParams,
  name: Type.String({ minLength: 1, maxLength: 120, description: 'Property name, numeric id or uid' }),
});
const tags = ['properties'];

const etagOf = (p: Property) => `"${p.version}"`;
const serialisedPages = new WeakMap<object, string>();

/** `If-Match: "3"`, `W/"3"` or `*`; anything else can match no version. */
function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = header.trim().match(/^(?:W\/)?"?(\d+)"?$/);
  if (!match) throw new AppError('PRECONDITION_FAILED', 'If-Match does not name a version of this property.');
  return Number(match[1]);
}

function withEtag(reply: FastifyReply, property: Property): Property {
  void reply.header('etag', etagOf(property));
  return property;
}

export async function propertyRoutes(app: FastifyInstance, { properties }: { properties: PropertyService }) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const serialisedProperty = serialiseOnce<Property>();
  const sendProperty = (property: Property, reply: FastifyReply) => serialisedProperty(reply, property, (p) => p) as unknown as Property;

  r.get('/properties', {
    config: { auth: 'properties:read' },
    schema: {
      tags,
      summary: 'List properties',
      description: 'Sorted by display_order (null last), then name. Archived properties are listed only with archived=true.',
      params: Params,
      querystring: Type.Object({ ...PropertyListQuery.properties, ...PageQuery }),
      response: { 200: pageOf(Type.Ref('Property')), ...errors() },
    },
    handler: async (request, reply) => {
      const { limit = 100, cursor, archived = false, ...filter } = request.query;
      const page = await properties.list(request.workspace.id, { ...filter, archived }, limit, cursor);
      // The service hands back the same page while the dictionary is unchanged: serialise it once.
      let body = serialisedPages.get(page);
      if (body === undefined) {
        body = String(reply.serialize(page));
        serialisedPages.set(page, body);
      }
      // A string with a JSON content type is sent as it is; the type says what it holds.
      return reply.type('application/json; charset=utf-8').send(body as unknown as typeof page);
    },
  });

  r.post('/properties', {
    config: { auth: 'properties:write', answerHeaders: { 201: ['Location', 'ETag'] } },
    schema: {
      tags,
      summary: 'Create a property',
      params: Params,
      body: PropertyCreateBody,
      response: { 201: Type.Ref('Property'), ...errors(409, 413, 415, 422) },
    },
    handler: async (request, reply) => {
      const property = await properties.create(request.workspace.id, request.body, { actor: actorOf(request.principal) });
      void reply.code(201).header('location', `/v1/workspaces/${request.workspace.id}/properties/${property.name}`);
      return withEtag(reply, property);
    },
  });

  r.post('/properties/batch', {
    config: { auth: 'properties:write' },
    schema: {
      tags,
      summary: `Create up to ${MAX_BATCH} properties, all or nothing`,
      description: 'Every problem of every input is reported (fields are prefixed with inputs[i].); nothing is created unless all pass.',
      params: Params,
      body: PropertyBatchBody,
      response: { 201: Type.Object({ results: Type.Array(Type.Ref('Property')) }), ...errors(409, 413, 415, 422) },
    },
    handler: async (request, reply) => {
      const results = await properties.createBatch(request.workspace.id, request.body.inputs, { actor: actorOf(request.principal) });
      void reply.code(201);
      return { results };
    },
  });

  r.get('/properties/:name', {
    config: { auth: 'properties:read', answerHeaders: { 200: ['ETag'] } },
    schema: { tags, summary: 'Get a property by name, id or uid', params: RefParams, response: { 200: Type.Ref('Property'), ...errors() } },
    // The service hands back the same property while the dictionary is unchanged: serialised once.
    handler: async (request, reply) => sendProperty(withEtag(reply, await properties.get(request.workspace.id, request.params.name)), reply),
  });

  r.patch('/properties/:name', {
    config: { auth: 'properties:write', answerHeaders: { 200: ['ETag'] } },
    schema: {
      tags,
      summary: 'Change a property',
      description: 'Fields given replace the stored ones. name and multi_valued never change (409); If-Match is honoured (412).',
      params: RefParams,
      headers: Type.Object({ 'if-match': Type.Optional(Type.String({ description: 'The ETag of the version this change is for, e.g. `"3"`; `*` or none: any version' })) }),
      body: PropertyPatchBody,
      response: { 200: Type.Ref('Property'), ...errors(409, 412, 413, 415) },
    },
    handler: async (request, reply) => {
      const ifMatch = parseIfMatch(request.headers['if-match']);
      const property = await properties.update(request.workspace.id, request.params.name, request.body, { actor: actorOf(request.principal), ifMatch });
      return withEtag(reply, property);
    },
  });

  r.delete('/properties/:name', {
    config: { auth: 'properties:write' },
    schema: {
      tags,
      summary: 'Archive a property, or purge it for good',
      description: 'Without purge: archived (204), values kept and the name still taken. With purge=true: removed, its name freed, and its values purged by a background job (202).',
      params: RefParams,
      querystring: Type.Object({ purge: Type.Optional(Type.Boolean({ default: false })) }),
      response: { 202: Type.Object({ job: Type.Ref('Job') }), 204: Type.Null(), ...errors(409) },
    },
    handler: async (request, reply) => {
      const actor = { actor: actorOf(request.principal) };
      if (request.query.purge) {
        const job = await properties.purge(request.workspace.id, request.params.name, actor);
        return reply.code(202).send({ job });
      }
      await properties.archive(request.workspace.id, request.params.name, actor);
      return reply.code(204).send(null);
    },
  });

  r.post('/properties/:name/restore', {
    config: { auth: 'properties:write', answerHeaders: { 200: ['ETag'] } },
    schema: { tags, operationId: 'restoreProperty', summary: 'Restore an archived property', params: RefParams, response: { 200: Type.Ref('Property'), ...errors(409) } },
    handler: async (request, reply) => withEtag(reply, await properties.restore(request.workspace.id, request.params.name, { actor: actorOf(request.principal) })),
  });

  r.post('/properties/:name/changes/preview', {
    config: { auth: 'properties:read' },
    schema: {
      tags,
      operationId: 'previewPropertyChange',
      summary: 'Preview a definition change against the stored values',
      description:
        'Counts the profiles holding values, the values that convert to the changed definition and those that fail, with up to 20 failing samples (PII masked without pii:read), and the definition diff. Writes nothing. See docs/changes.md for the conversion table.',
      params: RefParams,
      body: ChangePreviewBody,
      response: { 200: ChangePreviewSchema, ...errors(409, 413, 415) },
    },
    handler: async (request) =>
      properties.previewChange(request.workspace.id, request.params.name, request.body, { piiReadable: hasScope(request.principal, 'pii:read') }),
  });

  r.post('/properties/:name/changes', {
    config: { auth: 'properties:write' },
    schema: {
      tags,
      summary: 'Apply a definition change with its values',
      description:
        'Starts a job (202) that converts every stored value and lands the new definition with them in one transaction: readers never see a mix, the version bumps once, history records the counts. If-Match is required (428 without it, 412 when stale). on_failure abort: any failing value fails the job and nothing changes; clear: failing values are removed. While it runs, writes of the property answer 409 naming the job. Turning unique or the identity role on while profiles hold values goes through here: the job refuses (abort) or clears (clear) duplicates and claims every key as it lands.',
      params: RefParams,
      headers: Type.Object({ 'if-match': Type.Optional(Type.String({ description: 'The version previewed, as its ETag' })) }),
      body: ChangeBody,
      response: { 202: Type.Object({ job: Type.Ref('Job') }), ...errors(409, 412, 413, 415, 428) },
    },
    handler: async (request, reply) => {
      const ifMatch = parseIfMatch(request.headers['if-match']);
      const job = await properties.startChange(request.workspace.id, request.params.name, request.body, { actor: actorOf(request.principal), ifMatch });
      return reply.code(202).send({ job });
    },
  });

  r.get('/properties/:name/history', {
    config: { auth: 'properties:read' },
    schema: {
      tags,
      summary: 'Every change to a property definition',
      params: RefParams,
      querystring: Type.Object(PageQuery),
      response: { 200: pageOf(HistoryEntrySchema), ...errors() },
    },
    handler: async (request) => properties.history(request.workspace.id, request.params.name, request.query.limit ?? 100, request.query.cursor),
  });

  r.get('/limits', {
    config: { auth: 'properties:read' },
    schema: {
      tags: ['workspaces'],
      operationId: 'getLimits',
      summary: 'Custom properties used and allowed',
      params: Params,
      response: { 200: Type.Object({ custom_properties: Type.Object({ used: Type.Integer(), limit: Type.Integer() }) }), ...errors() },
    },
    handler: async (request) => ({ custom_properties: await properties.limits(request.workspace.id) }),
  });
}

export const propertySchemas = [PropertySchema, JobSchema];
