export const JOB_TYPES = ['purge_property', 'reencode_property', 'rotate_key', 'import'] as const;
export const JOB_STATUSES = ['queued', 'running', 'done', 'failed'] as const;

export interface Job {
  id: string;
  type: (typeof JOB_TYPES)[number];
  status: (typeof JOB_STATUSES)[number];
  progress: { done: number; total: number };
  created_at: string;
  updated_at: string;
}
