import { Readable } from 'node:stream';
import { setImmediate } from 'node:timers/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { stringify } from 'csv-stringify/sync';
import { Type } from 'typebox';
import { errors, PageQuery, pageOf, WorkspaceParams } from '../../shared/api-schemas.ts';
import { AppError } from '../../shared/errors.ts';
import { hasScope } from '../auth/auth.ts';
import type { RawBody } from '../../http/openapi.ts';
import { FilterParam, parseSearch } from '../profiles/profiles.routes.ts';
import { IMPORT_FORMATS, type ImportFormat } from './import-rows.ts';
import { IMPORT_MODES, type ExportPage, type ImportService } from './imports.service.ts';
import { ImportSchema } from './imports.schemas.ts';

const Params = Type.Object(WorkspaceParams);
const IdParams = Type.Object({ ...WorkspaceParams, id: Type.String({ minLength: 1, maxLength: 64 }) });
const tags = ['imports'];
const Import = Type.Ref('Import');

/** The body's media types, and the format each is. */
const MEDIA: Record<string, ImportFormat> = { 'text/csv': 'csv', 'application/x-ndjson': 'ndjson', 'application/ndjson': 'ndjson' };
const EXPORT_KNOWN = ['format', 'properties', 'include_pii'];

/**
 * Pages of rows as the bytes of a CSV or NDJSON body, a page formatted at once (the stream then
 * handles a chunk per page, not per row). After each page the event loop takes a turn: on SQLite
 * a page's reads never wait for I/O, and while the client kept up the whole export ran without
 * one, so every other request waited for its end (48 s at a million rows). A client going away
 * destroys the stream, which ends the pages' generator: it then ends its read snapshot.
 */
// The routes declare their 200 body as a string for the OpenAPI; the type provider then types
// send() so, and a stream needs a cast (Fastify sends it as it comes).
function bodyOf(pages: AsyncGenerator<ExportPage>, format: 'csv' | 'ndjson'): Readable {
  const text = (page: ExportPage) => (format === 'csv' ? stringify(page as string[][]) : (page as Record<string, unknown>[]).map((row) => `${JSON.stringify(row)}\n`).join(''));
  async function* texts() {
    for await (const page of pages) {
      yield text(page);
      await setImmediate();
    }
  }
  return Readable.from(texts(), { objectMode: false });
}

/** The upload's body as the OpenAPI document describes it (the route reads it raw, as a stream). */
const UPLOAD_BODY: RawBody = {
  description:
    'The file itself, sent as it is read (`Transfer-Encoding: chunked` is fine; a `Content-Length`, when sent, is the progress\'s `bytes_total`). UTF-8; a charset parameter is ignored.',
  content: {
    'text/csv': {
      schema: { type: 'string', description: 'RFC 4180: a header row, then one record a line; a UTF-8 BOM is skipped; quoted fields may hold the delimiter, quotes (doubled) and newlines. Cells are read by the property\'s type; a multi-valued cell is split on `;` or given as a JSON array; an empty cell leaves the value as it is.' },
      example: 'id,Email_Address,first_name,points,interests\ncust-1,ana@example.com,Ana,12,golf;sailing\n',
    },
    'application/x-ndjson': {
      schema: { type: 'string', description: 'One JSON object a line, keys as CSV headers, values typed JSON as in the API; `null` clears a value.' },
      example: '{"id":"cust-1","Email_Address":"ana@example.com","points":12,"interests":["golf","sailing"]}\n',
    },
    'application/ndjson': { schema: { type: 'string', description: 'The same as `application/x-ndjson`.' } },
  },
};

const mediaOf = (request: FastifyRequest) => String(request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();

/** An export's format: the query's, else the Accept header's (text/csv or application/x-ndjson), else CSV. */
function exportFormat(request: FastifyRequest, given: 'csv' | 'ndjson' | undefined): 'csv' | 'ndjson' {
  if (given) return given;
  const accept = String(request.headers.accept ?? '');
  return /application\/(x-)?ndjson/.test(accept) && !/text\/csv/.test(accept) ? 'ndjson' : 'csv';
}

/**
 * The upload: its body is the file, handed to the service as a stream (never buffered whole).
 * A JSON body is still parsed as on every route (and refused by the handler), so it meets the
 * same checks; any other type is refused at once.
 */
async function uploadRoute(app: FastifyInstance, { imports }: { imports: ImportService }) {
  app.addContentTypeParser(Object.keys(MEDIA), (_request, payload, done) => done(null, payload));
  app.removeContentTypeParser('*');
  app.addContentTypeParser('*', (_request, _payload, done) => done(new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the file as text/csv or application/x-ndjson.'), undefined));

  app.withTypeProvider<TypeBoxTypeProvider>().post('/imports', {
    config: { auth: 'profiles:write', answerHeaders: { 202: ['Location'] }, rawBody: UPLOAD_BODY },
    schema: {
      tags,
      summary: 'Import profiles from a CSV or NDJSON file',
      description:
        'The raw body is the file (`text/csv` or `application/x-ndjson`, up to `PROPDICT_IMPORT_LIMIT` bytes), streamed: it is read as it arrives and stored in the database, never held whole. Columns map to properties by name, then import alias, case-insensitively; `id` is the profile id. Answers 202 once the file is stored; a job then writes the rows (follow it with `GET /imports/{id}`). A file that cannot be read (not UTF-8, bad quoting, a record over 1 MiB, a duplicate column, empty) answers 400 naming the line; over the limit, 413.',
      params: Params,
      querystring: Type.Object(
        {
          format: Type.Optional(Type.Enum(IMPORT_FORMATS, { description: 'Defaults to the Content-Type’s; must agree with it (415 otherwise)' })),
          mode: Type.Optional(
            Type.Enum(IMPORT_MODES, {
              default: 'upsert',
              description:
                '`upsert`: match by `id`, then by identities (primary, then secondary) as a batch does, merging where primary identities point to several profiles; else create. `create`: a row matching a profile is rejected. `update`: a row matching none is rejected.',
            }),
          ),
          dry_run: Type.Optional(Type.Boolean({ default: false, description: 'Check and resolve every row, write nothing; the counts say what would happen' })),
          source: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'A data source’s name or id: its priority applies to the values, as in a batch' })),
          delimiter: Type.Optional(Type.String({ minLength: 1, maxLength: 1, default: ',', description: 'CSV only: one character, e.g. `;` or a tab (`%09`)' })),
        },
        { additionalProperties: false },
      ),
      response: { 202: Import, ...errors(409, 413, 415) },
    },
    handler: async (request, reply) => {
      const media = MEDIA[mediaOf(request)];
      if (!media) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the file as text/csv or application/x-ndjson.');
      const format = request.query.format ?? media;
      if (format !== media) throw new AppError('UNSUPPORTED_MEDIA_TYPE', `format=${format} needs the body sent as ${format === 'csv' ? 'text/csv' : 'application/x-ndjson'}.`);
      const length = Number(request.headers['content-length']);
      const view = await imports.upload(request.workspace.id, request.body as Readable, {
        format,
        mode: request.query.mode ?? 'upsert',
        dryRun: request.query.dry_run ?? false,
        source: request.query.source,
        delimiter: request.query.delimiter ?? ',',
        bytesTotal: Number.isSafeInteger(length) ? length : undefined,
      });
      return reply.code(202).header('location', `/v1/workspaces/${request.workspace.id}/imports/${view.id}`).send(view);
    },
  });
}

