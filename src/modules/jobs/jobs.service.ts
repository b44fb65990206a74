import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { AppError } from '../../shared/errors.ts';
import { findJob } from './jobs.repository.ts';
import type { Job } from './job.ts';

export type JobService = ReturnType<typeof createJobService>;

export function createJobService({ db }: { db: Kysely<Database> }) {
  return {
    async get(workspaceId: number, id: string): Promise<Job> {
      const job = await findJob(db, workspaceId, id);
      if (!job) throw new AppError('NOT_FOUND', `Job ${id} not found.`);
      return job;
    },
  };
}
