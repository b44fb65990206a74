import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, JobsTable } from '../../db/schema.ts';
import type { Job } from './job.ts';

type Conn = Kysely<Database> | Transaction<Database>;

function rowToJob(r: Selectable<JobsTable>): Job {
  return {
    id: r.id,
    type: r.type as Job['type'],
    status: r.status as Job['status'],
    progress: { done: r.progress_done, total: r.progress_total },
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
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
