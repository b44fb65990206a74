// Pure translations between HCL CDP's "user property" shapes and the native property model.
// No rule lives here: what a property may be is decided by the property service.
import type { DataType, IdentityRole, MergeFunction, Property, PropertyCreate, PropertyPatch } from '../../modules/properties/property.ts';

export const HCL_DATA_TYPES = ['STRING', 'NUMBER', 'BOOLEAN', 'DATE', 'DATETIME'] as const;
export type HclDataType = (typeof HCL_DATA_TYPES)[number];

export const HCL_PREFERENCES = ['none', 'pri', 'sec'] as const;
export type HclPreference = (typeof HCL_PREFERENCES)[number];

export const HCL_MERGE_FUNCTIONS = ['UPDATE', 'KEEP', 'APPEND', 'SUM', 'MIN', 'MAX'] as const;
export type HclMergeFunction = (typeof HCL_MERGE_FUNCTIONS)[number];

/** The create and update bodies: `campaignId` and `dmpDataPointCode` address the property. */
export interface HclPropertyBody {
  campaignId: number;
  dmpDataPointCode: string;
  dataType?: HclDataType;
  preference?: HclPreference;
  priority?: number;
  mergeFunction?: HclMergeFunction;
}

export interface HclListItem {
  id: number;
  campaignId: number;
  dmpDataPointCode: string;
  dataType: HclDataType;
  preference: HclPreference;
  priority: number;
  mergeFunction: HclMergeFunction;
  isProfileField: 1;
  metadata: string;
}

const NATIVE_TYPE: Record<HclDataType, DataType> = {
  STRING: 'string',
  NUMBER: 'number',
  BOOLEAN: 'boolean',
  DATE: 'date',
  DATETIME: 'datetime',
};

/** Native types HCL has no name for are shown under the closest one it has. */
const HCL_TYPE: Record<DataType, HclDataType> = {
  string: 'STRING',
  text: 'STRING',
  number: 'NUMBER',
  integer: 'NUMBER',
  boolean: 'BOOLEAN',
  date: 'DATE',
  datetime: 'DATETIME',
  link: 'STRING',
  email: 'STRING',
  phone: 'STRING',
  enum: 'STRING',
  json: 'STRING',
};

const ROLE: Record<HclPreference, IdentityRole> = { none: 'none', pri: 'primary', sec: 'secondary' };
const PREFERENCE: Record<IdentityRole, HclPreference> = { none: 'none', primary: 'pri', secondary: 'sec' };

export const toNativeType = (t: HclDataType): DataType => NATIVE_TYPE[t];
export const toHclType = (t: DataType): HclDataType => HCL_TYPE[t];
export const toNativeMerge = (m: HclMergeFunction): MergeFunction => m.toLowerCase() as MergeFunction;
export const toHclMerge = (m: MergeFunction): HclMergeFunction => m.toUpperCase() as HclMergeFunction;

/** HCL shows a priority for every property; a native identity stored without one shows HCL's default, 1. */
const DEFAULT_PRIORITY = 1;

export function toListItem(p: Property, campaignId: number): HclListItem {
  return {
    id: p.id,
    campaignId,
    dmpDataPointCode: p.name,
    dataType: toHclType(p.data_type),
    preference: PREFERENCE[p.identity.role],
    priority: p.identity.priority ?? DEFAULT_PRIORITY,
    mergeFunction: toHclMerge(p.merge_function),
    isProfileField: 1,
    metadata: JSON.stringify(p.metadata),
  };
}

/** A create body as a native create; fields left out take the native defaults (none, UPDATE). */
export function toCreateInput(body: HclPropertyBody & { dataType: HclDataType }): PropertyCreate {
  const input: PropertyCreate = { name: body.dmpDataPointCode, data_type: toNativeType(body.dataType) };
  if (body.preference !== undefined || body.priority !== undefined) {
    input.identity = { role: ROLE[body.preference ?? 'none'], ...(body.priority !== undefined ? { priority: body.priority } : {}) };
  }
  if (body.mergeFunction !== undefined) input.merge_function = toNativeMerge(body.mergeFunction);
  return input;
}

/**
 * An update body as a native patch holding only what it really changes, seen through HCL's
 * eyes: `dataType: STRING` on a native `email` property keeps it `email`, and a field left out
 * keeps its stored value.
 */
export function toPatch(body: HclPropertyBody, current: Property): PropertyPatch {
  const shown = toListItem(current, 0);
  const patch: PropertyPatch = {};
  if (body.dataType !== undefined && body.dataType !== shown.dataType) patch.data_type = toNativeType(body.dataType);
  if (body.mergeFunction !== undefined && body.mergeFunction !== shown.mergeFunction) patch.merge_function = toNativeMerge(body.mergeFunction);
  const preference = body.preference ?? shown.preference;
  const priority = body.priority ?? shown.priority;
  if (preference !== shown.preference || priority !== shown.priority) {
    patch.identity = { role: ROLE[preference], priority: body.priority ?? current.identity.priority };
  }
  return patch;
}
