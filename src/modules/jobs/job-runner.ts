// Runs background jobs in bounded steps. Each step is one transaction that does a batch and
// records the progress, so a server that stops mid-job loses nothing: its lease runs out and
// the job resumes where the progress says. Between steps the runner gives way to the event loop,
// and it sizes steps so that each stays short: on SQLite a step holds the only connection (and the
// event loop) while it runs, so a request waits at most one step behind a job. Each job type has
// its own step size; a type may register its own sizing (an import's steps are longer, since each
// step's commit and bookkeeping cost the same whatever its size).
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { type Clock, isoNow } from '../../shared/clock.ts';
import type { Job } from './job.ts';
import { claimJob, recordProgress, type ClaimedJob } from './jobs.repository.ts';
import type { JobStep, StepOutcome, StepSizing } from './jobs.service.ts';

export interface JobRunnerOptions {
  db: Kysely<Database>;
  clock: Clock;
  /** The modules' steps by job type (JobService.steps). */
  steps: ReadonlyMap<Job['type'], JobStep>;
  /** The sizing some types registered (JobService.sizing); the others get DEFAULT_SIZING. */
  sizing?: ReadonlyMap<Job['type'], Partial<StepSizing>>;
  /** Units (profiles) per step at most; fewer while steps take longer than `stepMs`. Given (tests), for every type. */
  batchSize?: number;
  /** How long one step may take before the next ones are made smaller. Given, for every type. */
  stepMs?: number;
  /** The smallest step: on a busy machine every step is slow, and tiny ones only add commits. Given, for every type. */
  minBatchSize?: number;
  /** How long a claimed job stays this server's without progress. */
  leaseMs?: number;
  /** Pause between polls when there is no work. */
  idleMs?: number;
  onError?: (error: unknown) => void;
}

export type JobRunner = ReturnType<typeof createJobRunner>;

// A factory: start, stop, drain and stepOnce share one polling state; each function is short.

/** Steps of about 20 ms: a request waits at most that long behind a job. */
export const DEFAULT_SIZING: StepSizing = { batchSize: 500, stepMs: 20, minBatchSize: 50 };

export function createJobRunner({ db, clock, steps, sizing = new Map(), batchSize, stepMs, minBatchSize, leaseMs = 30_000, idleMs = 1000, onError = () => {} }: JobRunnerOptions) {
  let timer: NodeJS.Timeout | undefined;
  const given = Object.fromEntries(Object.entries({ batchSize, stepMs, minBatchSize }).filter(([, v]) => v !== undefined));
  /** Each type's sizing, and the size of its next step (kept from one job of the type to the next). */
  const sized = new Map<Job['type'], StepSizing & { limit: number }>();
  const sizeOf = (type: Job['type']) => {
    let s = sized.get(type);
    if (!s) {
      const rule: StepSizing = { ...DEFAULT_SIZING, ...sizing.get(type), ...given };
      s = { ...rule, limit: given.batchSize ?? Math.min(rule.batchSize, rule.firstBatchSize ?? rule.batchSize) };
      sized.set(type, s);
    }
    return s;
  };
  let running: Promise<void> | undefined;
  let stopped = true;

  const lease = () => new Date(clock.now().getTime() + leaseMs).toISOString();

  /** One bounded step of a job; true when the job is finished. */
  async function step(job: ClaimedJob): Promise<boolean> {
    const sizing = sizeOf(job.type);
    const size = sizing.limit;
    const started = performance.now();
    let afterCommit: (() => Promise<void>) | undefined;
    const finished = await db.transaction().execute(async (trx) => {
      const run = steps.get(job.type);
      if (!run) throw new Error(`No step is registered for ${job.type} jobs.`);
      const ran = await run(trx, job, size);
      const outcome: StepOutcome = typeof ran === 'number' ? { done: ran, finished: ran < size } : ran;
      if (outcome.total !== undefined) job.progress.total = outcome.total;
      const done = Math.min(job.progress.total, job.progress.done + outcome.done);
      const finished = outcome.finished;
      await recordProgress(trx, job.workspace_id, job.id, {
        done: finished && !outcome.failed ? job.progress.total : done,
        total: outcome.total,
        status: finished ? (outcome.failed ? 'failed' : 'done') : 'running',
        at: isoNow(clock),
        leaseUntil: finished ? null : lease(),
        payload: outcome.payload,
        result: outcome.result,
      });
      if (outcome.payload) job.payload = outcome.payload;
      if (outcome.result) job.result = outcome.result;
      job.progress.done = done;
      afterCommit = outcome.afterCommit;
      return finished;
    });
    await afterCommit?.();
    // Halve after a slow step, grow back after quick ones.
    const took = performance.now() - started;
    if (took > sizing.stepMs) sizing.limit = Math.max(Math.min(sizing.minBatchSize, sizing.batchSize), Math.floor(size / 2));
    else if (took < sizing.stepMs / 2) sizing.limit = Math.min(sizing.batchSize, size * 2);
    return finished;
  }

  /** Claims one job and runs it while `go()` holds; false when there was nothing to do. */
  async function runOne(go: () => boolean): Promise<boolean> {
    const job = await claimJob(db, isoNow(clock), lease());
    if (!job) return false;
    // Requests that arrived meanwhile are read and started between two steps.
    while (go() && !(await step(job))) await yieldToEventLoop();
    return true;
  }

  async function loop(): Promise<void> {
    try {
      while (!stopped && (await runOne(() => !stopped)));
    } catch (error) {
      onError(error);
    }
    running = undefined;
    if (!stopped) timer = setTimeout(tick, idleMs);
  }

  function tick() {
    timer = undefined;
    running = loop();
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      tick();
    },
    /** Stops polling and waits for the step under way. */
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
    /** Runs every job there is now, to the end (tests and the CLI use it). */
    async drain() {
      while (await runOne(() => true));
    },
    /** Runs a single bounded step of the next job (tests use it to stop mid-job). */
    async stepOnce(): Promise<boolean> {
      const job = await claimJob(db, isoNow(clock), lease());
      return job ? step(job) : false;
    },
  };
}
