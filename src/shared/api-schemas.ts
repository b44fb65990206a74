// Building blocks of the route schemas every module declares: the native error envelope, pages,
// timestamps and the workspace path parameter.
import { Type, type TSchema } from 'typebox';
import { ERROR_CODES } from './errors.ts';

export const ErrorDetailSchema = Type.Object({
  field: Type.String(),
  problem: Type.String(),
  allowed: Type.Optional(Type.Array(Type.Unknown())),
});

export const ErrorEnvelope = Type.Object(
  {
    error: Type.Object({
      code: Type.Enum(ERROR_CODES, { description: 'What went wrong, for programs; the status says it too' }),
      message: Type.String({ description: 'What went wrong and what to do, for people' }),
      request_id: Type.String({ description: 'Also sent as X-Request-Id' }),
      details: Type.Array(ErrorDetailSchema, { description: 'One entry per refused field or parameter' }),
    }),
  },
  { $id: 'ErrorEnvelope', description: 'Every native error' },
);

const errorRef = Type.Ref('ErrorEnvelope');

/** The error answers every authenticated route can give, plus those named. */
export function errors(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries([400, 401, 403, 404, 429, 500, ...statuses].map((s) => [s, errorRef]));
}

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Items per page (1–1000)' })),
  cursor: Type.Optional(Type.String({ description: 'The next_cursor of the previous page' })),
};

export const pageOf = <T extends TSchema>(item: T) =>
  Type.Object({ data: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]) });

export const Timestamp = Type.String({ format: 'date-time', examples: ['2026-11-23T12:00:00.000Z'] });

/** A numeric id in a path: any positive integer; one no object can have is simply not found. */
export const PathId = (options: { description?: string; examples?: number[] } = {}) => Type.Integer({ minimum: 1, ...options });

/** The tenant named in a native path. */
export const TenantParams = Type.Object({ tenant_id: PathId() });

/** The name of a tenant, a workspace or an API key. */
export const Name = Type.String({ minLength: 1, maxLength: 200 });

/** The workspace named in a native path. */
export const WorkspaceParams = {
  ws: PathId({ description: 'Workspace id', examples: [7196310] }),
};
