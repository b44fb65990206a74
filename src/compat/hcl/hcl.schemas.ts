// Request and response schemas of the HCL CDP surface, in the vendor's field names. Bodies are
// strict (unknown fields refused, no coercion); path parameters are coerced from text.
import { Type } from 'typebox';
import { NAME_PATTERN } from '../../modules/properties/property.ts';
import { PathId } from '../../shared/api-schemas.ts';
import { HCL_DATA_TYPES, HCL_MERGE_FUNCTIONS, HCL_PREFERENCES } from './hcl.mappers.ts';

export const CODE_MAX_LENGTH = 120;
export const PRIORITY_MAX = 1000;

// Any positive integer, as in the path: a campaign no workspace can have is simply not found.
const CampaignId = Type.Integer({ minimum: 1, description: 'The propdict workspace id', examples: [6335] });
const Code = Type.String({ minLength: 1, maxLength: CODE_MAX_LENGTH, pattern: NAME_PATTERN.source, description: 'The native property name', examples: ['DMP123'] });
const DataType = Type.Enum(HCL_DATA_TYPES);
const Preference = Type.Enum(HCL_PREFERENCES, { description: 'Identity role: none, pri (primary), sec (secondary)' });
const Priority = Type.Integer({ minimum: 1, maximum: PRIORITY_MAX, description: 'Identity priority; 1 is tried first' });
const MergeFunction = Type.Enum(HCL_MERGE_FUNCTIONS);

const example = { campaignId: 6335, dmpDataPointCode: 'DMP123', dataType: 'STRING', preference: 'none', priority: 1, mergeFunction: 'UPDATE' };

export const CreateBody = Type.Object(
  {
    campaignId: CampaignId,
    dmpDataPointCode: Code,
    dataType: DataType,
    preference: Type.Optional(Preference),
    priority: Type.Optional(Priority),
    mergeFunction: Type.Optional(MergeFunction),
  },
  { additionalProperties: false, examples: [example] },
);

/** Same fields as create; only the address is required, and fields left out keep their value. */
export const UpdateBody = Type.Object(
  {
    campaignId: CampaignId,
    dmpDataPointCode: Code,
    dataType: Type.Optional(DataType),
    preference: Type.Optional(Preference),
    priority: Type.Optional(Priority),
    mergeFunction: Type.Optional(MergeFunction),
  },
  { additionalProperties: false, examples: [example] },
);

// In a path any positive integer is taken: a campaign id no workspace can have is not found.
const CampaignInPath = PathId({ description: 'The propdict workspace id', examples: [6335] });
export const CampaignParams = Type.Object({ campaignId: CampaignInPath });
export const DataPointParams = Type.Object({ campaignId: CampaignInPath, dmpDataPointCode: Code });

export const Message = Type.Object({ message: Type.String() });

export const ListItem = Type.Object({
  id: Type.Integer(),
  campaignId: Type.Integer(),
  dmpDataPointCode: Type.String(),
  dataType: DataType,
  preference: Preference,
  priority: Type.Integer(),
  mergeFunction: MergeFunction,
  isProfileField: Type.Integer(),
  metadata: Type.String({ description: 'The native metadata object, as a JSON string' }),
});

export const ListResponse = Type.Array(ListItem);

/** Every error: the HTTP reason phrase and one or more sentences. */
export const HclErrorBody = Type.Object({ error: Type.String(), message: Type.String() });

/** The error answers every route can give, plus those named. */
export function hclErrors(...statuses: number[]) {
  return Object.fromEntries([400, 401, 403, 404, 429, 500, ...statuses].map((s) => [s, HclErrorBody]));
}
