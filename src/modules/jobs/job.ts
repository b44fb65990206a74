export const JOB_TYPES = ['purge_property', 'reencode_property', 'rotate_key', 'import', 'change_property'] as const;
export const JOB_STATUSES = ['queued', 'running', 'done', 'failed'] as const;

export interface Job {
  id: string;
  type: (typeof JOB_TYPES)[number];
  status: (typeof JOB_STATUSES)[number];
  progress: { done: number; total: number };
  /** What the job found, when its type reports anything (a definition change's counts and samples). */
  result?: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}
