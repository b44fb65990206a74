import { sql, type Kysely, type RawBuilder, type Selectable, type Transaction } from 'kysely';
import { reusableQuery } from '../../db/reusable-query.ts';
import { isPostgres } from '../../db/dialect.ts';
import type { Database, JobsTable } from '../../db/schema.ts';
import type { Job } from './job.ts';

type Conn = Kysely<Database> | Transaction<Database>;

function rowToJob(r: Selectable<JobsTable>): Job {
  return {
    id: r.id,
    type: r.type as Job['type'],
    status: r.status as Job['status'],
    progress: { done: r.progress_done, total: r.progress_total },
    ...(r.result ? { result: JSON.parse(r.result) } : {}),
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

/** The advisory lock's first key: this lock's own, apart from any other use of advisory locks. */
const START_GATE = 0x70640001;

/**
 * PostgreSQL: the workspace's start gate, held to the end of the transaction, shared by writers,
 * exclusive for a job that must start after them. SQLite has one writer at a time already.
 */
export async function startGate(trx: Transaction<Database>, workspaceId: number, mode: 'shared' | 'exclusive'): Promise<void> {
  const lock = gateLock(trx, workspaceId, mode);
  if (lock) await sql`select ${lock}`.execute(trx);
}

/**
 * The start gate as an expression another statement of the transaction may evaluate, so that
 * passing it costs no round trip of its own; undefined on SQLite, which has no gate.
 */
export function gateLock(trx: Kysely<Database>, workspaceId: number, mode: 'shared' | 'exclusive'): RawBuilder<unknown> | undefined {
  if (!isPostgres(trx)) return undefined;
  const lock = mode === 'shared' ? sql`pg_advisory_xact_lock_shared` : sql`pg_advisory_xact_lock`;
  return sql`${lock}(${START_GATE}, ${workspaceId})`;
}

export async function insertJob(
  db: Conn,
  workspaceId: number,
  job: Job & { payload: Record<string, unknown> },
): Promise<Job> {
  const row = await db
    .insertInto('jobs')
    .values({
      workspace_id: workspaceId,
      id: job.id,
      type: job.type,
      status: job.status,
      progress_done: job.progress.done,
      progress_total: job.progress.total,
      payload: JSON.stringify(job.payload),
      lease_until: null,
      created_at: job.created_at,
      updated_at: job.updated_at,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return rowToJob(row);
}

export async function findJob(db: Conn, workspaceId: number, id: string): Promise<Job | undefined> {
  const row = await db.selectFrom('jobs').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
  return row && rowToJob(row);
}

export interface ClaimedJob extends Job {
  workspace_id: number;
  payload: Record<string, unknown>;
}

/**
 * Takes the oldest job that is queued, or running under a lease that ran out, and leases it
 * until `leaseUntil`. The conditional update makes two servers unable to take the same job.
 */
export async function claimJob(db: Kysely<Database>, now: string, leaseUntil: string): Promise<ClaimedJob | undefined> {
  const candidate = await db
    .selectFrom('jobs')
    .selectAll()
    .where('status', 'in', ['queued', 'running'])
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
    .orderBy('created_at')
    .limit(1)
    .executeTakeFirst();
  if (!candidate) return undefined;
  const claimed = await db
    .updateTable('jobs')
    .set({ status: 'running', lease_until: leaseUntil, updated_at: now })
    .where('workspace_id', '=', candidate.workspace_id)
    .where('id', '=', candidate.id)
    .where((eb) => (candidate.lease_until === null ? eb('lease_until', 'is', null) : eb('lease_until', '=', candidate.lease_until)))
    .returningAll()
    .executeTakeFirst();
  return claimed && { ...rowToJob(claimed), workspace_id: claimed.workspace_id, payload: JSON.parse(claimed.payload) };
}

export async function recordProgress(
  db: Conn,
  workspaceId: number,
  id: string,
  change: { done: number; total?: number; status: Job['status']; at: string; leaseUntil: string | null; payload?: Record<string, unknown>; result?: Record<string, unknown> },
): Promise<void> {
  await db
    .updateTable('jobs')
    .set({
      progress_done: change.done,
      status: change.status,
      updated_at: change.at,
      lease_until: change.leaseUntil,
      ...(change.total !== undefined ? { progress_total: change.total } : {}),
      ...(change.payload ? { payload: JSON.stringify(change.payload) } : {}),
      ...(change.result ? { result: JSON.stringify(change.result) } : {}),
    })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute();
}

/** Whether a job of this type is queued or running in the workspace. */
/** Jobs by type and status, with their units done and to do. */
export async function jobSummary(db: Conn): Promise<{ type: string; status: string; jobs: number; done: number; total: number }[]> {
  const rows = await db
    .selectFrom('jobs')
    .select(['type', 'status', (eb) => eb.fn.countAll<number | string>().as('jobs'), (eb) => eb.fn.sum<number | string>('progress_done').as('done'), (eb) => eb.fn.sum<number | string>('progress_total').as('total')])
    .groupBy(['type', 'status'])
    .execute();
  return rows.map((r) => ({ type: r.type, status: r.status, jobs: Number(r.jobs), done: Number(r.done), total: Number(r.total) }));
}

export async function hasActiveJob(db: Conn, workspaceId: number, type: Job['type']): Promise<boolean> {
  const row = await db.selectFrom('jobs').select('id').where('workspace_id', '=', workspaceId).where('type', '=', type).where('status', 'in', ['queued', 'running']).limit(1).executeTakeFirst();
  return row !== undefined;
}

/**
 * The jobs of a type (or of several) queued or running in the workspace, with their payloads (a
 * handful at most); with `doneSince`, also those that ended done at or after that time.
 */
const jobsOf = (db: Conn, workspaceId: number, types: Job['type'][]) =>
  db.selectFrom('jobs').select(['id', 'type', 'status', 'payload']).where('workspace_id', '=', workspaceId).where('type', 'in', types);
// Compiled once: every profile write asks for the running definition changes and re-encodings.
const activeNow = reusableQuery((db: Conn, workspaceId: number, types: Job['type'][]) => jobsOf(db, workspaceId, types).where('status', 'in', ['queued', 'running']));
const activeOrDoneSince = reusableQuery((db: Conn, workspaceId: number, types: Job['type'][], doneSince: string) =>
  jobsOf(db, workspaceId, types).where((eb) => eb.or([eb('status', 'in', ['queued', 'running']), eb.and([eb('status', '=', 'done'), eb('updated_at', '>=', doneSince)])])),
);

export async function activeJobs(
  db: Conn,
  workspaceId: number,
  type: Job['type'] | readonly Job['type'][],
  doneSince?: string,
): Promise<{ id: string; type: Job['type']; status: Job['status']; payload: Record<string, unknown> }[]> {
  const types = typeof type === 'string' ? [type] : [...type];
  const rows = doneSince === undefined ? await activeNow(db, workspaceId, types) : await activeOrDoneSince(db, workspaceId, types, doneSince);
  return rows.map((r) => ({ id: r.id, type: r.type as Job['type'], status: r.status as Job['status'], payload: JSON.parse(r.payload) }));
}
