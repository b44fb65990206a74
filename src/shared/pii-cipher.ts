// Encryption at rest for PII values: AES-256-GCM with a random IV per value, and a keyed hash
// (HMAC-SHA256, a "blind index") so equal values can still be found without decrypting.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/** Values written before keys were named: whichever key of the two reads them. */
const LEGACY = 'enc:v1:';

export interface PiiCipher {
  /** Under the current key, tagged with its fingerprint: `enc:v2:<fingerprint>:<base64>`. */
  encrypt(plaintext: string): string;
  /** Under whichever key (current or previous) the value names. */
  decrypt(stored: string): string;
  /** The same input always gives the same output; without the key it reveals nothing. */
  blindIndex(plaintext: string): string;
  /** The blind index under every key a stored value may still be under: current first, then previous. */
  blindIndexes(plaintext: string): string[];
  /** What every value encrypted under the current key starts with. */
  readonly currentPrefix: string;
  /** While a rotation runs: the previous key's fingerprint. */
  readonly previousFingerprint: string | undefined;
}

/** Stored text that the cipher wrote (as opposed to a plain JSON value, which never starts so). */
export const isEncrypted = (stored: string) => stored.startsWith('enc:');

/** The key is 32 bytes, given as 64 hex characters or base64. */
export function parseEncryptionKey(raw: string): Buffer | undefined {
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  return key.length === 32 ? key : undefined;
}

const derive = (key: Buffer, label: string, bytes = 32) => Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), label, bytes));

/**
 * What names a key in messages, in stored values and in the database without revealing it: 16
 * hex characters of a value derived from it (as the cipher's own keys are, under another label).
 */
export function keyFingerprint(key: Buffer): string {
  return derive(key, 'propdict key fingerprint', 8).toString('hex');
}

/** What every value encrypted under the key of this fingerprint starts with. */
export const prefixOf = (fingerprint: string) => `enc:v2:${fingerprint}:`;

/** One key's two derived keys: for encryption and for the blind index. */
function keyPair(key: Buffer) {
  return { fingerprint: keyFingerprint(key), encKey: derive(key, 'propdict pii encryption'), macKey: derive(key, 'propdict pii index') };
}

function open(encKey: Buffer, body: string): string {
  const raw = Buffer.from(body, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', encKey, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}

/**
 * PII encryption under `key`; with `previous` (a rotation under way), values still under the
 * previous key are read with it and found by its blind index too.
 */
export function createPiiCipher(key: Buffer, previous?: Buffer): PiiCipher {
  const current = keyPair(key);
  const old = previous ? keyPair(previous) : undefined;
  const byFingerprint = new Map([current, ...(old ? [old] : [])].map((k) => [k.fingerprint, k]));
  const mac = (macKey: Buffer, plaintext: string) => createHmac('sha256', macKey).update(plaintext).digest('hex');
  const currentPrefix = prefixOf(current.fingerprint);
  return {
    currentPrefix,
    previousFingerprint: old?.fingerprint,
    encrypt(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current.encKey, iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return currentPrefix + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    decrypt(stored) {
      if (stored.startsWith(LEGACY)) {
        const body = stored.slice(LEGACY.length);
        try {
          return open(current.encKey, body);
        } catch (error) {
          if (!old) throw error;
          return open(old.encKey, body);
        }
      }
      const [, , fingerprint, body] = stored.split(':');
      const pair = byFingerprint.get(fingerprint);
      if (!pair) throw new Error(`A PII value is encrypted with the key of fingerprint ${fingerprint}, which this server does not have.`);
      return open(pair.encKey, body);
    },
    blindIndex: (plaintext) => mac(current.macKey, plaintext),
    blindIndexes: (plaintext) => [mac(current.macKey, plaintext), ...(old ? [mac(old.macKey, plaintext)] : [])],
  };
}
