// One error vocabulary for the whole service. Each HTTP surface decides how to present it: by
// the code (which fixes the native status) and, where one code covers several situations, by
// the reason, never by the message text or the details.

export const ERROR_CODES = [
  'VALIDATION_FAILED',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'ALREADY_EXISTS',
  'CONFLICT',
  'PRECONDITION_FAILED',
  'PRECONDITION_REQUIRED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'LIMIT_EXCEEDED',
  'RATE_LIMITED',
  'INTERNAL',
  'UNAVAILABLE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Why, when a code covers several situations a surface words differently. */
export type ErrorReason =
  // who calls (UNAUTHENTICATED, FORBIDDEN)
  | 'NO_CREDENTIAL'
  | 'BAD_CREDENTIAL'
  | 'OPERATOR_NOT_SERVED'
  | 'OPERATOR_ONLY'
  | 'MISSING_SCOPE'
  | 'NO_WORKSPACE'
  // property definitions (CONFLICT, ALREADY_EXISTS, PRECONDITION_FAILED, LIMIT_EXCEEDED)
  | 'SYSTEM_PROPERTY'
  | 'IMMUTABLE_FIELD'
  | 'TYPE_FROZEN'
  | 'MAPPED_BY_SOURCES'
  | 'NO_ENCRYPTION_KEY'
  | 'NAME_TAKEN'
  | 'ALIAS_TAKEN'
  | 'DISPLAY_NAME_TAKEN'
  | 'STALE_VERSION'
  | 'PROPERTY_LIMIT'
  // definition changes with data (CONFLICT, VALIDATION_FAILED, PRECONDITION_REQUIRED)
  | 'VALUES_BREAK'
  | 'KEYS_NEED_CHANGE'
  | 'CHANGE_RUNNING'
  | 'ARCHIVED_PROPERTY'
  | 'CONVERSION_NOT_ALLOWED'
  | 'NOT_A_CHANGE'
  | 'IF_MATCH_REQUIRED'
  // the request itself (VALIDATION_FAILED)
  | 'BAD_URL';

/** Why one field was refused, when a surface words it its own way. */
export type DetailReason = 'UNKNOWN_FIELD' | 'REQUIRED' | 'PATTERN' | 'MERGE_FUNCTION' | 'IDENTITY_ROLE';

export interface ErrorDetail {
  field: string;
  problem: string;
  allowed?: unknown[];
  /** Never sent: what a presenter switches on. */
  reason?: DetailReason;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[];
  readonly reason: ErrorReason | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetail[] = [], reason?: ErrorReason) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
    this.reason = reason;
  }
}

export function codeToStatus(code: ErrorCode): number {
  switch (code) {
    case 'VALIDATION_FAILED':
      return 400;
    case 'UNAUTHENTICATED':
      return 401;
    case 'FORBIDDEN':
      return 403;
    case 'NOT_FOUND':
      return 404;
    case 'METHOD_NOT_ALLOWED':
      return 405;
    case 'ALREADY_EXISTS':
    case 'CONFLICT':
      return 409;
    case 'PRECONDITION_FAILED':
      return 412;
    case 'PRECONDITION_REQUIRED':
      return 428;
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    case 'UNSUPPORTED_MEDIA_TYPE':
      return 415;
    case 'LIMIT_EXCEEDED':
      return 422;
    case 'RATE_LIMITED':
      return 429;
    case 'INTERNAL':
      return 500;
    case 'UNAVAILABLE':
      return 503;
  }
}

export const validationFailed = (details: ErrorDetail[], message = 'The request is not valid.') =>
  new AppError('VALIDATION_FAILED', message, details);
