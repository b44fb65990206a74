// How a checked value is stored and found again: its JSON (encrypted for PII), its searchable
// form (text cut for the index, a number, or a PII value's blind index), and the key that
// identity and unique values claim. Also turns a search filter's text into that stored form.
import { createHash } from 'node:crypto';
import { AppError } from '../../shared/errors.ts';
import { isEncrypted, type PiiCipher } from '../../shared/pii-cipher.ts';
import type { Property } from '../properties/property.ts';
import type { FilterOp, ValueFilter, ValueRow } from './profiles.repository.ts';
import { checkValue } from './values.ts';

/** Search sees the first this-many characters of a text value. */
export const INDEXED_CHARS = 512;
/** Longer identity and unique values are keyed by their hash (index entries have a size limit). */
const KEY_CHARS = 256;

type Stored = Pick<ValueRow, 'v_text' | 'v_num' | 'v_json'>;
type FilterValue = { value: ValueFilter['value'] } | { problem: string; allowed?: unknown[] };

const TEXT_OPS: FilterOp[] = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'contains', 'prefix', 'exists'];
const NUMBER_OPS: FilterOp[] = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'exists'];
const EQUALITY_OPS: FilterOp[] = ['eq', 'ne', 'in', 'exists'];

export type ValueCodec = ReturnType<typeof createValueCodec>;

export function createValueCodec(cipher: PiiCipher | undefined) {
  function mustCipher(def: Property): PiiCipher {
    if (!cipher) throw new AppError('CONFLICT', `"${def.name}" is PII and this server has no PROPDICT_ENCRYPTION_KEY to store it with.`);
    return cipher;
  }

  /** The text a blind index is taken of: equal values, equal text. */
  const plainText = (item: unknown) => (typeof item === 'string' ? item : JSON.stringify(item));

  const columnOf = (def: Property): 'v_text' | 'v_num' => (!def.pii && (def.data_type === 'number' || def.data_type === 'integer') ? 'v_num' : 'v_text');

  function encodeItem(def: Property, item: unknown, pii = def.pii): Stored {
    if (pii) {
      const c = mustCipher(def);
      return { v_json: c.encrypt(JSON.stringify(item)), v_text: def.data_type === 'json' ? null : c.blindIndex(plainText(item)), v_num: null };
    }
    const v_json = JSON.stringify(item);
    if (def.data_type === 'json') return { v_json, v_text: null, v_num: null };
    if (typeof item === 'number') return { v_json, v_text: null, v_num: item };
    return { v_json, v_text: String(item).slice(0, INDEXED_CHARS), v_num: null };
  }

  function decodeItem(def: Property, v_json: string): unknown {
    return JSON.parse(isEncrypted(v_json) ? mustCipher(def).decrypt(v_json) : v_json);
  }

  /** The key an identity or unique value claims in profile_keys; long values by their hash, so none is cut. */
  function keyOf(def: Property, value: unknown): string {
    if (def.pii) return mustCipher(def).blindIndex(plainText(value));
    const text = plainText(value);
    return text.length <= KEY_CHARS ? text : `sha256:${createHash('sha256').update(text).digest('hex')}`;
  }

  /** A filter's text from the query string, in the stored form of its property's values. */
  function filterValue(def: Property, op: FilterOp, raw: string): FilterValue {
    const ops =
      def.data_type === 'json'
        ? ['exists']
        : def.pii || def.data_type === 'boolean' || def.data_type === 'enum'
          ? EQUALITY_OPS
          : columnOf(def) === 'v_num'
            ? NUMBER_OPS
            : TEXT_OPS;
    if (!ops.includes(op)) return { problem: `${op} does not apply to ${def.pii ? 'a PII property' : `data_type ${def.data_type}`}`, allowed: ops };
    if (op === 'exists') return raw === 'true' || raw === 'false' ? { value: raw === 'true' } : { problem: 'must be true or false' };

    const one = (text: string): string | number | { problem: string; allowed?: unknown[] } => {
      if (def.data_type === 'boolean') {
        if (text !== 'true' && text !== 'false') return { problem: 'must be true or false' };
        return def.pii ? keyOf(def, text === 'true') : text;
      }
      if (def.data_type === 'number' || def.data_type === 'integer') {
        const n = Number(text);
        if (text.trim() === '' || !Number.isFinite(n)) return { problem: 'must be a number' };
        return def.pii ? keyOf(def, n) : n;
      }
      if (op === 'contains' || op === 'prefix') return text;
      // The filter value is normalised as a stored value would be (emails lower-cased, ...).
      const checked = checkValue({ ...def, multi_valued: false, validation: null }, text);
      if (!checked.ok) return checked.allowed ? { problem: checked.problem, allowed: checked.allowed } : { problem: checked.problem };
      return def.pii ? keyOf(def, checked.value) : String(checked.value).slice(0, INDEXED_CHARS);
    };
    if (op === 'in') {
      const values = raw.split(',').map(one);
      const bad = values.find((v) => typeof v === 'object');
      return bad ? (bad as { problem: string }) : { value: values as (string | number)[] };
    }
    const value = one(raw);
    return typeof value === 'object' ? value : { value };
  }

  return { columnOf, encodeItem, decodeItem, keyOf, filterValue, hasCipher: cipher !== undefined };
}