// One registration per route, each with its schemas: long only by the number of routes.
export async function importRoutes(app: FastifyInstance, { imports }: { imports: ImportService }) {
  await app.register(uploadRoute, { imports });
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get('/imports', {
    config: { auth: 'profiles:read' },
    schema: { tags, summary: 'List imports, newest first', params: Params, querystring: Type.Object(PageQuery), response: { 200: pageOf(Import), ...errors() } },
    handler: async (request) => imports.list(request.workspace.id, { limit: request.query.limit ?? 100, cursor: request.query.cursor }),
  });

  r.get('/imports/:id', {
    config: { auth: 'profiles:read' },
    schema: { tags, summary: 'An import: its columns, progress and counts', params: IdParams, response: { 200: Import, ...errors() } },
    handler: async (request) => imports.get(request.workspace.id, request.params.id),
  });

  r.post('/imports/:id/cancel', {
    config: { auth: 'profiles:write' },
    schema: { tags, operationId: 'cancelImport', summary: 'Cancel a queued or running import (rows already written stay)', params: IdParams, response: { 200: Import, ...errors(409) } },
    handler: async (request) => imports.cancel(request.workspace.id, request.params.id),
  });

  r.get('/imports/:id/errors', {
    config: { auth: 'profiles:read', answerHeaders: { 200: ['Content-Disposition'] } },
    schema: {
      tags,
      summary: 'The rejected rows as CSV: row, column, property, problem, value',
      description: 'One line per problem; `row` is the data row (1 the first after the header) or the NDJSON line. PII values are *** without pii:read.',
      params: IdParams,
      response: { 200: { description: 'CSV', content: { 'text/csv': { schema: { type: 'string' } } } }, ...errors() },
    },
    handler: async (request, reply) => {
      const rows = await imports.rejections(request.workspace.id, request.params.id, hasScope(request.principal, 'pii:read'));
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${request.params.id}-errors.csv"`)
        .send(bodyOf(rows, 'csv') as unknown as string);
    },
  });

  r.get('/profiles/export', {
    config: { auth: 'profiles:read', answerHeaders: { 200: ['X-Total-Count'] } },
    schema: {
      tags: ['profiles'],
      operationId: 'exportProfiles',
      summary: 'Export profiles as CSV or NDJSON',
      description:
        'Streams every profile matching the filters (`filter[<property>][<op>]=<value>`, as in search) from one snapshot. Columns: id, then the chosen properties (default: every live exportable one), named by export_alias else name. X-Total-Count tells how many rows follow. Multi-valued values are joined with ; in CSV.',
      params: Params,
      querystring: Type.Object(
        {
          filter: Type.Optional(FilterParam),
          format: Type.Optional(Type.Enum(['csv', 'ndjson'], { description: 'Defaults to the Accept header’s, else csv' })),
          properties: Type.Optional(Type.String({ maxLength: 65_536, description: 'Comma-separated property names' })),
          include_pii: Type.Optional(Type.Boolean({ default: false, description: 'Needs pii:read' })),
        },
        // filter[...] keys vary by workspace; parseSearch checks every other key.
        { additionalProperties: true },
      ),
      response: {
        200: { description: 'The profiles', content: { 'text/csv': { schema: { type: 'string' } }, 'application/x-ndjson': { schema: { type: 'string' } } } },
        ...errors(),
      },
    },
    handler: async (request, reply) => {
      const { filters } = parseSearch(request.query, EXPORT_KNOWN);
      const format = exportFormat(request, request.query.format as 'csv' | 'ndjson' | undefined);
      const properties = request.query.properties?.split(',').map((p) => p.trim()).filter(Boolean);
      const result = await imports.export(request.workspace.id, {
        format,
        filters,
        properties,
        includePii: request.query.include_pii === true,
        piiReadable: hasScope(request.principal, 'pii:read'),
      });
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
        .header('x-total-count', String(result.total))
        .send(bodyOf(result.pages, format) as unknown as string);
    },
  });
}

export const importSchemas = [ImportSchema];
