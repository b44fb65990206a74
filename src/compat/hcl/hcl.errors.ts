// HCL CDP's error envelope, `{error: "<HTTP reason phrase>", message}`, and the sentences the
// vendor uses. Everything that can go wrong on this surface is presented here, in its words.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { classifyError } from '../../http/errors.ts';
import { nearestField } from '../../http/validation.ts';
import { AppError, codeToStatus, type ErrorCode, type ErrorDetail } from '../../shared/errors.ts';

/** An answer this surface has already put in the vendor's words. */
export class HclError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'HclError';
    this.status = status;
  }
}

export const envelope = (status: number, message: string) => ({ error: STATUS_CODES[status] ?? 'Error', message });

export const sendHcl = (reply: FastifyReply, status: number, message: string) => reply.code(status).send(envelope(status, message));

/** The vendor's sentences (the documented ones verbatim) and ours in the same voice. */
export const say = {
  created: (code: string, tenant: number) => `User property '${code}' has been successfully created for Tenant ${tenant}.`,
  exists: (code: string, tenant: number) => `User property '${code}' already exists for Tenant ${tenant}.`,
  updated: (code: string, tenant: number) => `User property '${code}' for Tenant ${tenant} has been updated successfully.`,
  notFound: (code: string, tenant: number) => `User property '${code}' not found for Tenant ${tenant}.`,
  removed: (code: string, tenant: number) => `User property '${code}' for Tenant ${tenant} has been removed successfully.`,
  mapped: (code: string, tenant: number) =>
    `User property '${code}' for Tenant ${tenant} is mapped to existing data sources. Please remove the respective data source mappings before deleting the user property.`,
  noneFound: (tenant: number) => `No user properties found for Tenant ${tenant}.`,
  system: (code: string, tenant: number, op: 'updated' | 'deleted') =>
    `User property '${code}' for Tenant ${tenant} is a system property and cannot be ${op}.`,
  typeFrozen: (code: string, tenant: number, campaignId?: number) =>
    `User property '${code}' for Tenant ${tenant} has values stored in profiles, so its dataType cannot be changed here. ` +
    `To convert the values, preview the change with POST /v1/workspaces/${campaignId ?? '{campaignId}'}/properties/${code}/changes/preview, then apply it with POST /v1/workspaces/${campaignId ?? '{campaignId}'}/properties/${code}/changes.`,
  keysNeedChange: (code: string, tenant: number, campaignId?: number) =>
    `User property '${code}' for Tenant ${tenant} has values stored in profiles, so its preference cannot be set here: each value must be checked for duplicates and claimed as an identity. ` +
    `To do so, preview the change with POST /v1/workspaces/${campaignId ?? '{campaignId}'}/properties/${code}/changes/preview, then apply it with POST /v1/workspaces/${campaignId ?? '{campaignId}'}/properties/${code}/changes, the identity role in the body.`,
  changeRunning: (code: string, tenant: number) => `User property '${code}' for Tenant ${tenant} is being converted by a running change. Please send the update again once it is done.`,
  clash: (code: string, tenant: number) =>
    `User property '${code}' clashes with the display name of another user property for Tenant ${tenant}.`,
  limit: (code: string, tenant: number) =>
    `User property '${code}' cannot be created: the campaign of Tenant ${tenant} has reached its maximum number of user properties.`,
  changedMeanwhile: (code: string, tenant: number) =>
    `User property '${code}' for Tenant ${tenant} was changed by another request at the same time. Please send the update again.`,
  campaignNotFound: (campaignId: number) => `Campaign ${campaignId} not found.`,
  unauthorized: 'Missing or invalid authKey.',
  forbidden: (scope: string) => `The authKey does not have the '${scope}' permission.`,
  routeNotFound: (method: string, path: string) => `No endpoint ${method} ${path}.`,
  methodNotAllowed: (method: string, allowed: string[]) => `Request method '${method}' is not supported. Supported methods: ${allowed.join(', ')}.`,
  tooManyRequests: (seconds: number) => `Too many requests for this tenant. Please retry in ${seconds} seconds.`,
  internal: 'An unexpected error occurred. Please try again later.',
  bodyMissing: 'Required request body is missing.',
  notAnObject: 'Request body must be a JSON object.',
  badInput: 'The request could not be processed.',
} as const;

