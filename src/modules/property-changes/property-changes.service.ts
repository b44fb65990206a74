// Definition changes with data: what a change would do to the stored values (the preview, and
// PATCH's check), and the `change_property` job that converts them into the staging area a page
// at a time and lands them with the new definition. The values are read through the profiles
// service; the definition's version and history are the properties service's. Knows nothing of
// HTTP.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { JobService } from '../jobs/jobs.service.ts';
import { isKeyed } from '../profiles/change-set.ts';
import type { HeldValue, ProfileService, ValueCursor } from '../profiles/profiles.service.ts';
import type { ValueCodec } from '../profiles/value-codec.ts';
import type { PropertyService } from '../properties/properties.service.ts';
import type { Property } from '../properties/property.ts';
import type { ChangeScan } from '../properties/property-change.ts';
import { convertValue, type ValueMap } from './conversion.ts';
import * as repo from './property-changes.repository.ts';

type Conn = Kysely<Database> | Transaction<Database>;

/** Failing values a preview or a change shows at most. */
const MAX_SAMPLES = 20;
/** Profiles a preview reads at a time. */
const SCAN_PAGE = 5000;
/**
 * Values a change converts per unit of a job step's size. Converting and staging a value costs
 * a small part of what a purge or re-encryption does per profile (no per-profile statements), so
 * a step takes this many times the runner's unit; the runner's feedback on each step's time
 * still keeps every step short.
 */
const VALUES_PER_UNIT = 16;

/** A change_property job's payload: the definition before and after, and where the job is. */
interface ChangePayload {
  property_id: number;
  from: Property;
  to: Property;
  value_map: ValueMap;
  on_failure: 'abort' | 'clear';
  actor: string | null;
  phase: 'stage' | 'land';
  cursor?: ValueCursor;
  /** The number the next staged row takes. */
  seq?: number;
}

/** What a change job found so far (kept in the job's result). */
type ChangeCounts = ChangeScan & { cleared: number; outcome?: string };

export type PropertyChangeService = ReturnType<typeof createPropertyChangeService>;

