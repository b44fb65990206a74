// Encryption at rest for PII values: AES-256-GCM with a random IV per value, and a keyed hash
// (HMAC-SHA256, a "blind index") so equal values can still be found without decrypting.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

const PREFIX = 'enc:v1:';

export interface PiiCipher {
  encrypt(plaintext: string): string;
  decrypt(stored: string): string;
  /** The same input always gives the same output; without the key it reveals nothing. */
  blindIndex(plaintext: string): string;
}

/** Stored text that this cipher wrote (as opposed to a plain JSON value). */
export const isEncrypted = (stored: string) => stored.startsWith(PREFIX);

/** The key is 32 bytes, given as 64 hex characters or base64. */
export function parseEncryptionKey(raw: string): Buffer | undefined {
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  return key.length === 32 ? key : undefined;
}

/**
 * What names a key in messages and in the database without revealing it: 16 hex characters of a
 * value derived from it (as the cipher's own keys are, under another label).
 */
export function keyFingerprint(key: Buffer): string {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'propdict key fingerprint', 8)).toString('hex');
}

export function createPiiCipher(key: Buffer): PiiCipher {
  // Separate keys for encryption and for the blind index, both derived from the one secret.
  const encKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'propdict pii encryption', 32));
  const macKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'propdict pii index', 32));
  return {
    encrypt(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', encKey, iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    decrypt(stored) {
      const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
      const decipher = createDecipheriv('aes-256-gcm', encKey, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    },
    blindIndex(plaintext) {
      return createHmac('sha256', macKey).update(plaintext).digest('hex');
    },
  };
}
