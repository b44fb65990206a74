// Records refused traits as grouped violations and lists them. Knows nothing of HTTP or of Segment.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { decodeCursor, toPage, type Page } from '../../shared/pagination.ts';
import { groupKey, maskSample, storable, type Violation, type ViolationEvent, type ViolationProblem } from './violation.ts';
import * as repo from './violations.repository.ts';
import type { ViolationFilter, ViolationRow } from './violations.repository.ts';

export type ViolationService = ReturnType<typeof createViolationService>;

export function createViolationService({ db }: { db: Kysely<Database> }) {
  return {
    /** Adds the events to their groups, in the caller's transaction; `at` is when they were seen. */
    async record(trx: Transaction<Database> | Kysely<Database>, workspaceId: number, events: readonly ViolationEvent[], at: string): Promise<void> {
      const groups = new Map<string, ViolationRow>();
      for (const e of events) {
        const key = groupKey(e);
        const group = groups.get(key);
        if (group) {
          group.count += 1;
          group.sample = maskSample(e.value);
          continue;
        }
        groups.set(key, {
          group_key: key,
          source_id: e.source_id,
          trait: storable(e.trait),
          property: e.property,
          problem: e.problem,
          message: storable(e.message, 1000),
          count: 1,
          first_seen: at,
          last_seen: at,
          sample: maskSample(e.value),
        });
      }
      await repo.upsertViolations(trx, workspaceId, [...groups.values()].sort((a, b) => a.group_key.localeCompare(b.group_key)));
    },

    async list(workspaceId: number, filter: ViolationFilter, limit: number, cursor?: string): Promise<Page<Violation>> {
      const after = decodeCursor(cursor, 2) as [string, string] | undefined;
      const rows = await repo.listViolations(db, workspaceId, filter, limit + 1, after);
      return toPage(
        rows,
        limit,
        (r) => [r.last_seen, r.group_key],
        ({ group_key: _, ...r }) => ({ ...r, problem: r.problem as ViolationProblem }),
      );
    },
  };
}
