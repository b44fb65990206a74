// Bodies are strict (no type coercion, unknown fields refused); query strings and path
// parameters are text on the wire, so only they are coerced. Every failing field is reported.
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import type { DetailReason, ErrorDetail } from '../shared/errors.ts';

// ajv-formats ships CommonJS whose typings describe the namespace, while Node hands the
// function itself to a default import.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({ allErrors: true, coerceTypes, useDefaults: true, removeAdditional: false, strict: false });
  addFormats(ajv);
  return ajv;
}

export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = makeAjv(false);
  const coercing = makeAjv(true);
  return ({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema as object);
}

/** `/inputs/0/name` → `inputs[0].name` */
function toFieldPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').slice(1);
  if (extra !== undefined) parts.push(extra);
  return parts.reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

/**
 * Whether an error shows that the value at `path` has the type of a non-null branch and failed
 * in it (inside a member, a missing or unknown field, or a bound such as minimum or maxLength).
 */
function failedPastItsType(e: ErrorObject, path: string): boolean {
  return e.instancePath.startsWith(`${path}/`) || (e.instancePath === path && e.keyword !== 'type' && e.keyword !== 'anyOf');
}

/** Turns Ajv's errors into one detail per failing field, in a client's words. */
export function detailsFromAjv(errors: readonly ErrorObject[], root?: string): ErrorDetail[] {
  const byField = new Map<string, ErrorDetail>();
  const prefix = (field: string) => field || root || 'body';
  for (const e of errors) {
    // A nullable value of the right type that failed a rule: its "must be null" branch is noise.
    if (e.keyword === 'type' && (e.params as { type?: string }).type === 'null' && errors.some((o) => failedPastItsType(o, e.instancePath))) continue;
    let field: string;
    let problem: string;
    let allowed: unknown[] | undefined;
    let reason: DetailReason | undefined;
    switch (e.keyword) {
      case 'required':
        field = toFieldPath(e.instancePath, (e.params as { missingProperty: string }).missingProperty);
        problem = 'is required';
        reason = 'REQUIRED';
        break;
      case 'additionalProperties':
        field = toFieldPath(e.instancePath, (e.params as { additionalProperty: string }).additionalProperty);
        problem = 'is not a known field';
        reason = 'UNKNOWN_FIELD';
        break;
      case 'enum':
        field = toFieldPath(e.instancePath);
        problem = 'must be one of the allowed values';
        allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
        break;
      case 'const':
        field = toFieldPath(e.instancePath);
        problem = 'must be one of the allowed values';
        allowed = [(e.params as { allowedValue: unknown }).allowedValue];
        break;
      case 'pattern':
        field = toFieldPath(e.instancePath);
        problem = e.message ?? 'is not valid';
        reason = 'PATTERN';
        break;
      case 'anyOf':
        continue; // its branches have reported what each one expected
      default:
        field = toFieldPath(e.instancePath);
        problem = e.message ?? 'is not valid';
    }
    const key = prefix(field);
    const seen = byField.get(key);
    if (!seen) byField.set(key, { field: key, problem, ...(allowed ? { allowed } : {}), ...(reason ? { reason } : {}) });
    else {
      if (!seen.problem.includes(problem)) seen.problem = `${seen.problem} or ${problem}`;
      if (allowed) seen.allowed = [...(seen.allowed ?? []), ...allowed];
    }
  }
  return [...byField.values()];
}