// ---- schema validation -----------------------------------------------------------------

const ARTICLE: Record<string, string> = {
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean',
  object: 'a JSON object',
  array: 'an array',
  null: 'null',
};

const show = (value: unknown) => (typeof value === 'string' ? `'${value}'` : JSON.stringify(value) ?? 'nothing');
const quoteList = (names: string[]) =>
  names.length === 1 ? `'${names[0]}'` : `${names.slice(0, -1).map((n) => `'${n}'`).join(', ')} and '${names[names.length - 1]}'`;

function valueAt(data: unknown, instancePath: string): unknown {
  return instancePath
    .split('/')
    .slice(1)
    .reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), data);
}

/**
 * Schema errors as sentences, every failing field at once. `data` is what was validated
 * (the parsed body, or the raw path parameters) so that a sentence can quote the bad value.
 */
export function describeValidation(errors: readonly FastifySchemaValidationError[], context: string | undefined, data: unknown): string {
  const inPath = context === 'params';
  if (!inPath && data === undefined) return say.bodyMissing;
  const sentences: string[] = [];
  const missing: string[] = [];
  for (const e of errors) {
    const name = e.instancePath.split('/').slice(1).join('.');
    const label = inPath ? `Path parameter '${name}'` : `Field '${name}'`;
    const params = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'required':
        missing.push(String(params.missingProperty));
        continue;
      case 'additionalProperties': {
        const meant = nearestField(String(params.additionalProperty), Object.keys((e as { parentSchema?: { properties?: object } }).parentSchema?.properties ?? {}));
        sentences.push(`Unknown field '${String(params.additionalProperty)}'.${meant === undefined ? '' : ` Did you mean '${meant}'?`}`);
        continue;
      }
      case 'type':
        sentences.push(name === '' ? say.notAnObject : `${label} must be ${ARTICLE[String(params.type)] ?? String(params.type)}.`);
        continue;
      case 'enum':
        sentences.push(`Invalid ${name} ${show(valueAt(data, e.instancePath))}. Allowed values: ${(params.allowedValues as unknown[]).join(', ')}.`);
        continue;
      case 'minLength':
        sentences.push(params.limit === 1 ? `${label} must not be empty.` : `${label} must be at least ${String(params.limit)} characters long.`);
        continue;
      case 'maxLength':
        sentences.push(`${label} must be at most ${String(params.limit)} characters long.`);
        continue;
      case 'pattern':
        sentences.push(
          name === 'dmpDataPointCode'
            ? `${label} must start with a letter or an underscore and contain only letters, digits and underscores.`
            : `${label} has an invalid format.`,
        );
        continue;
      case 'minimum':
      case 'exclusiveMinimum':
        sentences.push(`${label} must be at least ${String(params.limit)}.`);
        continue;
      case 'maximum':
      case 'exclusiveMaximum':
        sentences.push(`${label} must be at most ${String(params.limit)}.`);
        continue;
      default:
        sentences.push(name === '' ? say.notAnObject : `${label} is not valid.`);
    }
  }
  if (missing.length > 0) sentences.unshift(`Missing required field${missing.length > 1 ? 's' : ''} ${quoteList(missing)}.`);
  return [...new Set(sentences)].join(' ');
}

// ---- service errors --------------------------------------------------------------------

/** What a sentence about a rule may quote: the property as the request would leave it. */
export interface OperationContext {
  code: string;
  tenantId: number;
  /** The workspace, which HCL calls the campaign. */
  campaignId?: number;
  dataType?: string;
  mergeFunction?: string;
  preference?: string;
}

/** The definition rules the service refused, in the vendor's field names. */
function ruleSentences(details: readonly ErrorDetail[], ctx: OperationContext): string {
  const forType = ctx.dataType ? `dataType '${ctx.dataType}'` : `the dataType of user property '${ctx.code}'`;
  return details
    .map((d) => {
      switch (d.reason) {
        case 'MERGE_FUNCTION':
          return `mergeFunction ${ctx.mergeFunction ? `'${ctx.mergeFunction}' ` : ''}is not allowed for ${forType}. Allowed values: ${(d.allowed ?? []).map((m) => String(m).toUpperCase()).join(', ')}.`;
        case 'IDENTITY_ROLE':
          return `preference ${ctx.preference ? `'${ctx.preference}' ` : ''}is not allowed for ${forType}. Allowed values: none.`;
        default:
          // Only reachable for properties defined natively with settings HCL cannot express.
          return `User property '${ctx.code}' for Tenant ${ctx.tenantId}: ${d.field} ${d.problem}.`;
      }
    })
    .join(' ');
}

