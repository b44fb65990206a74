// The key file of the embedded default: SQLite without PROPDICT_ENCRYPTION_KEY keeps its key in
// the data folder, beside the database, readable by the server's user only.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseEncryptionKey } from '../../shared/pii-cipher.ts';
import { KeyMismatchError } from './encryption-keys.service.ts';

/** Where the key of the SQLite database at `databaseFile` lives. */
export const keyFilePath = (databaseFile: string) => join(dirname(databaseFile), 'encryption.key');

/** The key in the file; undefined when there is no file. */
export function readKeyFile(path: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KeyMismatchError(`The encryption key file ${path} cannot be read (${(error as NodeJS.ErrnoException).code}): give this user read access to it, or set PROPDICT_ENCRYPTION_KEY.`);
  }
  const key = parseEncryptionKey(text.trim());
  if (!key) throw new KeyMismatchError(`The encryption key file ${path} does not hold a key (64 hex characters): restore it from your backup, or set PROPDICT_ENCRYPTION_KEY.`);
  return key;
}

/** A new random key written to `path` (mode 0600; never over an existing file). */
export function createKeyFile(path: string): Buffer {
  const key = randomBytes(32);
  writeFileSync(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}
