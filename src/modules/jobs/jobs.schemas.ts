import { Type } from 'typebox';
import { Timestamp } from '../../shared/api-schemas.ts';
import { JOB_STATUSES, JOB_TYPES } from './job.ts';

export const JobSchema = Type.Object(
  {
    id: Type.String(),
    type: Type.Enum(JOB_TYPES),
    status: Type.Enum(JOB_STATUSES),
    progress: Type.Object({ done: Type.Integer(), total: Type.Integer() }),
    result: Type.Optional(
      Type.Object(
        {
          profiles_with_values: Type.Integer(),
          convertible: Type.Integer(),
          failing: Type.Integer(),
          cleared: Type.Integer(),
          samples: Type.Array(Type.Object({ profile_id: Type.String(), value: Type.Unknown(), problem: Type.String() })),
          outcome: Type.Optional(Type.String({ description: 'Why the change ended as it did, in a sentence' })),
        },
        { description: 'A definition change: profiles with values, how many converted and failed, how many values were cleared, up to 20 failing samples (PII masked)' },
      ),
    ),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Job' },
);
