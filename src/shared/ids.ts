import { createHash, randomBytes, randomUUID } from 'node:crypto';

export interface IdGenerator {
  uid(): string;
  keyId(): string;
  jobId(): string;
  requestId(): string;
  token(): string;
}

export const randomIds: IdGenerator = {
  uid: () => randomUUID(),
  keyId: () => `key_${randomBytes(9).toString('base64url')}`,
  jobId: () => `job_${randomBytes(9).toString('base64url')}`,
  requestId: () => randomUUID(),
  // 32 random bytes: long enough that a fast hash is a safe way to store it.
  token: () => `pd_${randomBytes(32).toString('base64url')}`,
};

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
