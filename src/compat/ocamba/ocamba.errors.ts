// Ocamba's error envelope: {code, title, message, trace_id}. propdict's error codes are folded
// onto the statuses Ocamba documents (a clash or a refused change is a 400 there, never a 409).
import type { FastifyError, FastifyReply } from 'fastify';
import { classifyError } from '../../http/errors.ts';
import { AppError, codeToStatus, type ErrorCode, type ErrorDetail } from '../../shared/errors.ts';

/** Ocamba's titles are the HTTP reason phrase with a full stop. */
export const TITLES = {
  400: 'Bad request.',
  401: 'Unauthorized.',
  403: 'Forbidden.',
  404: 'Not found.',
  405: 'Method not allowed.',
  413: 'Payload too large.',
  415: 'Unsupported media type.',
  429: 'Too many requests.',
  500: 'Internal server error.',
  503: 'Service unavailable.',
} as const;
export type OcambaStatus = keyof typeof TITLES;

export interface OcambaError {
  code: OcambaStatus;
  title: string;
  message: string;
  trace_id: string;
}

// Ocamba documents no 409, 412 or 422: clashes and refused changes are its 400.
const OCAMBA_STATUS: Partial<Record<ErrorCode, OcambaStatus>> = { ALREADY_EXISTS: 400, CONFLICT: 400, PRECONDITION_FAILED: 400, LIMIT_EXCEEDED: 400 };

const statusOf = (code: ErrorCode): OcambaStatus => OCAMBA_STATUS[code] ?? (codeToStatus(code) as OcambaStatus);

/** Any other client error a framework raises is presented as the nearest documented one. */
const clientStatus = (status: number): OcambaStatus => (status in TITLES ? (status as OcambaStatus) : 400);

export function sendOcambaError(reply: FastifyReply, status: OcambaStatus, message: string): FastifyReply {
  const body: OcambaError = { code: status, title: TITLES[status], message, trace_id: String(reply.request.id) };
  return reply.code(status).send(body);
}

/** Native field names in service details, as an Ocamba client knows them; others are left out. */
const OCAMBA_FIELD: Record<string, string> = {
  name: 'label',
  display_name: 'label',
  data_type: 'data_type',
  example: 'example',
  description: 'description',
  export_alias: 'export_alias',
  import_aliases: 'export_alias', // the only alias an Ocamba client sets
  pii: 'pi_data',
  importable: 'importable',
  exportable: 'exportable',
};

/** Why a field a request may not carry was refused, in words that say what to do instead. */
const REFUSED_FIELD: Record<string, string> = {
  target: 'is no longer accepted in requests; send label instead',
  label: 'cannot be changed after creation',
  data_type: 'cannot be changed after creation',
  id: 'is assigned by the server and cannot be sent',
  company_id: 'is assigned by the server and cannot be sent',
  system: 'is read-only',
  import_aliases: 'is read-only; it always holds export_alias',
  create_time: 'is read-only',
  update_time: 'is read-only',
};

/**
 * One message naming every problem: the service's sentence, then each field and what is wrong
 * with it, e.g. `The request is not valid: pi_data must be one of 0, 1; label is required.`
 */
export function messageOf(message: string, details: readonly ErrorDetail[], source: 'body' | 'query' | 'service'): string {
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const d of details) {
    const top = d.field.replace(/[[.].*$/, '');
    // Request fields are already Ocamba's; a service speaks of native fields.
    const field = source === 'service' ? OCAMBA_FIELD[top] : d.field;
    // A service may name one clash twice (as name and as display name): once is enough.
    if (field === undefined || (source === 'service' && seen.has(field))) continue;
    seen.add(field);
    let problem = d.problem;
    if (d.reason === 'UNKNOWN_FIELD') {
      problem = source === 'query' ? 'is not a parameter of this endpoint' : (REFUSED_FIELD[field] ?? problem);
    } else if (field === 'label' && d.reason === 'PATTERN') {
      problem = 'must start with a letter or _ and hold only letters, digits and _';
    }
    const allowed = d.allowed && d.allowed.length > 0 ? ` (${d.allowed.join(', ')})` : '';
    parts.push(`${field} ${problem}${allowed}`);
  }
  if (parts.length === 0) return message;
  const said = `${message.replace(/\.$/, '')}: ${parts.join('; ')}`;
  // A suggestion ends in a question mark already.
  return said.endsWith('?') ? said : `${said}.`;
}

/** Anything thrown while serving a request, in Ocamba's envelope; undefined when it is not ours. */
export function presentOcambaError(reply: FastifyReply, error: unknown): FastifyReply | undefined {
  const known = classifyError(error, reply.request);
  const e = error as FastifyError;
  if (!known) {
    // Whatever else the framework refuses as the client's fault stays a 4xx, never a 500.
    const status = e?.statusCode;
    return status !== undefined && status >= 400 && status < 500 ? sendOcambaError(reply, clientStatus(status), 'The request is not valid.') : undefined;
  }
  if (e.validation) {
    const query = e.validationContext === 'querystring';
    return sendOcambaError(reply, 400, messageOf(query ? 'The query is not valid.' : 'The request body is not valid.', known.details, query ? 'query' : 'body'));
  }
  if (!(error instanceof AppError)) return sendOcambaError(reply, statusOf(known.code), known.message);
  switch (error.reason) {
    case 'BAD_URL':
      return sendOcambaError(reply, 400, error.message);
    case 'OPERATOR_NOT_SERVED':
      return sendOcambaError(reply, 401, 'The operator token serves /v1 only; this API takes a tenant API key.');
    case 'MISSING_SCOPE':
      return sendOcambaError(reply, 403, `This API key lacks the ${String(reply.request.routeOptions.config.auth)} scope.`);
    default:
      return sendOcambaError(reply, statusOf(error.code), messageOf(error.message, error.details, 'service'));
  }
}

/** Ocamba's words for a 500: the trace_id names it in the logs. */
export const sendOcambaInternal = (reply: FastifyReply) => sendOcambaError(reply, 500, 'Something went wrong on our side; the trace_id identifies it in our logs.');
