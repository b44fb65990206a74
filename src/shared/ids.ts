import { hash, randomBytes, randomFillSync, randomUUID } from 'node:crypto';

export interface IdGenerator {
  uid(): string;
  /** Time-ordered (UUIDv7): new profiles land next to each other in every index keyed by id. */
  profileId(): string;
  keyId(): string;
  writeKeyId(): string;
  jobId(): string;
  requestId(): string;
  token(): string;
}

export const randomIds: IdGenerator = {
  uid: () => randomUUID(),
  profileId: () => uuidv7(),
  keyId: () => `key_${randomBytes(9).toString('base64url')}`,
  writeKeyId: () => `wk_${randomBytes(9).toString('base64url')}`,
  jobId: () => `job_${randomBytes(9).toString('base64url')}`,
  requestId: () => randomUUID(),
  // 32 random bytes: long enough that a fast hash is a safe way to store it.
  token: () => `pd_${randomBytes(32).toString('base64url')}`,
};

/** Stored ids are 32-bit integers on both databases: a larger one in a path names nothing. */
export const MAX_ID = 2_147_483_647;
export const isStoredId = (id: number) => Number.isSafeInteger(id) && id >= 1 && id <= MAX_ID;

// Every request hashes its token: the one-shot hash makes no Hash object.
export const hashToken = (token: string) => hash('sha256', token, 'hex');

// Random bytes for UUIDv7s drawn 4 KiB at a time: a batch makes a thousand ids, and a call to
// randomBytes each cost 3% of a batch upsert's CPU.
const POOL = 4096;
const pool = Buffer.alloc(POOL);
let used = POOL;

/** RFC 9562 version 7: 48 bits of Unix milliseconds, then random bits. */
export function uuidv7(now = Date.now()): string {
  if (used + 16 > POOL) {
    randomFillSync(pool);
    used = 0;
  }
  const b = Buffer.from(pool.subarray(used, (used += 16)));
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