/** A service error raised by a create, update or delete, as the vendor would word it. */
export function fromServiceError(op: 'create' | 'update' | 'delete', error: unknown, ctx: OperationContext): unknown {
  if (!(error instanceof AppError)) return error;
  const { code, tenantId } = ctx;
  switch (error.code) {
    case 'NOT_FOUND':
      return new HclError(404, say.notFound(code, tenantId));
    case 'ALREADY_EXISTS':
      // A code taken as a name or an import alias "exists"; a native display name is only a clash.
      return new HclError(400, error.reason === 'DISPLAY_NAME_TAKEN' ? say.clash(code, tenantId) : say.exists(code, tenantId));
    case 'CONFLICT':
      switch (error.reason) {
        case 'MAPPED_BY_SOURCES':
          return new HclError(400, say.mapped(code, tenantId));
        case 'SYSTEM_PROPERTY':
          return new HclError(400, say.system(code, tenantId, op === 'delete' ? 'deleted' : 'updated'));
        case 'TYPE_FROZEN':
          return new HclError(400, say.typeFrozen(code, tenantId, ctx.campaignId));
        case 'KEYS_NEED_CHANGE':
          return new HclError(400, say.keysNeedChange(code, tenantId, ctx.campaignId));
        case 'CHANGE_RUNNING':
          return new HclError(400, say.changeRunning(code, tenantId));
        default:
          // HCL bodies never touch the immutable fields nor PII: only a property defined natively gets here.
          return new HclError(400, `User property '${code}' for Tenant ${tenantId}: ${error.message}`);
      }
    case 'VALIDATION_FAILED':
      return new HclError(400, ruleSentences(error.details, ctx));
    case 'LIMIT_EXCEEDED':
      return new HclError(400, say.limit(code, tenantId));
    case 'PRECONDITION_FAILED':
      return new HclError(409, say.changedMeanwhile(code, tenantId));
    default:
      return error;
  }
}

/** HCL reports duplicates and refused changes as Bad Request, not 409/422. */
// HCL answers clashes and refused changes as "Bad Request"; a lost race as 409.
const HCL_STATUS: Partial<Record<ErrorCode, number>> = { ALREADY_EXISTS: 400, CONFLICT: 400, LIMIT_EXCEEDED: 400, PRECONDITION_FAILED: 409 };

const hclStatus = (code: ErrorCode): number => HCL_STATUS[code] ?? codeToStatus(code);

/**
 * Anything thrown while serving a request, as a status and sentence; undefined when it is not
 * ours to explain (the handler answers 500 and logs it).
 */
function presentError(error: unknown, validated: { body: unknown; params: unknown; need: unknown; request: FastifyRequest }): HclError | undefined {
  if (error instanceof HclError) return error;
  const e = error as FastifyError;
  if (e?.validation) {
    const data = e.validationContext === 'params' ? validated.params : validated.body;
    return new HclError(400, describeValidation(e.validation, e.validationContext, data));
  }
  // An empty JSON body and no body at all read the same to a client.
  if (e?.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return new HclError(400, say.bodyMissing);
  if (error instanceof AppError && error.reason === 'MISSING_SCOPE') return new HclError(403, say.forbidden(String(validated.need)));
  const known = classifyError(error, validated.request);
  if (known) {
    const status = hclStatus(known.code);
    const message = known.code === 'INTERNAL' ? say.internal : known.code === 'UNAUTHENTICATED' ? say.unauthorized : known.message;
    return new HclError(status, message);
  }
  // Whatever else the framework refuses as the client's fault stays a 4xx, never a 500.
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return new HclError(e.statusCode, say.badInput);
  return undefined;
}

/** Anything thrown while serving a request, in HCL's envelope; undefined when it is not ours. */
export function presentHclError(reply: FastifyReply, error: unknown): FastifyReply | undefined {
  const { body, params, routeOptions } = reply.request;
  const known = presentError(error, { body, params, need: routeOptions.config.auth, request: reply.request });
  return known && sendHcl(reply, known.status, known.message);
}
