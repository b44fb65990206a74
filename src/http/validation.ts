// Bodies are strict (no type coercion, unknown fields refused); query strings and path
// parameters are text on the wire, so only they are coerced. Every failing field is reported.
import { Ajv, type AnySchemaObject, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { PROFILE_ID_PATTERN } from '../modules/profiles/profile.ts';
import { LANGUAGE_TAG } from '../modules/properties/properties.schemas.ts';
import { NAME_PATTERN, NAME_RULE } from '../modules/properties/property.ts';
import { INPUT_PATH_PATTERN } from '../modules/sources/source.ts';
import type { DetailReason, ErrorDetail } from '../shared/errors.ts';

// ajv-formats ships CommonJS whose typings describe the namespace, while Node hands the
// function itself to a default import.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerceTypes: boolean): Ajv {
  // verbose: each error carries the schema it failed, so a problem can name the fields expected.
  const ajv = new Ajv({ allErrors: true, coerceTypes, useDefaults: true, removeAdditional: false, strict: false, verbose: true });
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

const ARTICLE: Record<string, string> = { integer: 'an integer', number: 'a number', string: 'a string', boolean: 'true or false', array: 'an array', null: 'null' };
const FORMATS: Record<string, string> = {
  'date-time': 'an RFC 3339 date and time such as 2026-11-23T12:00:00Z',
  date: 'a date such as 2026-11-23',
  email: 'an email address',
  uri: 'a URL',
};

/** The object a schema expects, as `{value, label?}`: required fields bare, optional ones with `?`. */
function shapeOf(schema: AnySchemaObject | undefined): string {
  const names = Object.keys(schema?.properties ?? {});
  if (names.length === 0) return 'an object';
  const required: string[] = schema?.required ?? [];
  return `an object {${names.map((n) => (required.includes(n) ? n : `${n}?`)).join(', ')}}`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A rule a value broke, in words rather than the validator's phrasing. */
function ruleInWords(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  const limit = Number(p.limit);
  switch (e.keyword) {
    case 'type': {
      const types = String(p.type).split(',');
      return `must be ${types.map((t) => (t === 'object' ? shapeOf(e.parentSchema) : (ARTICLE[t] ?? t))).join(' or ')}`;
    }
    case 'minLength':
      return limit === 1 ? 'must not be empty' : `must be at least ${plural(limit, 'character')} long`;
    case 'maxLength':
      return `must be at most ${plural(limit, 'character')} long`;
    case 'minimum':
      return `must be at least ${limit}`;
    case 'maximum':
      return `must be at most ${limit}`;
    case 'exclusiveMinimum':
      return `must be more than ${limit}`;
    case 'exclusiveMaximum':
      return `must be less than ${limit}`;
    case 'minItems':
      return limit === 1 ? 'must hold at least one item' : `must hold at least ${plural(limit, 'item')}`;
    case 'maxItems':
      return `must hold at most ${plural(limit, 'item')}`;
    case 'minProperties':
      return limit === 1 ? 'must name at least one field' : `must name at least ${plural(limit, 'field')}`;
    case 'maxProperties':
      return `must name at most ${plural(limit, 'field')}`;
    case 'uniqueItems':
      return 'must not hold the same item twice';
    case 'format':
      return `must be ${FORMATS[String(p.format)] ?? `in the ${String(p.format)} format`}`;
    default:
      return e.message ?? 'is not valid';
  }
}

/** The patterns fields use, in words: a person reads a rule, not a regular expression. */
const PATTERNS_IN_WORDS: Record<string, string> = {
  [NAME_PATTERN.source]: NAME_RULE,
  [INPUT_PATH_PATTERN]: 'a dot path of names with optional [n] indexes, such as properties.customer_id or ids[0].value',
  [PROFILE_ID_PATTERN]: '1 to 128 letters, digits and . _ : @ -',
  [LANGUAGE_TAG]: 'a language tag such as en or en_US',
};

/** Other names people reach for, and what they mean (matched without case or underscores). */
const SYNONYMS: Record<string, string> = { label: 'displayname', title: 'displayname', type: 'datatype' };

/** Edits (insert, delete, replace, swap two neighbours) that turn one word into another. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** A field name compared without case or underscores: display_name, displayName and DISPLAYNAME are one. */
const squash = (name: string) => name.toLowerCase().replace(/_/g, '');
/** The words of a field name: display_name and displayName are both display + name. */
const wordsOf = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().split('_');

/**
 * The known field an unknown one most likely meant, on any surface (snake_case or camelCase):
 * a synonym people reach for (type for data_type or propertyType), the one known field it is a
 * word of, else the nearest within a typo or two.
 */
export function nearestField(name: string, known: readonly string[]): string | undefined {
  const wanted = squash(name);
  const bySynonym = known.find((k) => squash(k) === SYNONYMS[wanted]);
  if (bySynonym !== undefined) return bySynonym;
  // A word as short as id is part of too many names to point at one.
  const byWord = wanted.length < 3 ? [] : known.filter((k) => wordsOf(k).includes(wanted));
  if (byWord.length === 1) return byWord[0];
  const close = known.map((k) => ({ k, d: distance(wanted, squash(k)) })).filter(({ d }) => d <= Math.min(2, Math.floor(wanted.length / 3)));
  return close.sort((x, y) => x.d - y.d)[0]?.k;
}

/** An unknown field or parameter, and the known one it most likely meant. */
function unknownField(name: string, schema: AnySchemaObject | undefined, inQuery: boolean): string {
  const problem = inQuery ? 'is not a known parameter' : 'is not a known field';
  const meant = nearestField(name, Object.keys(schema?.properties ?? {}));
  return meant === undefined ? problem : `${problem}; did you mean ${meant}?`;
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
        problem = unknownField((e.params as { additionalProperty: string }).additionalProperty, e.parentSchema, root === 'querystring');
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
        // A key of a map (propertyNames) is named with its map: i18n_display_names.en-US!
        field = toFieldPath(e.instancePath, e.propertyName);
        problem = `must be ${PATTERNS_IN_WORDS[String((e.params as { pattern: string }).pattern)] ?? 'in the form this field takes'}`;
        reason = 'PATTERN';
        break;
      case 'anyOf':
      case 'propertyNames':
        continue; // its branches, or the key's own rule, have reported what each one expected
      default:
        field = toFieldPath(e.instancePath);
        problem = ruleInWords(e);
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
