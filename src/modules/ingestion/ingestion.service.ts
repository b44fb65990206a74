// Writes calls from instrumented apps into profiles through the dictionary: each call mapped to a
// record (ingestion.ts), the records of one request written as one unit of work, repeated message
// ids skipped for 24 hours, and every refusal recorded as a violation. Knows nothing of HTTP or of
// any vendor's field names.
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { Clock } from '../../shared/clock.ts';
import { AppError } from '../../shared/errors.ts';
import type { PropertyService } from '../properties/properties.service.ts';
import type { ErrorDetail } from '../../shared/errors.ts';
import type { ProfileRecord } from '../profiles/profiles.service.ts';
import type { SourceService } from '../sources/sources.service.ts';
import type { WriteKeyAuth } from '../sources/write-keys.ts';
import type { ViolationEvent } from '../violations/violation.ts';
import type { ViolationService } from '../violations/violations.service.ts';
import { type IngestCall, mapCall, type MappedCall, type Refusal, withoutRefused } from './ingestion.ts';
import * as repo from './ingestion.repository.ts';
import type { ProfileWriter } from './profile-writer.ts';

export type IngestionService = ReturnType<typeof createIngestionService>;

/** How long a message id makes a repeat of its call a no-op. */
export const DEDUPE_MS = 24 * 60 * 60 * 1000;
/** How often a server clears a workspace's expired message ids. */
const PRUNE_EVERY_MS = 60_000;

const hashOf = (messageId: string) => createHash('sha256').update(messageId).digest('hex');

/** `properties.first_name` → `first_name`; undefined for an error that names no property. */
const propertyOf = (field: string) => (field.startsWith('properties.') ? field.slice('properties.'.length) : undefined);

/** The store's reasons for refusing a record, as violations of the traits that brought the values. */
function storeRefusals(sourceId: number, mapped: MappedCall, record: ProfileRecord, errors: readonly ErrorDetail[]): ViolationEvent[] {
  return errors.map((e) => {
    const property = propertyOf(e.field);
    return {
      source_id: sourceId,
      trait: (property && mapped.origins.get(property)) ?? property ?? e.field,
      property: property ?? null,
      problem: 'rejected' as const,
      // Which profile holds a value would split one problem into a group per profile.
      message: e.problem.replace(/^is already held by profile .*$/, 'is already held by another profile'),
      value: property === undefined ? null : record.properties[property],
    };
  });
}

export function createIngestionService({
  db,
  clock,
  properties,
  sources,
  violations,
  writer,
}: {
  db: Kysely<Database>;
  clock: Clock;
  properties: Pick<PropertyService, 'dictionary'>;
  sources: Pick<SourceService, 'get'>;
  violations: Pick<ViolationService, 'record'>;
  writer: ProfileWriter;
}) {
  const prunedAt = new Map<number, number>();

  return {
    /**
     * Writes the calls through the write key's source. `refused`: calls the protocol could not
     * read (each recorded as a violation). A source deleted meanwhile is UNAUTHENTICATED.
     */
    async ingest(auth: WriteKeyAuth, calls: readonly IngestCall[], refused: readonly Refusal[] = []): Promise<void> {
      const { workspaceId, sourceId } = auth;
      const source = await sources.get(workspaceId, sourceId).catch((error: unknown) => {
        if (error instanceof AppError && error.code === 'NOT_FOUND') throw new AppError('UNAUTHENTICATED', 'The write key belongs to a source that no longer exists.');
        throw error;
      });
      const now = clock.now();
      const at = now.toISOString();
      const defs = await properties.dictionary(workspaceId);

      // A message id already seen (in the last 24 hours, or earlier in this request) skips its call.
      const hashes = calls.map((c) => (c.messageId === undefined ? undefined : hashOf(c.messageId)));
      const seen = await repo.seenMessages(db, workspaceId, sourceId, [...new Set(hashes.filter((h) => h !== undefined))], new Date(now.getTime() - DEDUPE_MS).toISOString());
      const fresh: { call: IngestCall; hash?: string; mapped: MappedCall }[] = [];
      for (const [i, call] of calls.entries()) {
        const hash = hashes[i];
        if (hash !== undefined) {
          if (seen.has(hash)) continue;
          seen.add(hash);
        }
        fresh.push({ call, hash, mapped: mapCall(defs, source, call) });
      }

      const events: ViolationEvent[] = [...refused, ...fresh.flatMap((f) => f.mapped.refused)].map((r) => ({ ...r, source_id: sourceId }));
      const writing = fresh.filter((f) => f.mapped.record !== undefined);
      const results = await writer.write(
        workspaceId,
        writing.map((f) => f.mapped.record!),
      );

      // A record the store refused for some of its values is written again without them.
      const again: { index: number; record: ProfileRecord }[] = [];
      const remembered = fresh.filter((f) => f.mapped.record === undefined && f.hash !== undefined).map((f) => f.hash!);
      results.forEach((result, index) => {
        const { mapped, hash } = writing[index];
        if (result.status !== 'rejected') {
          if (hash !== undefined) remembered.push(hash);
          return;
        }
        events.push(...storeRefusals(sourceId, mapped, mapped.record!, result.errors));
        const named = new Set(result.errors.map((e) => propertyOf(e.field)).filter((p) => p !== undefined));
        const retry = withoutRefused(defs, mapped.record!, named);
        if (retry) again.push({ index, record: retry });
      });
      if (again.length > 0) {
        const retried = await writer.write(
          workspaceId,
          again.map((a) => a.record),
        );
        retried.forEach((result, i) => {
          const { hash, mapped } = writing[again[i].index];
          if (result.status !== 'rejected') {
            if (hash !== undefined) remembered.push(hash);
          } else events.push(...storeRefusals(sourceId, mapped, again[i].record, result.errors));
        });
      }

      await db.transaction().execute(async (trx) => {
        await repo.rememberMessages(trx, workspaceId, sourceId, remembered, at);
        await violations.record(trx, workspaceId, events, at);
        const last = prunedAt.get(workspaceId) ?? 0;
        if (now.getTime() - last >= PRUNE_EVERY_MS) {
          prunedAt.set(workspaceId, now.getTime());
          await repo.forgetMessagesBefore(trx, workspaceId, new Date(now.getTime() - DEDUPE_MS).toISOString());
        }
      });
    },
  };
}