export function createPropertyChangeService({
  codec,
  properties,
  profiles,
  jobs,
}: {
  codec: ValueCodec;
  properties: Pick<PropertyService, 'landChange' | 'changed'>;
  profiles: Pick<ProfileService, 'holdersPage'>;
  jobs: Pick<JobService, 'registerStep' | 'enqueue' | 'hasActive'>;
}) {
  /**
   * Converts one page of a change's values: each value converted by the table, its failures
   * counted (and kept as samples), a unique or identity value held twice counted as failing.
   * `taken` says which keys are already claimed by earlier pages.
   */
  async function convertPage(
    page: readonly HeldValue[],
    c: Pick<ChangePayload, 'from' | 'to' | 'value_map'>,
    counts: ChangeScan,
    masked: boolean,
    taken: (keys: string[]) => Promise<Map<string, string>>,
  ): Promise<(repo.StagedValue & { key?: string })[]> {
    const out: (repo.StagedValue & { key?: string; stored: unknown })[] = [];
    const fail = (profile_id: string, value: unknown, problem: string) => {
      counts.failing++;
      if (counts.samples.length < MAX_SAMPLES) counts.samples.push({ profile_id, value: masked ? '***' : value, problem });
    };
    for (const { profile_id, value, items } of page) {
      counts.profiles_with_values++;
      const result = convertValue(c.from, c.to, value, c.value_map);
      if (!result.ok) {
        fail(profile_id, value, result.problem);
        out.push({ profile_id, items, stored: value });
      } else out.push({ profile_id, items, stored: value, converted: { value: result.value }, ...(isKeyed(c.to) ? { key: codec.keyOf(c.to, result.value) } : {}) });
    }
    const held = isKeyed(c.to) ? await taken(out.flatMap((v) => (v.key === undefined ? [] : [v.key]))) : new Map<string, string>();
    for (const v of out) {
      if (!v.converted) continue;
      const holder = v.key === undefined ? undefined : held.get(v.key);
      if (holder !== undefined) {
        fail(v.profile_id, v.stored, `would be held by profile ${holder} too, and ${c.to.name} is ${c.to.unique ? 'unique' : 'an identity'}`);
        delete v.converted;
        continue;
      }
      if (v.key !== undefined) held.set(v.key, v.profile_id);
      counts.convertible++;
    }
    return out.map(({ stored: _stored, ...v }) => v);
  }

  /** What a change from `from` to `to` would do to every stored value; writes nothing. */
  async function scanChange(conn: Conn, workspaceId: number, from: Property, to: Property, valueMap: ValueMap, masked: boolean): Promise<ChangeScan> {
    const counts: ChangeScan = { profiles_with_values: 0, convertible: 0, failing: 0, samples: [] };
    const seen = new Map<string, string>();
    let after: ValueCursor | undefined;
    for (;;) {
      const page = await profiles.holdersPage(conn, workspaceId, from, after, SCAN_PAGE);
      const kept = await convertPage(page.values, { from, to, value_map: valueMap }, counts, masked, async (keys) => new Map(keys.flatMap((k) => (seen.has(k) ? [[k, seen.get(k)!] as const] : []))));
      for (const v of kept) if (v.converted && v.key !== undefined) seen.set(v.key, v.profile_id);
      if (page.values.length < SCAN_PAGE || !page.next) return counts;
      after = page.next;
    }
  }

  // A definition change with data: values are converted into the staging area a page at a
  // time (the cursor and the counts committed with each page), then swapped in with the new
  // definition in one transaction. A failure before the swap leaves everything as it was.
  jobs.registerStep('change_property', async (trx, job, limit) => {
    const c = job.payload as unknown as ChangePayload;
    const ws = job.workspace_id;
    const counts: ChangeCounts = (job.result as ChangeCounts | undefined) ?? { profiles_with_values: 0, convertible: 0, failing: 0, cleared: 0, samples: [] };
    const masked = c.from.pii || c.to.pii;
    if (c.phase === 'stage') {
      const size = limit * VALUES_PER_UNIT;
      const page = await profiles.holdersPage(trx, ws, c.from, c.cursor, size);
      // Keys staged by earlier pages; within a page, the first value keeps its key.
      const staged = await convertPage(page.values, c, counts, masked, (keys) => repo.stagedKeyHolders(trx, ws, job.id, keys));
      const seq = await repo.stageValues(trx, ws, job.id, c.to, staged, c.seq ?? 0, codec);
      const walked = page.values.length < size || !page.next;
      return { done: page.values.length, finished: false, payload: { ...c, phase: walked ? 'land' : 'stage', cursor: page.next ?? c.cursor, seq }, result: counts };
    }
    const end = (outcome: string, failed: boolean) => ({ done: 0, finished: true, failed, result: { ...counts, outcome } });
    if (counts.failing > 0 && c.on_failure === 'abort') {
      await repo.clearStaged(trx, ws, job.id);
      return end(`${counts.failing} of ${counts.profiles_with_values} values do not convert; nothing changed (on_failure: abort).`, true);
    }
    const landed = await properties.landChange(trx, ws, { from: c.from, to: c.to, actor: c.actor, job: job.id, counts: { profiles_with_values: counts.profiles_with_values, converted: counts.convertible, cleared: counts.failing } });
    if (!landed) {
      await repo.clearStaged(trx, ws, job.id);
      return end('The definition changed while the job ran; nothing changed.', true);
    }
    await repo.swapStaged(trx, ws, job.id, c.property_id);
    // Values staged before the server's key changed are still under the previous key: a
    // rotation job re-encrypts them, as it does every value left behind.
    if (c.to.pii && codec.rotating && !(await jobs.hasActive(trx, ws, 'rotate_key'))) {
      await jobs.enqueue(trx, ws, { type: 'rotate_key', total: counts.convertible, payload: { to: codec.currentPrefix } });
    }
    counts.cleared = counts.failing;
    const outcome = `${counts.convertible} values converted${counts.cleared > 0 ? `, ${counts.cleared} cleared` : ''}; the definition is at version ${landed.version}.`;
    return { ...end(outcome, false), afterCommit: () => properties.changed(ws) };
  });

  return { scanChange };
}
