// Write keys of sources: shown once at creation, stored as a SHA-256 hash (32 random bytes make a
// fast hash safe), revoked at once on every server through the broadcast.
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { Broadcast } from '../../shared/broadcast.ts';
import { type Clock, isoNow } from '../../shared/clock.ts';
import { AppError } from '../../shared/errors.ts';
import { hashToken, isStoredId, type IdGenerator } from '../../shared/ids.ts';
import { decodeCursor, toPage, type Page } from '../../shared/pagination.ts';
import { findSources } from './sources.repository.ts';
import * as repo from './write-keys.repository.ts';
import { formatWriteKey, workspaceOfWriteKey, type WriteKey, type WriteKeyAuth } from './write-keys.ts';

export type WriteKeyService = ReturnType<typeof createWriteKeyService>;

/** How long a looked-up key is trusted without reading it again; a revocation drops it at once. */
const TRUST_MS = 5_000;
const REVOKED = 'revoked-write-keys';

export function createWriteKeyService({ db, clock, ids, broadcast }: { db: Kysely<Database>; clock: Clock; ids: Pick<IdGenerator, 'writeKeyId' | 'token'>; broadcast: Broadcast }) {
  const trusted = new Map<string, { auth: WriteKeyAuth; until: number }>();
  broadcast.subscribe(REVOKED, (keyId) => {
    for (const [hash, { auth }] of trusted) if (auth.keyId === keyId) trusted.delete(hash);
  });

  async function mustFindSource(workspaceId: number, sourceId: number): Promise<void> {
    // An id no source can have (past the id column's range) is simply not found.
    const [source] = isStoredId(sourceId) ? await findSources(db, workspaceId, { id: sourceId }) : [];
    if (!source) throw new AppError('NOT_FOUND', `Source ${sourceId} not found.`);
  }

  return {
    /** A new key for the source; the only time the key itself is shown. */
    async create(workspaceId: number, sourceId: number): Promise<WriteKey & { key: string }> {
      await mustFindSource(workspaceId, sourceId);
      const key = formatWriteKey(workspaceId, ids.token().replace(/^pd_/, ''));
      const row: WriteKey = { id: ids.writeKeyId(), source_id: sourceId, created_at: isoNow(clock) };
      await repo.insertWriteKey(db, workspaceId, row, hashToken(key));
      return { ...row, key };
    },

    async list(workspaceId: number, sourceId: number, limit: number, cursor?: string): Promise<Page<WriteKey>> {
      await mustFindSource(workspaceId, sourceId);
      const after = decodeCursor(cursor, 2) as [string, string] | undefined;
      const rows = await repo.listWriteKeys(db, workspaceId, sourceId, limit + 1, after);
      return toPage(rows, limit, (k) => [k.created_at, k.id], (k) => k);
    },

    async revoke(workspaceId: number, sourceId: number, keyId: string): Promise<void> {
      if (!isStoredId(sourceId) || !(await repo.revokeWriteKey(db, workspaceId, sourceId, keyId, isoNow(clock)))) throw new AppError('NOT_FOUND', `Write key ${keyId} not found.`);
      await broadcast.publish(REVOKED, keyId);
    },

    /** The source a write key belongs to; undefined for an unknown, malformed or revoked key. */
    async authenticate(key: string): Promise<WriteKeyAuth | undefined> {
      const workspaceId = workspaceOfWriteKey(key);
      if (workspaceId === undefined) return undefined;
      const hash = hashToken(key);
      const now = clock.now().getTime();
      const cached = trusted.get(hash);
      if (cached && cached.until > now) return cached.auth;
      const found = await repo.findLiveWriteKey(db, workspaceId, hash);
      if (!found) return undefined;
      const auth: WriteKeyAuth = { workspaceId, sourceId: found.source_id, keyId: found.id };
      if (trusted.size >= 10_000) trusted.clear();
      trusted.set(hash, { auth, until: now + TRUST_MS });
      return auth;
    },
  };
}
