// The Segment HTTP Tracking API's bodies and answers, for the OpenAPI description and for
// validating a single call's shape. A batch's calls are read one by one (segment.mappers.ts), so
// that one unreadable call is refused alone.
import { Type } from 'typebox';

const Id = (description?: string) => Type.Union([Type.String(), Type.Number(), Type.Null()], { description });
const Json = Type.Record(Type.String(), Type.Unknown());
const When = (description = 'ISO 8601 date-time') => Type.String({ description, examples: ['2026-11-29T12:00:00.000Z'] });

const common = {
  userId: Type.Optional(Id("Written to the source's user_id_property")),
  anonymousId: Type.Optional(Id("Written to the source's anonymous_id_property; with userId, the two profiles are linked (merged)")),
  context: Type.Optional(Type.Object({ traits: Type.Optional(Json) }, { description: 'context.traits are applied as an identify\'s traits, whatever the call' })),
  integrations: Type.Optional(Json),
  timestamp: Type.Optional(When('Dates the values (moved by receivedAt − sentAt); an older value does not replace a newer one')),
  originalTimestamp: Type.Optional(When("RudderStack's name for timestamp")),
  sentAt: Type.Optional(When()),
  messageId: Type.Optional(Type.Union([Type.String(), Type.Number()], { description: 'A repeat within 24 hours is skipped' })),
  writeKey: Type.Optional(Type.String({ description: 'The write key, when not sent as the HTTP Basic user name' })),
  type: Type.Optional(Type.String()),
};

export const IdentifyBody = Type.Object(
  { ...common, traits: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Mapped to properties by name, then by import alias, case-insensitively' })) },
  { examples: [{ userId: 'u-1042', anonymousId: '9f1c', traits: { email: 'ana@example.com', firstName: 'Ana' }, timestamp: '2026-11-29T12:00:00Z', messageId: 'm-1' }] },
);

export const EventBody = Type.Object(
  { ...common, event: Type.Optional(Type.String()), name: Type.Optional(Type.String()), properties: Type.Optional(Json), groupId: Type.Optional(Id()), traits: Type.Optional(Json) },
  { description: 'Accepted and not stored, but for its context.traits.', examples: [{ userId: 'u-1042', event: 'Order Completed', context: { traits: { plan: 'pro' } } }] },
);

export const AliasBody = Type.Object(
  { ...common, previousId: Type.Union([Type.String(), Type.Number()], { description: "A user id or anonymous id the user had: the profile holding it merges into userId's" }) },
  { examples: [{ previousId: '9f1c', userId: 'u-1042' }] },
);

export const BatchBody = Type.Object(
  {
    batch: Type.Array(Type.Unknown(), { description: 'Calls, each with its type (identify, track, page, screen, group, alias); one that cannot be read is refused alone and recorded as a violation' }),
    context: Type.Optional(Type.Object({ traits: Type.Optional(Json) }, { description: 'Shared by every call of the batch' })),
    integrations: Type.Optional(Json),
    sentAt: Type.Optional(When()),
    writeKey: Type.Optional(Type.String()),
  },
  { examples: [{ batch: [{ type: 'identify', userId: 'u-1042', traits: { plan: 'pro' }, messageId: 'm-2' }], sentAt: '2026-11-29T12:00:01Z' }] },
);

export const Success = Type.Object({ success: Type.Literal(true) });
export const Failure = Type.Object({ success: Type.Literal(false), message: Type.String() });

export const answers = { 200: Success, 400: Failure, 401: Failure, 404: Failure, 429: Failure, 500: Failure };
