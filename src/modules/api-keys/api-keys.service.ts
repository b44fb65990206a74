import { timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { type Clock, isoNow } from '../../shared/clock.ts';
import { AppError, type ErrorDetail, validationFailed } from '../../shared/errors.ts';
import { hashToken, type IdGenerator } from '../../shared/ids.ts';
import { decodeCursor, toPage, type Page } from '../../shared/pagination.ts';
import type { Principal, Scope } from '../auth/auth.ts';
import type { Broadcast } from '../../shared/broadcast.ts';
import type { TenantService } from '../tenants/tenants.service.ts';
import type { WorkspaceService } from '../workspaces/workspaces.service.ts';
import { cacheStats } from '../../shared/cache-stats.ts';
import * as repo from './api-keys.repository.ts';
import type { ApiKey, KeyRateLimit } from './api-keys.repository.ts';

export type ApiKeyService = ReturnType<typeof createApiKeyService>;

export interface ApiKeyCreate {
  name: string;
  scopes: Scope[];
  workspace_ids?: number[];
  rate_limit?: KeyRateLimit;
}

const OPERATOR_SETTING = 'operator_token_hash';

/** How long a looked-up key is trusted without reading it again. */
const PRINCIPAL_TTL_MS = 5_000;
const REVOKED = 'revoked-keys';

export function createApiKeyService({
  db,
  clock,
  ids,
  tenants,
  workspaces,
  broadcast,
}: {
  db: Kysely<Database>;
  clock: Clock;
  ids: IdGenerator;
  tenants: TenantService;
  workspaces: Pick<WorkspaceService, 'find'>;
  broadcast: Broadcast;
}) {
  let operatorHash: Buffer | undefined;
  // Keys by token hash, so most requests do not read api_keys. A revocation is broadcast to
  // every server (through Redis when configured), which drops the key from its cache at once.
  const principals = new Map<string, { principal: Principal; until: number }>();
  const stats = cacheStats();
  broadcast.subscribe(REVOKED, (keyId) => {
    for (const [hash, { principal }] of principals) if (principal.kind === 'key' && principal.keyId === keyId) principals.delete(hash);
  });

  /** An admin key restricted to some workspaces manages only keys restricted to a subset of them. */
  function manages(principal: Principal, key: { workspace_ids: readonly number[] | null }): boolean {
    if (principal.kind === 'operator' || principal.workspaceIds === null) return true;
    const own = principal.workspaceIds;
    return key.workspace_ids !== null && key.workspace_ids.every((id) => own.includes(id));
  }

  async function readKey(hash: string, now: number): Promise<Principal> {
    const key = await repo.findActiveKeyByHash(db, hash);
    if (!key) throw new AppError('UNAUTHENTICATED', 'The token is not valid or was revoked.', [], 'BAD_CREDENTIAL');
    const principal: Principal = { kind: 'key', keyId: key.id, tenantId: key.tenant_id, scopes: key.scopes, workspaceIds: key.workspace_ids, rateLimit: key.rate_limit };
    if (principals.size >= 10_000) principals.clear();
    principals.set(hash, { principal, until: now + PRINCIPAL_TTL_MS });
    return principal;
  }

  return {
    /** Token lookups answered from memory, and read from the database. */
    cacheStats: stats,

    /**
     * Makes the operator token known: from the environment, else the stored hash, else a new
     * token whose hash is stored and which is returned once so the caller can print it.
     */
    async ensureOperatorToken(fromEnv: string | undefined): Promise<string | undefined> {
      if (fromEnv !== undefined) {
        operatorHash = Buffer.from(hashToken(fromEnv), 'hex');
        return undefined;
      }
      const stored = await repo.getSetting(db, OPERATOR_SETTING);
      if (stored !== undefined) {
        operatorHash = Buffer.from(stored, 'hex');
        return undefined;
      }
      const token = ids.token();
      await repo.putSetting(db, OPERATOR_SETTING, hashToken(token));
      operatorHash = Buffer.from(hashToken(token), 'hex');
      return token;
    },

    /**
     * The caller behind a bearer token; revoked or unknown tokens are refused at once. The
     * operator, or a key looked up in the last PRINCIPAL_TTL_MS, comes back at once (every
     * request asks, so the front door passes it without a promise turn); any other key, as a
     * promise of its read.
     */
    authenticate(token: string | undefined): Principal | Promise<Principal> {
      if (!token) throw new AppError('UNAUTHENTICATED', 'A bearer token is required.', [], 'NO_CREDENTIAL');
      const hash = hashToken(token);
      const now = clock.now().getTime();
      const entry = principals.get(hash);
      if (entry && entry.until > now) {
        stats.hits++;
        return entry.principal;
      }
      // The operator's token is never cached as a key (nor counted as a lookup), so it is compared only here.
      if (operatorHash && timingSafeEqual(operatorHash, Buffer.from(hash, 'hex'))) return { kind: 'operator' };
      stats.misses++;
      return readKey(hash, now);
    },

    async create(principal: Principal, tenantId: number, input: ApiKeyCreate): Promise<ApiKey & { token: string }> {
      await tenants.get(principal, tenantId);
      const workspaceIds = input.workspace_ids === undefined ? null : [...new Set(input.workspace_ids)];
      const problems: ErrorDetail[] = [];
      for (const [i, id] of (workspaceIds ?? []).entries()) {
        const ws = await workspaces.find(id);
        if (!ws || ws.tenant_id !== tenantId) problems.push({ field: `workspace_ids[${i}]`, problem: `workspace ${id} does not belong to tenant ${tenantId}` });
      }
      if (problems.length > 0) throw validationFailed(problems);
      if (principal.kind === 'key') {
        const missing = input.scopes.filter((s) => !principal.scopes.includes(s));
        if (missing.length > 0) throw new AppError('FORBIDDEN', `A key cannot grant scopes it does not hold: ${missing.join(', ')}.`);
        if (!manages(principal, { workspace_ids: workspaceIds })) {
          throw new AppError('FORBIDDEN', 'A restricted key can only create keys restricted to its own workspaces.');
        }
      }
      const token = ids.token();
      const key = await repo.insertApiKey(
        db,
        { id: ids.keyId(), tenant_id: tenantId, name: input.name, scopes: [...new Set(input.scopes)], workspace_ids: workspaceIds, rate_limit: input.rate_limit ?? null, created_at: isoNow(clock) },
        hashToken(token),
      );
      return { ...key, token };
    },

    async list(principal: Principal, tenantId: number, limit: number, cursor?: string): Promise<Page<ApiKey>> {
      await tenants.get(principal, tenantId);
      const after = decodeCursor(cursor, 2) as [string, string] | undefined;
      // Restricted admins see only the keys they manage; the filter runs after the fetch, so
      // a page may hold fewer rows than the limit while more follow.
      const rows = await repo.listApiKeys(db, tenantId, limit + 1, after);
      const page = toPage(rows, limit, (k) => [k.created_at, k.id], (k) => k);
      return { ...page, data: page.data.filter((k) => manages(principal, k)) };
    },

    async revoke(principal: Principal, tenantId: number, keyId: string): Promise<void> {
      await tenants.get(principal, tenantId);
      const key = await repo.findApiKey(db, tenantId, keyId);
      if (!key || key.revoked_at !== null || !manages(principal, key)) throw new AppError('NOT_FOUND', `API key ${keyId} not found.`);
      await repo.revokeApiKey(db, tenantId, keyId, isoNow(clock));
      await broadcast.publish(REVOKED, keyId);
    },
  };
}
