import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors, pageOf, PathId, WorkspaceParams } from '../../shared/api-schemas.ts';
import { AppError, type ErrorDetail, validationFailed } from '../../shared/errors.ts';
import { hasScope } from '../auth/auth.ts';
import { MAX_BATCH_RECORDS } from './profile.ts';
import { FILTER_OPS, MAX_SORT_KEYS, parseSort, type FilterOp, type SearchQuery } from './profile-search.ts';
import type { ProfileService } from './profiles.service.ts';
import { BatchResultSchema, ProfileBatchBody, ProfileCreateBody, ProfileId, ProfileSchema, ProfileWriteBody } from './profiles.schemas.ts';

const Params = Type.Object(WorkspaceParams);
const IdParams = Type.Object({ ...WorkspaceParams, id: ProfileId });
const tags = ['profiles'];
const Profile = Type.Ref('Profile');
const FILTER_KEY = /^filter\[([^\]]+)\]\[([^\]]+)\]$/;

/**
 * `filter[<property>][<op>]=<value>` as an OpenAPI deepObject parameter, which is one level deep:
 * its keys are `<property>][<op>`, so that a generated client or /docs writes the same URL.
 */
export const FilterParam = Type.Record(Type.String({ pattern: `^[^\\]]+\\]\\[(${FILTER_OPS.join('|')})$` }), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
  description: 'Filters, `{"<property>][<op>": <value>}`, sent as `filter[<property>][<op>]=<value>`.',
  examples: [{ 'email][eq': 'ana@example.com', 'points][gte': 10 }],
});

const readOptions = (request: FastifyRequest, provenance = false) => ({ piiReadable: hasScope(request.principal, 'pii:read'), provenance });

/**
 * `filter[<property>][<op>]=value` pairs and `sort=a,-b` from the raw query string; any key
 * other than a filter and the route's `known` parameters is refused. The export reads its
 * filters here too.
 */
export function parseSearch(query: Record<string, unknown>, known: readonly string[] = ['limit', 'cursor', 'sort']): Omit<SearchQuery, 'limit' | 'cursor'> {
  const problems: ErrorDetail[] = [];
  const filters: SearchQuery['filters'] = [];
  for (const [key, raw] of Object.entries(query)) {
    if (known.includes(key)) continue;
    const match = FILTER_KEY.exec(key);
    if (!match) {
      problems.push({ field: key, problem: 'is not a known parameter; filters are filter[<property>][<op>]' });
      continue;
    }
    const [, property, op] = match;
    if (!(FILTER_OPS as readonly string[]).includes(op)) {
      problems.push({ field: key, problem: 'names an unknown operator', allowed: [...FILTER_OPS] });
      continue;
    }
    for (const value of [raw].flat()) filters.push({ property, op: op as FilterOp, value: String(value) });
  }
  const sort = parseSort(query.sort === undefined ? undefined : String(query.sort));
  problems.push(...sort.problems);
  if (problems.length > 0) throw validationFailed(problems);
  return { filters, sort: sort.keys };
}

