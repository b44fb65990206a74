// JSON bodies: parsed safely (no __proto__ or constructor.prototype keys) and refused when a
// string holds a NUL character, which no database column can store.
import secureJson from 'secure-json-parse';
import { AppError } from '../shared/errors.ts';

function findNul(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, child] of Object.entries(value)) {
    const childPath = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    if (key.includes('\u0000')) return childPath;
    const found = findNul(child, childPath);
    if (found !== undefined) return found;
  }
  return undefined;
}

export function parseJsonBody(text: string): unknown {
  if (text === '') {
    throw Object.assign(new Error('Body cannot be empty when content-type is set to application/json'), { statusCode: 400, code: 'FST_ERR_CTP_EMPTY_JSON_BODY' });
  }
  let parsed: unknown;
  try {
    parsed = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    throw Object.assign(error as Error, { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' });
  }
  const at = findNul(parsed, '');
  if (at !== undefined) throw new AppError('VALIDATION_FAILED', 'Strings may not hold the NUL character.', [{ field: at || 'body', problem: 'holds a NUL character' }]);
  return parsed;
}
