import { Type } from 'typebox';
import { Timestamp } from '../../shared/api-schemas.ts';
import { DATA_TYPES, HISTORY_ACTIONS, IDENTITY_ROLES, MAX_BATCH, MERGE_FUNCTIONS, NAME_PATTERN } from './property.ts';

const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

const Name = Type.String({ minLength: 1, maxLength: 120, pattern: NAME_PATTERN.source, examples: ['loyalty_tier'] });
const DisplayName = Type.String({ minLength: 1, maxLength: 120, examples: ['Loyalty tier'] });
const Alias = Type.String({ minLength: 1, maxLength: 120 });
export const LANGUAGE_TAG = '^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$';

const OptionIn = Type.Object(
  {
    value: Type.String({ minLength: 1, maxLength: 255 }),
    label: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    display_order: Type.Optional(nullable(Type.Integer({ minimum: 1 }))),
    hidden: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
const OptionOut = Type.Object({
  value: Type.String(),
  label: Type.String(),
  display_order: nullable(Type.Integer()),
  hidden: Type.Boolean(),
});

const Validation = Type.Object(
  {
    min_length: Type.Optional(Type.Integer({ minimum: 0 })),
    max_length: Type.Optional(Type.Integer({ minimum: 1 })),
    pattern: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
    minimum: Type.Optional(Type.Number()),
    maximum: Type.Optional(Type.Number()),
  },
  { additionalProperties: false },
);

const IdentityIn = Type.Object(
  {
    role: Type.Enum(IDENTITY_ROLES),
    priority: Type.Optional(nullable(Type.Integer({ minimum: 1, maximum: 1000 }))),
  },
  { additionalProperties: false },
);

const DataType = Type.Enum(DATA_TYPES);
const MergeFunction = Type.Enum(MERGE_FUNCTIONS);

/** The fields a client may send, all optional; create adds `name` and `data_type` as required. */
const writable = {
  display_name: Type.Optional(DisplayName),
  i18n_display_names: Type.Optional(
    // propertyNames: a pattern on the key alone becomes patternProperties, which lets any other key through.
    Type.Record(Type.String(), Type.String({ minLength: 1, maxLength: 120 }), {
      propertyNames: { pattern: LANGUAGE_TAG },
      description: 'Display names by language tag (en, en_US, sr-Latn)',
      examples: [{ en_US: 'Loyalty tier' }],
    }),
  ),
  description: Type.Optional(nullable(Type.String({ maxLength: 2000 }))),
  example: Type.Optional(nullable(Type.String({ maxLength: 500 }))),
  options: Type.Optional(nullable(Type.Array(OptionIn, { maxItems: 1000 }))),
  validation: Type.Optional(nullable(Validation)),
  unique: Type.Optional(Type.Boolean()),
  group: Type.Optional(nullable(Type.String({ minLength: 1, maxLength: 120 }))),
  display_order: Type.Optional(nullable(Type.Integer({ minimum: 1, maximum: 2_147_483_646 }))),
  pii: Type.Optional(Type.Boolean()),
  importable: Type.Optional(Type.Boolean()),
  exportable: Type.Optional(Type.Boolean()),
  import_aliases: Type.Optional(Type.Array(Alias, { maxItems: 50 })),
  export_alias: Type.Optional(nullable(Alias)),
  identity: Type.Optional(IdentityIn),
  merge_function: Type.Optional(MergeFunction),
  metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
};

export const PropertyCreateBody = Type.Object(
  { name: Name, data_type: DataType, multi_valued: Type.Optional(Type.Boolean()), ...writable },
  {
    additionalProperties: false,
    examples: [
      {
        name: 'loyalty_tier',
        display_name: 'Loyalty tier',
        data_type: 'enum',
        options: [{ value: 'gold', label: 'Gold' }, { value: 'silver', label: 'Silver' }],
        group: 'loyalty',
        import_aliases: ['tier'],
        export_alias: 'loyalty_tier',
      },
    ],
  },
);

export const PropertyPatchBody = Type.Object(
  // name, data_type and multi_valued are accepted so that a change to them can be refused with 409.
  { name: Type.Optional(Name), data_type: Type.Optional(DataType), multi_valued: Type.Optional(Type.Boolean()), ...writable },
  { additionalProperties: false, examples: [{ description: 'Tier from the loyalty programme', display_order: 3 }] },
);

export const PropertyBatchBody = Type.Object(
  { inputs: Type.Array(PropertyCreateBody, { minItems: 1, maxItems: MAX_BATCH }) },
  { additionalProperties: false },
);

export const PropertySchema = Type.Object(
  {
    id: Type.Integer({ examples: [11] }),
    uid: Type.String({ examples: ['3f1e2d4c-5b6a-4789-8abc-def012345678'] }),
    name: Type.String(),
    display_name: Type.String(),
    i18n_display_names: Type.Record(Type.String(), Type.String()),
    description: nullable(Type.String()),
    example: nullable(Type.String()),
    data_type: DataType,
    multi_valued: Type.Boolean(),
    options: nullable(Type.Array(OptionOut)),
    validation: nullable(Validation),
    unique: Type.Boolean(),
    group: nullable(Type.String()),
    display_order: nullable(Type.Integer()),
    pii: Type.Boolean(),
    importable: Type.Boolean(),
    exportable: Type.Boolean(),
    import_aliases: Type.Array(Type.String()),
    export_alias: nullable(Type.String()),
    identity: Type.Object({ role: Type.Enum(IDENTITY_ROLES), priority: nullable(Type.Integer()) }),
    merge_function: MergeFunction,
    metadata: Type.Record(Type.String(), Type.Unknown()),
    system: Type.Boolean(),
    archived: Type.Boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
    version: Type.Integer({ examples: [1] }),
  },
  { $id: 'Property' },
);

export const PropertyListQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Searches name, display name and description' })),
  data_type: Type.Optional(DataType),
  group: Type.Optional(Type.String()),
  pii: Type.Optional(Type.Boolean()),
  system: Type.Optional(Type.Boolean()),
  archived: Type.Optional(Type.Boolean({ default: false, description: 'true lists archived properties only' })),
});

