// Which key encrypts PII values, checked once at start against the fingerprints the database
// keeps: a server never runs with a key that cannot read what is stored, and never makes a new
// key for a database whose values were encrypted under another one.
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { type Clock, isoNow } from '../../shared/clock.ts';
import { createPiiCipher, keyFingerprint, prefixOf } from '../../shared/pii-cipher.ts';
import { addKey, listKeys, removeKey, setKeyStatus } from './encryption-keys.repository.ts';

/** Why the key cannot be used; `message` is one line for the operator. */
export class KeyMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyMismatchError';
  }
}

export interface KeyState {
  /** The fingerprint values are encrypted under from now on. */
  active: string;
  /** The fingerprint of a key still being rotated away from (PROPDICT_ENCRYPTION_KEY_PREVIOUS). */
  retiring?: string;
}

/** Whether `key` decrypts `stored` (a value the cipher wrote). */
function reads(key: Buffer, stored: string): boolean {
  try {
    createPiiCipher(key).decrypt(stored);
    return true;
  } catch {
    return false;
  }
}

/**
 * Settles the key at start. `where` says how the operator gives the key (`in PROPDICT_ENCRYPTION_KEY`,
 * or the key file too); `sample` gives one stored encrypted value, if any, and
 * `hasPii` whether any property is PII. Returns undefined when the server runs without a key.
 */
export async function settleEncryptionKey(
  db: Kysely<Database>,
  clock: Clock,
  input: {
    key: Buffer | undefined;
    previous: Buffer | undefined;
    where: string;
    /** One stored encrypted value, if any (read only when the database has no fingerprint yet). */
    sample: () => Promise<string | undefined>;
    hasPii: boolean;
    /** Makes a new key (the embedded default's key file), if this server may. */
    generate?: () => Buffer;
    /** One stored value not under the key whose values start with `prefix`, if any. */
    staleValue: (prefix: string) => Promise<string | undefined>;
  },
): Promise<(KeyState & { key: Buffer; generated: boolean }) | undefined> {
  const { previous, where, hasPii } = input;
  const rows = await listKeys(db);
  const active = rows.find((r) => r.status === 'active');
  const retiring = rows.find((r) => r.status === 'retiring');
  // A new key only for a database that has never had one and holds nothing a key would encrypt.
  const generated = !input.key && !active && !hasPii && input.generate !== undefined;
  const key = generated ? input.generate!() : input.key;
  const fingerprint = key && keyFingerprint(key);

  if (!active) {
    if (!key) {
      if (hasPii) throw new KeyMismatchError(`This database has PII properties and no encryption key was given: give the key their values were encrypted with ${where}.`);
      return undefined;
    }
    // The first start that knows fingerprints: the key must read what is already stored.
    const sample = await input.sample();
    if (sample !== undefined && !reads(key, sample)) {
      throw new KeyMismatchError(`The encryption key (fingerprint ${fingerprint}) does not decrypt the PII values already stored: give the key they were encrypted with ${where}.`);
    }
    await addKey(db, { fingerprint: fingerprint!, status: 'active', created_at: isoNow(clock) });
    return { key, generated, active: fingerprint! };
  }

  if (!key) {
    throw new KeyMismatchError(`This database's PII values are encrypted with the key of fingerprint ${active.fingerprint}, and no key was given: give that key ${where}.`);
  }
  if (fingerprint === active.fingerprint) {
    if (retiring && (await input.staleValue(prefixOf(fingerprint))) === undefined) {
      // Every value is under the new key: the rotation is over, the previous key no longer needed.
      await removeKey(db, retiring.fingerprint);
      return { key, generated, active: fingerprint };
    }
    if (retiring && !(previous && keyFingerprint(previous) === retiring.fingerprint)) {
      throw new KeyMismatchError(
        `A rotation from the key of fingerprint ${retiring.fingerprint} is not finished: keep that key in PROPDICT_ENCRYPTION_KEY_PREVIOUS until the rotation job is done.`,
      );
    }
    return { key, generated, active: fingerprint, ...(retiring ? { retiring: retiring.fingerprint } : {}) };
  }
  if (previous && keyFingerprint(previous) === active.fingerprint && !retiring) {
    // A rotation starts: values are re-encrypted under the new key in the background.
    await db.transaction().execute(async (trx) => {
      await setKeyStatus(trx, active.fingerprint, 'retiring');
      await addKey(trx, { fingerprint: fingerprint!, status: 'active', created_at: isoNow(clock) });
    });
    return { key, generated, active: fingerprint!, retiring: active.fingerprint };
  }
  throw new KeyMismatchError(
    `The encryption key has fingerprint ${fingerprint}, but this database's PII values are encrypted with the key of fingerprint ${active.fingerprint}: start with that original key, given ${where}; no other key can read them.`,
  );
}
