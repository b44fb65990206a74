// Background jobs: queued by the module that needs one, run in bounded steps by the module that
// owns the data (each registers its step for its job types here), read by callers.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { type Clock, isoNow } from '../../shared/clock.ts';
import { AppError } from '../../shared/errors.ts';
import type { IdGenerator } from '../../shared/ids.ts';
import { activeJobs, findJob, gateLock, insertJob, jobSummary, startGate, type ClaimedJob, hasActiveJob } from './jobs.repository.ts';
import type { Job } from './job.ts';

/**
 * What a step did, when a count alone does not say it: `finished` ends the job (`failed`: as
 * failed), `payload` keeps where the job is for its next step, `result` what it found so far,
 * `total` corrects the progress total, and `afterCommit` runs once the step's transaction is
 * committed (a cache to drop).
 */
export interface StepOutcome {
  done: number;
  finished: boolean;
  failed?: boolean;
  total?: number;
  payload?: Record<string, unknown>;
  result?: Record<string, unknown>;
  afterCommit?: () => Promise<void>;
}

/** Does up to `limit` units of a job inside `trx`; returns how many it did (fewer: finished), or what it did. */
export type JobStep = (trx: Transaction<Database>, job: ClaimedJob, limit: number) => Promise<number | StepOutcome>;

/**
 * How the runner sizes a type's steps: it starts at `firstBatchSize` units, halves the next step after
 * one that took longer than `stepMs` (down to `minBatchSize`) and doubles it after one under half
 * of that. A type that registers none gets the runner's (steps of about 20 ms).
 */
export interface StepSizing {
  /** The first step's size (`batchSize` unless said): a step's cost is not known before one ran. */
  firstBatchSize?: number;
  batchSize: number;
  stepMs: number;
  minBatchSize: number;
}

export type JobService = ReturnType<typeof createJobService>;

export function createJobService({ db, clock, ids }: { db: Kysely<Database>; clock: Clock; ids: Pick<IdGenerator, 'jobId'> }) {
  const steps = new Map<Job['type'], JobStep>();
  const sizing = new Map<Job['type'], Partial<StepSizing>>();
  return {
    /** The step functions by job type, as modules registered them; the job runner reads them. */
    steps: steps as ReadonlyMap<Job['type'], JobStep>,
    /** The step sizing of the types that registered one. */
    sizing: sizing as ReadonlyMap<Job['type'], Partial<StepSizing>>,

    /** Called once by the module that does this type of job; `sized` when its steps are not sized as the runner's. */
    registerStep(type: Job['type'], step: JobStep, sized?: Partial<StepSizing>): void {
      if (steps.has(type)) throw new Error(`A step for ${type} jobs is already registered.`);
      steps.set(type, step);
      if (sized) sizing.set(type, sized);
    },

    /** Queues a job inside the caller's transaction, so it exists exactly when the change that needs it commits. */
    async enqueue(trx: Transaction<Database>, workspaceId: number, job: { type: Job['type']; total: number; payload: Record<string, unknown> }): Promise<Job> {
      const at = isoNow(clock);
      return insertJob(trx, workspaceId, {
        id: ids.jobId(),
        type: job.type,
        status: 'queued',
        progress: { done: 0, total: job.total },
        created_at: at,
        updated_at: at,
        payload: job.payload,
      });
    },

    /**
     * Orders writes of a workspace against a job that must see every one of them or none (a
     * definition change): a writer passes the gate (`pass`) before it reads which such jobs run;
     * the job's starter (`start`) waits there for the writers that read before it, and the
     * writers after it wait for it to commit, then see the job. PostgreSQL only; SQLite runs one
     * writer at a time.
     */
    gate(trx: Transaction<Database>, workspaceId: number, as: 'pass' | 'start'): Promise<void> {
      return startGate(trx, workspaceId, as === 'pass' ? 'shared' : 'exclusive');
    },

    /** A writer's pass of the gate as an expression for another statement of `trx` to evaluate (undefined: no gate, on SQLite). */
    gatePass(trx: Kysely<Database>, workspaceId: number) {
      return gateLock(trx, workspaceId, 'shared');
    },

    /** Whether a job of this type is queued or running in the workspace. */
    hasActive(trx: Transaction<Database>, workspaceId: number, type: Job['type']): Promise<boolean> {
      return hasActiveJob(trx, workspaceId, type);
    },

    /** The jobs of a type (or of several) queued or running in the workspace, with their payloads; with `doneSince`, also those done since then. */
    active(
      conn: Kysely<Database> | Transaction<Database>,
      workspaceId: number,
      type: Job['type'] | readonly Job['type'][],
      doneSince?: string,
    ): Promise<{ id: string; type: Job['type']; status: Job['status']; payload: Record<string, unknown> }[]> {
      return activeJobs(conn, workspaceId, type, doneSince);
    },

    async get(workspaceId: number, id: string): Promise<Job> {
      const job = await findJob(db, workspaceId, id);
      if (!job) throw new AppError('NOT_FOUND', `Job ${id} not found.`);
      return job;
    },

    /** Jobs of every workspace by type and status, with their units done and to do (for /metrics). */
    summary: () => jobSummary(db),
  };
}
