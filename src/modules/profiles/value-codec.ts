// How a checked value is stored and found again: its JSON (encrypted for PII), its searchable
// form (text cut for the index, a number, or a PII value's blind index), and the key that
// identity and unique values claim. Also turns a search filter's text into that stored form.
import { createHash } from 'node:crypto';
import { AppError } from '../../shared/errors.ts';
import { isEncrypted, type PiiCipher } from '../../shared/pii-cipher.ts';
import type { Property } from '../properties/property.ts';
import { filterOpsFor, type FilterOp } from './filter-ops.ts';
import type { ValueColumn, ValueFilter } from './profile-search.ts';
import { checkValue } from './values.ts';

/** Search sees the first this-many characters of a text value. */
export const INDEXED_CHARS = 512;
/** Longer identity and unique values are keyed by their hash (index entries have a size limit). */
const KEY_CHARS = 256;

/** One stored item of a value: its JSON and its searchable form. */
export interface StoredItem {
  v_text: string | null;
  v_num: number | null;
  v_json: string;
}
/** A stored row of a value, as a profile's value rows hold it. */
export interface StoredRow extends StoredItem {
  position: number;
  source: string | null;
  written_at: string;
}
type FilterValue = { value: ValueFilter['value'] } | { problem: string; allowed?: unknown[] };


export type ValueCodec = ReturnType<typeof createValueCodec>;

/** Whether a value is stored as one row per item; any other is one row (a multi-valued json value is one JSON array, stored whole). */
export const itemised = (def: Pick<Property, 'multi_valued' | 'data_type'>) => def.multi_valued && def.data_type !== 'json';

// A factory so that every function shares the server's cipher (or its absence); each is short.
export function createValueCodec(cipher: PiiCipher | undefined) {
  function mustCipher(def: Property): PiiCipher {
    if (!cipher) throw new AppError('CONFLICT', `"${def.name}" is PII and this server has no PROPDICT_ENCRYPTION_KEY to store it with.`);
    return cipher;
  }

  /** The text a blind index is taken of: equal values, equal text. */
  const plainText = (item: unknown) => (typeof item === 'string' ? item : JSON.stringify(item));

  const columnOf = (def: Property): ValueColumn => (!def.pii && (def.data_type === 'number' || def.data_type === 'integer') ? 'v_num' : 'v_text');

  function encodeItem(def: Property, item: unknown, pii = def.pii): StoredItem {
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

  /** A value's stored rows, one per item, each with the write's provenance; none for null. */
  function encodeValue(def: Property, value: unknown, meta: { source: string | null; written_at: string }): StoredRow[] {
    if (value === null) return [];
    const items = itemised(def) ? (value as unknown[]) : [value];
    // Field by field: a literal built by spreading takes V8's slow path, and a batch stores thousands.
    return items.map((item, position) => {
      const { v_text, v_num, v_json } = encodeItem(def, item);
      return { position, v_text, v_num, v_json, source: meta.source, written_at: meta.written_at };
    });
  }

  /** The value a property's stored rows (in position order) hold. */
  function decodeValue(def: Property, rows: readonly Pick<StoredRow, 'v_json'>[]): unknown {
    const items = rows.map((r) => decodeItem(def, r.v_json));
    return itemised(def) ? items : items[0];
  }

  /** The key an identity or unique value claims in profile_keys; long values by their hash, so none is cut. */
  function keyOf(def: Property, value: unknown): string {
    if (def.pii) return mustCipher(def).blindIndex(plainText(value));
    const text = plainText(value);
    return text.length <= KEY_CHARS ? text : `sha256:${createHash('sha256').update(text).digest('hex')}`;
  }

  /**
   * Every key a value may be claimed under: one, or during a key rotation the blind index under
   * the current key and under the previous one (values not yet re-encrypted hold that).
   */
  function keysOf(def: Property, value: unknown): string[] {
    return def.pii ? mustCipher(def).blindIndexes(plainText(value)) : [keyOf(def, value)];
  }

  /** A filter's text from the query string, in the stored form of its property's values. */
  function filterValue(def: Property, op: FilterOp, raw: string): FilterValue {
    const ops = filterOpsFor(def);
    if (!ops.includes(op)) return { problem: `${op} does not apply to ${def.pii ? 'a PII property' : `data_type ${def.data_type}`}`, allowed: [...ops] };
    if (op === 'exists') return raw === 'true' || raw === 'false' ? { value: raw === 'true' } : { problem: 'must be true or false' };

    // A PII value is looked for by its blind index under every key it may still be under.
    const one = (text: string): string | number | string[] | { problem: string; allowed?: unknown[] } => {
      if (def.data_type === 'boolean') {
        if (text !== 'true' && text !== 'false') return { problem: 'must be true or false' };
        return def.pii ? keysOf(def, text === 'true') : text;
      }
      if (def.data_type === 'number' || def.data_type === 'integer') {
        const n = Number(text);
        if (text.trim() === '' || !Number.isFinite(n)) return { problem: 'must be a number' };
        return def.pii ? keysOf(def, n) : n;
      }
      if (op === 'contains' || op === 'prefix') return text;
      // The filter value is normalised as a stored value would be (emails lower-cased, ...).
      const checked = checkValue({ ...def, multi_valued: false, validation: null }, text);
      if (!checked.ok) return checked.allowed ? { problem: checked.problem, allowed: checked.allowed } : { problem: checked.problem };
      return def.pii ? keysOf(def, checked.value) : String(checked.value).slice(0, INDEXED_CHARS);
    };
    const isProblem = (v: ReturnType<typeof one>): v is { problem: string; allowed?: unknown[] } => typeof v === 'object' && !Array.isArray(v);
    if (op === 'in') {
      const values = raw.split(',').map(one);
      const bad = values.find(isProblem);
      return bad ? bad : { value: (values as (string | number | string[])[]).flat() };
    }
    const value = one(raw);
    if (isProblem(value)) return value;
    // eq and ne on several forms of one value: any of them (see valueTest).
    return { value: Array.isArray(value) && value.length === 1 ? value[0] : value };
  }

  return {
    /**
     * Text that may hold PII outside the values (an import's stored rows, a rejected cell),
     * sealed as PII values are when the server has a key; as it is without one (no property can
     * then be PII).
     */
    sealText: (text: string): string => (cipher ? cipher.encrypt(text) : text),
    /** Sealed text opened again; plain text as it is. */
    openText: (text: string): string => (cipher && isEncrypted(text) ? cipher.decrypt(text) : text),
    columnOf,
    encodeValue,
    decodeValue,
    keyOf,
    keysOf,
    filterValue,
    hasCipher: cipher !== undefined,
    /** What values under the current key start with; undefined without a key. */
    currentPrefix: cipher?.currentPrefix,
    /** Whether a key rotation is under way (values may still be under the previous key). */
    rotating: cipher?.previousFingerprint !== undefined,
  };
}
