// Writes calls from instrumented apps into profiles through the dictionary: each call mapped to a
// record (ingestion.ts), and the calls of one request written in one transaction through the
// profile store's write path, with their message ids (repeats within 24 hours skipped) and the
// violations they caused. Knows nothing of HTTP or of any vendor's field names.
import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { isDeadlock } from '../../db/db-errors.ts';
import type { Database } from '../../db/schema.ts';
import type { Clock } from '../../shared/clock.ts';
import { AppError, type ErrorDetail } from '../../shared/errors.ts';
import type { PropertyService } from '../properties/properties.service.ts';
import type { Property } from '../properties/property.ts';
import type { ProfileService, WriteRecord } from '../profiles/profiles.service.ts';
import type { SourceService } from '../sources/sources.service.ts';
import type { WriteKeyAuth } from '../sources/write-keys.ts';
import type { ViolationEvent } from '../violations/violation.ts';
import type { ViolationService } from '../violations/violations.service.ts';
import { type IngestCall, type IngestSource, mapCall, type MappedCall, type Refusal, withoutRefused } from './ingestion.ts';
import * as repo from './ingestion.repository.ts';

export type IngestionService = ReturnType<typeof createIngestionService>;

/** How long a message id makes a repeat of its call a no-op. */
export const DEDUPE_MS = 24 * 60 * 60 * 1000;
/** How often a server clears a workspace's expired message ids. */
const PRUNE_EVERY_MS = 60_000;

/** A call not seen before, as mapped. */
type Fresh = { hash?: string; call: IngestCall; mapped: MappedCall };

const hashOf = (messageId: string) => createHash('sha256').update(messageId).digest('hex');

/** `properties.first_name` → `first_name`; undefined for an error that names no property. */
const propertyOf = (field: string) => (field.startsWith('properties.') ? field.slice('properties.'.length) : undefined);