export const HistoryEntrySchema = Type.Object({
  version: Type.Integer(),
  at: Timestamp,
  key_id: nullable(Type.String()),
  action: Type.Enum(HISTORY_ACTIONS),
  changes: Type.Record(Type.String(), Type.Object({ from: Type.Unknown(), to: Type.Unknown() })),
});

/** The fields a change with data may set (at least one), and how option values are renamed. */
const changeFields = {
  data_type: Type.Optional(DataType),
  multi_valued: Type.Optional(Type.Boolean()),
  options: writable.options,
  validation: writable.validation,
  unique: writable.unique,
  identity: writable.identity,
  value_map: Type.Optional(
    Type.Record(Type.String({ minLength: 1, maxLength: 255 }), Type.String({ minLength: 1, maxLength: 255 }), {
      description: 'Old option values renamed to new ones ({from: to}), for a change to or within an enum',
      examples: [{ silver: 'standard' }],
    }),
  ),
};

export const ChangePreviewBody = Type.Object(changeFields, {
  additionalProperties: false,
  minProperties: 1,
  examples: [{ data_type: 'integer' }],
});

export const ChangeBody = Type.Object(
  {
    ...changeFields,
    on_failure: Type.Enum(['abort', 'clear'], { description: 'abort: if any value fails, nothing changes; clear: failing values are removed' }),
  },
  { additionalProperties: false, examples: [{ data_type: 'integer', on_failure: 'abort' }] },
);

export const ChangePreviewSchema = Type.Object({
  profiles_with_values: Type.Integer({ description: 'Profiles holding a value of the property' }),
  convertible: Type.Integer({ description: 'Of those, values that convert' }),
  failing: Type.Integer({ description: 'Values that do not convert (or would be held twice under unique)' }),
  samples: Type.Array(Type.Object({ profile_id: Type.String(), value: Type.Unknown({ description: 'The stored value; "***" for PII without pii:read' }), problem: Type.String() }), {
    maxItems: 20,
  }),
  changes: Type.Record(Type.String(), Type.Object({ from: Type.Unknown(), to: Type.Unknown() }), { description: 'The definition diff' }),
});
