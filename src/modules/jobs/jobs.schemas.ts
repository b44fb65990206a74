import { Type } from 'typebox';
import { Timestamp } from '../../shared/api-schemas.ts';
import { JOB_STATUSES, JOB_TYPES } from './job.ts';

export const JobSchema = Type.Object(
  {
    id: Type.String(),
    type: Type.Enum(JOB_TYPES),
    status: Type.Enum(JOB_STATUSES),
    progress: Type.Object({ done: Type.Integer(), total: Type.Integer() }),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Job' },
);
