import { Type } from 'typebox';
import { Timestamp } from '../../shared/api-schemas.ts';
import { MERGE_FUNCTIONS } from '../properties/property.ts';
import { INPUT_PATH_PATTERN } from './source.ts';

const Path = Type.String({ minLength: 1, maxLength: 500, pattern: INPUT_PATH_PATTERN, examples: ['properties.customer_id'] });

const MappingIn = Type.Object(
  {
    property: Type.String({ minLength: 1, maxLength: 120 }),
    input_path: Path,
    alternate_paths: Type.Optional(Type.Array(Path, { maxItems: 20 })),
    mandatory: Type.Optional(Type.Boolean()),
    merge_function: Type.Optional(Type.Union([Type.Enum(MERGE_FUNCTIONS), Type.Null()])),
  },
  { additionalProperties: false },
);

const Name = Type.String({ minLength: 1, maxLength: 200, examples: ['crm'] });
const Priority = Type.Integer({ minimum: 1, maximum: 1000, description: '1 is the highest', examples: [1] });
const IdentityProperty = (what: string) =>
  Type.Union([Type.String({ minLength: 1, maxLength: 120 }), Type.Null()], {
    description: `An identity property (role primary or secondary) that ${what} is written to; null: none`,
  });
const IdentityFields = {
  user_id_property: Type.Optional(IdentityProperty("a Segment call's userId")),
  anonymous_id_property: Type.Optional(IdentityProperty("a Segment call's anonymousId (and an alias call's previousId)")),
};

export const SourceCreateBody = Type.Object(
  { name: Name, priority: Type.Optional(Priority), mappings: Type.Optional(Type.Array(MappingIn, { maxItems: 500 })), ...IdentityFields },
  {
    additionalProperties: false,
    examples: [
      {
        name: 'crm',
        priority: 1,
        mappings: [{ property: 'email', input_path: 'properties.email', alternate_paths: ['otherIds.email'], mandatory: true }],
      },
    ],
  },
);

export const SourcePatchBody = Type.Object(
  { name: Type.Optional(Name), priority: Type.Optional(Priority), mappings: Type.Optional(Type.Array(MappingIn, { maxItems: 500 })), ...IdentityFields },
  { additionalProperties: false, examples: [{ priority: 2 }] },
);

export const SourceSchema = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    priority: Type.Integer(),
    mappings: Type.Array(
      Type.Object({
        property: Type.String(),
        input_path: Type.String(),
        alternate_paths: Type.Array(Type.String()),
        mandatory: Type.Boolean(),
        merge_function: Type.Union([Type.Enum(MERGE_FUNCTIONS), Type.Null()]),
      }),
    ),
    user_id_property: Type.Union([Type.String(), Type.Null()]),
    anonymous_id_property: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Source' },
);