/** The store's reasons for refusing a record, as violations of the traits that brought the values. */
function storeRefusals(sourceId: number, mapped: MappedCall, record: WriteRecord, errors: readonly ErrorDetail[]): ViolationEvent[] {
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
  profiles,
  violations,
}: {
  db: Kysely<Database>;
  clock: Clock;
  properties: Pick<PropertyService, 'dictionary'>;
  sources: Pick<SourceService, 'get'>;
  profiles: Pick<ProfileService, 'writeRecords' | 'holders' | 'formerHolders' | 'valuesOf' | 'absorb' | 'retire'>;
  violations: Pick<ViolationService, 'record'>;
}) {
  const prunedAt = new Map<number, number>();

  /**
   * Writes mapped calls through the store's write path; a record the store refused for some of
   * its values is written again without them. Its violations are added to `events`; the message
   * ids of calls refused whole to `released`.
   */
  async function writeMapped(trx: Transaction<Database>, workspaceId: number, source: IngestSource, defs: readonly Property[], fresh: readonly Fresh[], events: ViolationEvent[], released: string[]): Promise<void> {
    const writing = fresh.filter((f) => f.mapped.record !== undefined);
    if (writing.length === 0) return;
    const results = await profiles.writeRecords(
      trx,
      workspaceId,
      writing.map((f) => f.mapped.record!),
    );
    const again: { index: number; record: WriteRecord }[] = [];
    results.forEach((result, index) => {
      if (result.status !== 'rejected') return;
      const { mapped, hash } = writing[index];
      events.push(...storeRefusals(source.id, mapped, mapped.record!, result.errors));
      const retry = withoutRefused(defs, mapped.record!, new Set(result.errors.map((e) => propertyOf(e.field)).filter((p) => p !== undefined)));
      if (retry) again.push({ index, record: retry });
      else if (hash !== undefined) released.push(hash);
    });
    if (again.length > 0) {
      const retried = await profiles.writeRecords(
        trx,
        workspaceId,
        again.map((a) => a.record),
      );
      retried.forEach((result, i) => {
        if (result.status !== 'rejected') return;
        const { mapped, hash } = writing[again[i].index];
        events.push(...storeRefusals(source.id, mapped, again[i].record, result.errors));
        if (hash !== undefined) released.push(hash);
      });
    }
  }

  /**
   * A call whose userId an alias retired (and no profile holds now) is written to the profile
   * that id names through its merge, by id, without the retired value: it would replace the
   * profile's user id.
   */
  async function resolveFormerUserIds(trx: Transaction<Database>, workspaceId: number, source: IngestSource, fresh: readonly Fresh[]): Promise<void> {
    const property = source.user_id_property;
    if (property === null) return;
    const calls = fresh.filter((f) => f.call.userId !== undefined && f.mapped.record?.properties[property] !== undefined);
    if (calls.length === 0) return;
    const userIds = [...new Set(calls.map((f) => f.call.userId!))];
    const holders = await profiles.formerHolders(trx, workspaceId, userIds.map((value) => ({ property, value })));
    const holderOf = new Map(userIds.map((id, i) => [id, holders[i]]));
    for (const f of calls) {
      const id = holderOf.get(f.call.userId!);
      if (id === undefined) continue;
      const { [property]: _retired, ...properties } = f.mapped.record!.properties;
      f.mapped.record = { ...f.mapped.record!, id, properties };
    }
  }

  /**
   * An alias: the profiles holding previousId (as the source's user id, now or retired, or as its
   * anonymous id) are merged into the one holding userId, or, when none does, into the first of
   * them, which takes userId. User ids the merged profiles held (previousId among them) are
   * retired, so that they still name the survivor. A previousId no profile holds is written as an
   * anonymous id beside userId, as an identify would. Adds the call's violations to `events`;
   * returns the call to write (undefined: refused).
   */
  async function resolveAlias(trx: Transaction<Database>, workspaceId: number, source: IngestSource, f: Fresh, events: ViolationEvent[]): Promise<Fresh | undefined> {
    const { call, mapped } = f;
    const report = (refusals: readonly Refusal[]) => events.push(...refusals.map((r) => ({ ...r, source_id: source.id })));
    const userProperty = source.user_id_property;
    const anonProperty = source.anonymous_id_property;
    const record = mapped.record;
    if (record === undefined || userProperty === null || record.properties[userProperty] === undefined) {
      report(mapped.refused);
      return f;
    }
    const withoutPrevious = () => {
      if (anonProperty === null || mapped.origins.get(anonProperty) !== 'previousId') return record.properties;
      const { [anonProperty]: _previous, ...rest } = record.properties;
      return rest;
    };
    // An alias of an id to itself names one profile: an identify with userId.
    if (call.previousId === call.userId) {
      report(mapped.refused.filter((r) => r.trait !== 'previousId'));
      return { ...f, mapped: { ...mapped, record: { ...record, properties: withoutPrevious() } } };
    }

    const lookups = [
      { property: userProperty, value: call.userId! },
      { property: userProperty, value: call.previousId! },
      ...(anonProperty === null ? [] : [{ property: anonProperty, value: call.previousId! }]),
    ];
    const [held, former] = await Promise.all([profiles.holders(trx, workspaceId, lookups), profiles.formerHolders(trx, workspaceId, lookups.slice(0, 2))]);
    const current = held[0] ?? former[0];
    const asUserId = held[1] ?? former[1];
    const asAnonymousId = held[2];
    if (asUserId === undefined && asAnonymousId === undefined) {
      report(mapped.refused);
      return f;
    }
    // A former user id needs no anonymous id property: whatever kept it from being one is moot.
    report(asUserId === undefined ? mapped.refused : mapped.refused.filter((r) => r.trait !== 'previousId'));

    const previous = [...new Set([asUserId, asAnonymousId].filter((id) => id !== undefined && id !== current))] as string[];
    const survivor = current ?? previous.shift()!;
    const userIds = await profiles.valuesOf(trx, workspaceId, [survivor, ...previous], userProperty);
    const problems = await profiles.absorb(trx, workspaceId, survivor, previous);
    if (problems.length > 0) {
      events.push({ source_id: source.id, trait: 'previousId', property: null, problem: 'rejected', message: `could not be merged: ${problems.map((p) => `${p.field} ${p.problem}`).join('; ')}`, value: call.previousId! });
      return undefined;
    }
    const retired = [...userIds].filter(([, value]) => value !== call.userId).map(([profile, value]) => ({ value, profile }));
    await profiles.retire(trx, workspaceId, userProperty, retired);
    // previousId held as an anonymous id stays one (written again, it names the survivor); a
    // former user id is not an anonymous id.
    const properties = asAnonymousId === undefined ? withoutPrevious() : record.properties;
    return { ...f, mapped: { ...mapped, record: { ...record, id: survivor, properties } } };
  }

  /** One request's calls, in the caller's transaction; a batch's alias calls after its others, in order. */
  async function write(trx: Transaction<Database>, workspaceId: number, source: IngestSource, calls: readonly IngestCall[], refused: readonly Refusal[], now: Date): Promise<void> {
    const at = now.toISOString();
    const since = new Date(now.getTime() - DEDUPE_MS).toISOString();
    const defs = await properties.dictionary(workspaceId, trx);

    // A message id seen in the last 24 hours, or earlier in this request, skips its call.
    const hashes = calls.map((c) => (c.messageId === undefined ? undefined : hashOf(c.messageId)));
    const claimed = await repo.claimMessages(trx, workspaceId, source.id, hashes.filter((h) => h !== undefined), at, since);
    const fresh: Fresh[] = [];
    for (const [i, call] of calls.entries()) {
      const hash = hashes[i];
      if (hash !== undefined && !claimed.delete(hash)) continue;
      fresh.push({ hash, call, mapped: mapCall(defs, source, call) });
    }

    const others = fresh.filter((f) => f.call.previousId === undefined);
    const events: ViolationEvent[] = [...refused, ...others.flatMap((f) => f.mapped.refused)].map((r) => ({ ...r, source_id: source.id }));
    // A call the store refused is not remembered, so that a retry of it can still be written.
    const released: string[] = [];
    await resolveFormerUserIds(trx, workspaceId, source, others);
    await writeMapped(trx, workspaceId, source, defs, others, events, released);
    for (const alias of fresh.filter((f) => f.call.previousId !== undefined)) {
      const resolved = await resolveAlias(trx, workspaceId, source, alias, events);
      if (resolved) await writeMapped(trx, workspaceId, source, defs, [resolved], events, released);
      else if (alias.hash !== undefined) released.push(alias.hash);
    }

    await repo.releaseMessages(trx, workspaceId, source.id, released);
    await violations.record(trx, workspaceId, events, at);
    if (now.getTime() - (prunedAt.get(workspaceId) ?? 0) >= PRUNE_EVERY_MS) {
      prunedAt.set(workspaceId, now.getTime());
      await repo.forgetMessagesBefore(trx, workspaceId, since);
    }
  }

  return {
    /**
     * Writes the calls through the write key's source, as one unit of work. `refused`: calls the
     * protocol could not read (each recorded as a violation). A source deleted meanwhile is
     * UNAUTHENTICATED.
     */
    async ingest(auth: WriteKeyAuth, calls: readonly IngestCall[], refused: readonly Refusal[] = []): Promise<void> {
      const source = await sources.get(auth.workspaceId, auth.sourceId).catch((error: unknown) => {
        if (error instanceof AppError && error.code === 'NOT_FOUND') throw new AppError('UNAUTHENTICATED', 'The write key belongs to a source that no longer exists.');
        throw error;
      });
      const now = clock.now();
      // Two requests claiming the same new identities in other orders can deadlock in PostgreSQL,
      // which then aborts one of them: that one runs again, and sees the other's profiles.
      for (let attempt = 1; ; attempt++) {
        try {
          return await db.transaction().execute((trx) => write(trx, auth.workspaceId, source, calls, refused, now));
        } catch (error) {
          if (!isDeadlock(error) || attempt >= 3) throw error;
        }
      }
    },
  };
}
