// Ocamba Hood's shapes for profile properties (https://docs.ocamba.com/api/hood/v1.0/): request
// bodies are strict (unknown fields refused), responses list only the documented fields.
import { Type, type Static } from 'typebox';
import { FILTERABLE_FIELDS, ITEM_FIELDS, OCAMBA_DATA_TYPES } from './ocamba.mappers.ts';

const Flag = Type.Enum([0, 1], { description: '0 or 1' });
const DataType = Type.Enum(OCAMBA_DATA_TYPES, { description: 'text, number or date; default text' });
const Label = Type.String({
  minLength: 1,
  maxLength: 120,
  pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
  description: 'The property key (also shown as target): a letter or _ first, then letters, digits and _',
  examples: ['my_region'],
});
const Example = Type.String({ maxLength: 500, examples: ['northern_europe'] });
const Description = Type.String({ maxLength: 2000 });
const ExportAlias = Type.String({ maxLength: 120, description: 'Column name used by exports; also one of import_aliases. "" clears it.', examples: ['region_name'] });

/** What Ocamba's PATCH may change: every other field is fixed once created. */
const updatable = {
  example: Type.Optional(Example),
  description: Type.Optional(Description),
  export_alias: Type.Optional(ExportAlias),
  pi_data: Type.Optional(Flag),
  importable: Type.Optional(Flag),
  exportable: Type.Optional(Flag),
};

export const CreateBody = Type.Object(
  { label: Label, data_type: Type.Optional(DataType), ...updatable },
  {
    additionalProperties: false,
    examples: [
      {
        label: 'my_region',
        data_type: 'text',
        example: 'northern_europe',
        description: 'Custom region information associated with the profile.',
        export_alias: 'region_name',
        pi_data: 1,
        importable: 1,
        exportable: 1,
      },
    ],
  },
);
export type CreateBody = Static<typeof CreateBody>;

export const PatchBody = Type.Object(updatable, { additionalProperties: false, examples: [{ description: 'Region used for segmentation', pi_data: 0 }] });
export type PatchBody = Static<typeof PatchBody>;

const FlagOut = Type.Integer({ minimum: 0, maximum: 1 });
const Time = Type.String({ description: 'YYYY-MM-DD HH:MM:SS, UTC', examples: ['2025-01-29 12:47:00'] });

export const Item = Type.Object({
  id: Type.String({ examples: ['11'] }),
  company_id: Type.String({ description: 'The workspace id', examples: ['7196310'] }),
  target: Type.String({ description: 'Legacy name of label: always equal to it' }),
  label: Type.String(),
  data_type: Type.String({ enum: [...OCAMBA_DATA_TYPES] }),
  example: Type.String(),
  description: Type.String(),
  import_aliases: Type.Array(Type.String()),
  export_alias: Type.String(),
  pi_data: FlagOut,
  system: FlagOut,
  importable: FlagOut,
  exportable: FlagOut,
  create_time: Time,
  update_time: Time,
});

/** `fields` may leave any field out. */
export const ListResponse = Type.Object({ total: Type.Integer(), items: Type.Array(Type.Partial(Item)) });
export const OneResponse = Type.Object({ total: Type.Literal(1), items: Type.Array(Item, { minItems: 1, maxItems: 1 }) });

export const ErrorBody = Type.Object({
  code: Type.Integer({ description: 'The HTTP status', examples: [400] }),
  title: Type.String({ examples: ['Bad request.'] }),
  message: Type.String({ examples: ['The request body is not valid: label is required.'] }),
  trace_id: Type.String({ description: 'The request id, also sent as X-Request-Id' }),
});

/** Every answer a route can give besides its success. */
export const errorResponses = Object.fromEntries([400, 401, 403, 404, 405, 413, 415, 429, 500].map((s) => [s, ErrorBody]));

export const IdParams = Type.Object({ id: Type.String({ description: 'The property id, a string of digits', examples: ['11'] }) });

const list = (what: string) => Type.Optional(Type.String({ maxLength: 500, description: what }));
const filter = (description: string) => Type.Optional(Type.String({ maxLength: 2000, description }));

export const ListQuery = Type.Object(
  {
    page: Type.Optional(Type.String({ maxLength: 40, description: 'N or N,M: page N (from 1) of M items (default 50, at most 1000)', examples: ['2,100'] })),
    sort: list('Comma list of data_type, pi_data, importable, exportable, create_time, update_time; - first for descending'),
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Case-insensitive substring searched in q_fields' })),
    q_fields: list('Comma list of target, label, description (default: all three)'),
    fields: list(`Comma list of the item fields to return: ${ITEM_FIELDS.join(', ')}`),
    view: Type.Optional(Type.Enum(['full', 'default'], { description: 'Accepted for compatibility: both return every field' })),
    ...Object.fromEntries(FILTERABLE_FIELDS.map((f) => [f, filter(`Only items whose ${f} equals this`)])),
  },
  { additionalProperties: false },
);