// One registration per route, each with its schemas: long only by the number of routes.
export async function profileRoutes(app: FastifyInstance, { profiles }: { profiles: ProfileService }) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get('/profiles', {
    config: { auth: 'profiles:read' },
    schema: {
      tags,
      operationId: 'searchProfiles',
      summary: 'Search profiles',
      description:
        '`filter[<property>][<op>]=<value>` with `<op>` one of eq ne gt gte lt lte in (comma-separated values) contains prefix exists (true/false); several filters are ANDed. Values are typed by the property definition. ' +
        `\`sort=<property>,-<property>\`: up to ${MAX_SORT_KEYS} keys, each a property's first value, ascending or (with \`-\`) descending; ties on a key are broken by the next key, then by id (in the last key's direction); at each key, profiles without a value come after those with one. The cursor holds every key's value and the id.`,
      params: Params,
      querystring: Type.Object(
        {
          filter: Type.Optional(FilterParam),
          sort: Type.Optional(
            Type.String({
              maxLength: 1000,
              description: `Up to ${MAX_SORT_KEYS} property names separated by commas, each ascending or, with a leading \`-\`, descending`,
              examples: ['-points,last_name'],
            }),
          ),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
          cursor: Type.Optional(Type.String()),
        },
        // The query string arrives flat (`filter[email][eq]` is one key, so `filter` is only
        // described here); filter[...] keys vary by workspace: parseSearch checks every other key.
        { additionalProperties: true },
      ),
      response: { 200: pageOf(Profile), ...errors() },
    },
    handler: async (request) => {
      const { limit = 100, cursor } = request.query;
      return profiles.search(request.workspace.id, { ...parseSearch(request.query), limit, cursor }, readOptions(request));
    },
  });

  r.post('/profiles', {
    config: { auth: 'profiles:write', answerHeaders: { 201: ['Location'] } },
    schema: { tags, summary: 'Create a profile', params: Params, body: ProfileCreateBody, response: { 201: Profile, ...errors(409, 413, 415) } },
    handler: async (request, reply) => {
      const profile = await profiles.create(request.workspace.id, request.body, readOptions(request));
      return reply.code(201).header('location', `/v1/workspaces/${request.workspace.id}/profiles/${profile.id}`).send(profile);
    },
  });

  r.post('/profiles/batch', {
    config: { auth: 'profiles:write' },
    schema: {
      tags,
      operationId: 'upsertProfiles',
      summary: `Upsert up to ${MAX_BATCH_RECORDS} records`,
      description:
        'Records without an id are matched by identity. One bad record never sinks the rest: a record with a bad value, an unknown source or a timestamp that is not a real RFC 3339 date and time (2021-02-30T00:00:00Z, an offset of +25:00) is rejected with its reasons, the others are written. Results come in input order.',
      params: Params,
      body: ProfileBatchBody,
      response: { 200: Type.Object({ results: Type.Array(BatchResultSchema) }), ...errors(413, 415) },
    },
    handler: async (request) => {
      if (request.body.inputs.length > MAX_BATCH_RECORDS) {
        throw new AppError('PAYLOAD_TOO_LARGE', `A batch holds at most ${MAX_BATCH_RECORDS} records; this one has ${request.body.inputs.length}.`);
      }
      return { results: await profiles.batch(request.workspace.id, request.body.inputs) };
    },
  });

  r.get('/profiles/:id', {
    config: { auth: 'profiles:read' },
    schema: {
      tags,
      summary: 'Get a profile (a merged-away id answers with the surviving profile)',
      params: IdParams,
      querystring: Type.Object({ include: Type.Optional(Type.Enum(['provenance'])) }, { additionalProperties: false }),
      response: { 200: Profile, ...errors() },
    },
    handler: async (request) => profiles.get(request.workspace.id, request.params.id, readOptions(request, request.query.include === 'provenance')),
  });

  r.put('/profiles/:id', {
    config: { auth: 'profiles:write' },
    schema: { tags, summary: 'Create or replace a profile', params: IdParams, body: ProfileWriteBody, response: { 200: Profile, 201: Profile, ...errors(409, 413, 415) } },
    handler: async (request, reply) => {
      const { profile, created } = await profiles.replace(request.workspace.id, request.params.id, request.body.properties, readOptions(request));
      return reply.code(created ? 201 : 200).send(profile);
    },
  });

  r.patch('/profiles/:id', {
    config: { auth: 'profiles:write' },
    schema: {
      tags,
      summary: "Merge values into a profile by each property's merge function",
      params: IdParams,
      body: ProfileWriteBody,
      response: { 200: Profile, ...errors(409, 413, 415) },
    },
    handler: async (request) => profiles.merge(request.workspace.id, request.params.id, request.body.properties, readOptions(request)),
  });

  r.delete('/profiles/:id', {
    config: { auth: 'profiles:write' },
    schema: { tags, summary: 'Erase a profile and its identity keys', params: IdParams, response: { 204: Type.Null(), ...errors() } },
    handler: async (request, reply) => {
      await profiles.remove(request.workspace.id, request.params.id);
      return reply.code(204).send(null);
    },
  });
}

export const profileSchemas = [ProfileSchema];
