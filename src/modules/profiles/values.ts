// Profile values checked against their property's definition, and normalised to the one form
// they are stored in. Pure: no database, no HTTP.
import type { Property } from '../properties/property.ts';

export type Checked = { ok: true; value: unknown } | { ok: false; problem: string; allowed?: unknown[] };

/** Largest serialised `json` value, in bytes. */
export const MAX_JSON_BYTES = 65_536;
/** Deepest nesting of a `json` value. */
export const MAX_JSON_DEPTH = 32;

/** How deep a JSON value nests, counting only as far as the limit needs. */
function depthOf(value: unknown, depth = 0): number {
  if (depth > MAX_JSON_DEPTH || value === null || typeof value !== 'object') return depth;
  let deepest = depth + 1;
  for (const child of Object.values(value)) deepest = Math.max(deepest, depthOf(child, depth + 1));
  return deepest;
}

/** Most items in one multi-valued value. */
export const MAX_ITEMS = 1000;
/** Longest string-like value (text may be long; the others are bounded by validation or this). */
export const MAX_TEXT_LENGTH = 65_536;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
// RFC 3339: full date, 'T' (or space is not allowed), time with seconds, optional fraction, offset.
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
// Deliberately plain: one @, a dot in the domain, no spaces; the mailbox provider decides the rest.
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
const E164 = /^\+[1-9]\d{1,14}$/;

const ok = (value: unknown): Checked => ({ ok: true, value });
const fail = (problem: string, allowed?: unknown[]): Checked => (allowed ? { ok: false, problem, allowed } : { ok: false, problem });

function isRealDate(y: number, m: number, d: number): boolean {
  // setUTCFullYear, not Date.UTC, which reads the years 0–99 as 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(y, m - 1, d);
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/**
 * An RFC 3339 date and time as the instant it names (UTC, `toISOString` form); undefined when it
 * is not one: the date must exist, the time and the offset be in range (`+25:00` is not).
 */
export function toInstant(text: string): string | undefined {
  const m = DATETIME.exec(text);
  if (!m || !isRealDate(Number(m[1]), Number(m[2]), Number(m[3])) || Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) return undefined;
  const offset = /^[+-](\d{2}):(\d{2})$/.exec(m[8]);
  if (offset && (Number(offset[1]) > 23 || Number(offset[2]) > 59)) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function checkLength(p: Property, s: string): Checked | undefined {
  const v = p.validation;
  if (v?.min_length !== undefined && s.length < v.min_length) return fail(`must be at least ${v.min_length} characters long`);
  if (v?.max_length !== undefined && s.length > v.max_length) return fail(`must be at most ${v.max_length} characters long`);
  if (s.length > MAX_TEXT_LENGTH) return fail(`must be at most ${MAX_TEXT_LENGTH} characters long`);
  if (v?.pattern !== undefined && !new RegExp(v.pattern, 'u').test(s)) return fail(`must match the pattern ${v.pattern}`);
  return undefined;
}

function checkRange(p: Property, n: number): Checked | undefined {
  const v = p.validation;
  if (v?.minimum !== undefined && n < v.minimum) return fail(`must be at least ${v.minimum}`);
  if (v?.maximum !== undefined && n > v.maximum) return fail(`must be at most ${v.maximum}`);
  return undefined;
}

/** One (single) value: its normalised form, or what is wrong with it. One case per data type, hence the length. */
export function checkScalar(p: Property, value: unknown): Checked {
  switch (p.data_type) {
    case 'string':
    case 'text': {
      if (typeof value !== 'string') return fail('must be a string');
      return checkLength(p, value) ?? ok(value);
    }
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return fail('must be a number');
      return checkRange(p, value) ?? ok(value);
    }
    case 'integer': {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return fail('must be an integer');
      return checkRange(p, value) ?? ok(value);
    }
    case 'boolean':
      return typeof value === 'boolean' ? ok(value) : fail('must be true or false');
    case 'date': {
      const m = typeof value === 'string' ? DATE.exec(value) : null;
      if (!m) return fail('must be a date as YYYY-MM-DD');
      return isRealDate(Number(m[1]), Number(m[2]), Number(m[3])) ? ok(value) : fail('is not a date that exists');
    }
    case 'datetime': {
      const instant = typeof value === 'string' ? toInstant(value) : undefined;
      return instant === undefined ? fail('must be an RFC 3339 date-time such as 2026-11-23T12:00:00Z') : ok(instant);
    }
    case 'link': {
      if (typeof value !== 'string') return fail('must be an absolute http(s) URL');
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return fail('must be an absolute http(s) URL');
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail('must be an absolute http(s) URL');
      return checkLength(p, value) ?? ok(value);
    }
    case 'email': {
      if (typeof value !== 'string') return fail('must be an email address');
      const email = value.trim().toLowerCase();
      if (!EMAIL.test(email) || email.length > 254) return fail('must be an email address');
      return checkLength(p, email) ?? ok(email);
    }
    case 'phone': {
      if (typeof value !== 'string') return fail('must be a phone number in E.164 form, such as +381641234567');
      const phone = value.replace(/[\s\-.()]/g, '');
      if (!E164.test(phone)) return fail('must be a phone number in E.164 form, such as +381641234567');
      return checkLength(p, phone) ?? ok(phone);
    }
    case 'enum': {
      const allowed = (p.options ?? []).map((o) => o.value);
      return typeof value === 'string' && allowed.includes(value) ? ok(value) : fail('must be one of the options', allowed);
    }
    case 'json': {
      if (depthOf(value) > MAX_JSON_DEPTH) return fail(`must nest at most ${MAX_JSON_DEPTH} levels deep`);
      const size = Buffer.byteLength(JSON.stringify(value) ?? '');
      return size > MAX_JSON_BYTES ? fail(`must serialise to at most ${MAX_JSON_BYTES} bytes`) : ok(value);
    }
  }
}

/** A value as written: null clears it; multi-valued properties take arrays, checked item by item. */
export function checkValue(p: Property, value: unknown): Checked {
  if (value === null) return ok(null);
  if (!p.multi_valued || p.data_type === 'json') {
    if (p.multi_valued && !Array.isArray(value)) return fail('must be an array');
    return checkScalar(p, value);
  }
  if (!Array.isArray(value)) return fail('must be an array');
  if (value.length > MAX_ITEMS) return fail(`must have at most ${MAX_ITEMS} items`);
  const out: unknown[] = [];
  for (const [i, item] of value.entries()) {
    const checked = checkScalar(p, item);
    if (!checked.ok) return fail(`item ${i} ${checked.problem}`, checked.allowed);
    if (!out.some((seen) => JSON.stringify(seen) === JSON.stringify(checked.value))) out.push(checked.value);
  }
  return ok(out);
}
