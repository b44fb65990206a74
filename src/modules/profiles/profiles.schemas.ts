import { Type } from 'typebox';
import { Timestamp } from '../../shared/api-schemas.ts';
import { PROFILE_ID_PATTERN } from './profile.ts';

export const ProfileId = Type.String({ pattern: PROFILE_ID_PATTERN, description: '1–128 of A-Za-z0-9._:@-', examples: ['cust-1042'] });
const Values = Type.Record(Type.String({ minLength: 1, maxLength: 120 }), Type.Unknown(), {
  description: 'Values by property name; null clears a value',
  examples: [{ email: 'ana@example.com', loyalty_tier: 'gold' }],
});

export const ProfileCreateBody = Type.Object({ id: Type.Optional(ProfileId), properties: Values }, { additionalProperties: false });
export const ProfileWriteBody = Type.Object({ properties: Values }, { additionalProperties: false });

export const ProfileRecordSchema = Type.Object(
  {
    id: Type.Optional(ProfileId),
    properties: Values,
    source: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'A data source name: its priority applies' })),
    // Checked per record by the service, so that one bad date rejects its record alone.
    timestamp: Type.Optional(
      Type.String({
        description: 'When the values were true (RFC 3339 with an offset); older ones do not replace newer under update. A record whose timestamp is not a real date and time is rejected alone.',
        examples: ['2026-11-23T12:00:00Z'],
      }),
    ),
  },
  { additionalProperties: false },
);

// No maxItems: a batch over the limit is 413, which the service says, not a schema 400.
export const ProfileBatchBody = Type.Object({ inputs: Type.Array(ProfileRecordSchema, { minItems: 1 }) }, { additionalProperties: false });

export const ProfileSchema = Type.Object(
  {
    id: Type.String(),
    properties: Type.Record(Type.String(), Type.Unknown()),
    identities: Type.Record(Type.String(), Type.Unknown()),
    created_at: Timestamp,
    updated_at: Timestamp,
    provenance: Type.Optional(Type.Record(Type.String(), Type.Object({ source: Type.Union([Type.String(), Type.Null()]), updated_at: Timestamp }))),
  },
  { $id: 'Profile' },
);

export const BatchResultSchema = Type.Object({
  index: Type.Integer(),
  status: Type.Enum(['created', 'updated', 'merged', 'rejected']),
  id: Type.Optional(Type.String()),
  errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), problem: Type.String(), allowed: Type.Optional(Type.Array(Type.Unknown())) }))),
});
