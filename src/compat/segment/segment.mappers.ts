// Pure translations from Segment's HTTP Tracking API calls to ingestion calls. Segment's field
// names stop here: userId, anonymousId, previousId, traits and context.traits, timestamp (or
// RudderStack's originalTimestamp) corrected by sentAt, messageId. No rule lives here.
import type { IngestCall } from '../../modules/ingestion/ingestion.ts';

export const CALL_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
export type CallType = (typeof CALL_TYPES)[number];

/** Segment's limits: 32 KB a call, 500 KB a batch (bytes of JSON, after any gzip is inflated). */
export const MAX_CALL_BYTES = 32 * 1024;
export const MAX_BATCH_BYTES = 500 * 1024;

export type ReadCall =
  | { ok: true; call: IngestCall }
  | { ok: false; problem: 'no_identifier' | 'call_too_large' | 'invalid_call'; trait: string; message: string; value: unknown };

/** What a batch gives every call in it. */
export interface BatchShared {
  context?: unknown;
  sentAt?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The size of a value as JSON, counted without recursion (a call may nest thousands deep) and
 * only until it passes `limit`. Escapes are not counted: close enough for a limit.
 */
export function jsonBytes(value: unknown, limit: number): number {
  let bytes = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && bytes <= limit) {
    const v = stack.pop();
    if (typeof v === 'string') bytes += Buffer.byteLength(v) + 2;
    else if (typeof v === 'number' || typeof v === 'boolean') bytes += String(v).length;
    else if (v === null) bytes += 4;
    else if (Array.isArray(v)) {
      bytes += 2 + Math.max(0, v.length - 1);
      for (const item of v) stack.push(item);
    } else if (typeof v === 'object') {
      const entries = Object.entries(v);
      bytes += 2 + Math.max(0, entries.length - 1);
      for (const [key, item] of entries) {
        bytes += Buffer.byteLength(key) + 3;
        stack.push(item);
      }
    }
  }
  return bytes;
}

/** A Segment id: a non-empty string, or a number as SDKs sometimes send (read as its text). */
function readId(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' && value !== '' && !value.includes('\u0000') ? value : undefined;
}

/** An ISO 8601 date-time as milliseconds; undefined when absent or not a date. */
function readTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * When the call's values are dated: its timestamp, moved by the difference between our clock and
 * the sender's (receivedAt − sentAt), as Segment corrects a device clock; never later than
 * receipt. Without a timestamp, the time of receipt.
 */
export function callTime(call: Record<string, unknown>, shared: BatchShared, receivedAt: Date): { at: string; invalid?: unknown } {
  const given = call.timestamp ?? call.originalTimestamp;
  const stamp = readTime(given);
  const received = receivedAt.getTime();
  if (stamp === undefined) return given === undefined ? { at: receivedAt.toISOString() } : { at: receivedAt.toISOString(), invalid: given };
  const sent = readTime(call.sentAt ?? shared.sentAt);
  const corrected = sent === undefined ? stamp : stamp + (received - sent);
  return { at: new Date(Math.min(corrected, received)).toISOString() };
}

/** Trait entries: a batch's context traits, then the call's, then (identify) its own traits; later names win. */
function traitsOf(type: CallType, call: Record<string, unknown>, shared: BatchShared): [string, unknown][] | string {
  const layers: unknown[] = [isObject(shared.context) ? shared.context.traits : undefined, isObject(call.context) ? call.context.traits : undefined];
  if (type === 'identify') layers.push(call.traits);
  const traits = new Map<string, unknown>();
  for (const layer of layers) {
    if (layer === undefined || layer === null) continue;
    if (!isObject(layer)) return 'traits must be a JSON object';
    for (const [name, value] of Object.entries(layer)) traits.set(name, value);
  }
  return [...traits];
}

/**
 * One call as ingestion takes it, or why it cannot be read. `type` is the endpoint's; a batch
 * item names its own.
 */
export function readCall(raw: unknown, endpoint: CallType | undefined, shared: BatchShared, receivedAt: Date): ReadCall & { invalidTimestamp?: unknown } {
  if (!isObject(raw)) return { ok: false, problem: 'invalid_call', trait: 'type', message: 'a call must be a JSON object', value: raw };
  const type = endpoint ?? raw.type;
  if (!CALL_TYPES.includes(type as CallType)) {
    return { ok: false, problem: 'invalid_call', trait: 'type', message: `type must be one of ${CALL_TYPES.join(', ')}`, value: raw.type };
  }
  if (endpoint === undefined && jsonBytes(raw, MAX_CALL_BYTES) > MAX_CALL_BYTES) {
    return { ok: false, problem: 'call_too_large', trait: 'type', message: `a call must be at most ${MAX_CALL_BYTES / 1024} KB`, value: type };
  }
  const userId = readId(raw.userId);
  const anonymousId = type === 'alias' ? undefined : readId(raw.anonymousId);
  const previousId = type === 'alias' ? readId(raw.previousId) : undefined;
  if (type === 'alias' && (userId === undefined || previousId === undefined)) {
    return { ok: false, problem: 'no_identifier', trait: userId === undefined ? 'userId' : 'previousId', message: 'an alias call needs both userId and previousId', value: userId ?? raw.previousId ?? null };
  }
  if (userId === undefined && anonymousId === undefined) {
    return { ok: false, problem: 'no_identifier', trait: 'userId', message: 'a call needs a userId or an anonymousId', value: raw.userId ?? raw.anonymousId ?? null };
  }
  const traits = traitsOf(type as CallType, raw, shared);
  if (typeof traits === 'string') return { ok: false, problem: 'invalid_call', trait: 'traits', message: traits, value: null };
  const time = callTime(raw, shared, receivedAt);
  const messageId = readId(raw.messageId);
  const call: IngestCall = { traits, timestamp: time.at };
  if (userId !== undefined) call.userId = userId;
  if (anonymousId !== undefined) call.anonymousId = anonymousId;
  if (previousId !== undefined) call.previousId = previousId;
  if (messageId !== undefined) call.messageId = messageId;
  return time.invalid === undefined ? { ok: true, call } : { ok: true, call, invalidTimestamp: time.invalid };
}
