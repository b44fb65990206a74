// Pure translations between LINE WORKS contact custom properties and the native property
// model. No I/O, no rules: the services decide, these only rename and reshape.
import type { ErrorDetail } from '../../shared/errors.ts';
import type { DataType, Property, PropertyCreate, PropertyPatch } from '../../modules/properties/property.ts';
import { LANGUAGES, type ContactCustomProperty, type CreateBody, type Language, type PatchBody, type PropertyType } from './lineworks.schemas.ts';

const TO_NATIVE_TYPE: Record<PropertyType, DataType> = { STRING: 'string', LINK: 'link' };

/** LINE WORKS names only STRING and LINK; every other native type is listed as STRING, its closest. */
export const toPropertyType = (dataType: DataType): PropertyType => (dataType === 'link' ? 'LINK' : 'STRING');

const isLineWorksLanguage = (tag: string): tag is Language => (LANGUAGES as readonly string[]).includes(tag);

/** Only the five languages LINE WORKS knows are shown; others set natively stay hidden here. */
export function toI18nList(names: Record<string, string>): ContactCustomProperty['i18nDisplayNames'] {
  return Object.entries(names)
    .filter((entry): entry is [Language, string] => isLineWorksLanguage(entry[0]))
    .map(([language, name]) => ({ language, name }));
}

/** The list as a record, in the order given; a language named twice is a problem, not a silent overwrite. */
export function toI18nRecord(list: { language: Language; name: string }[]): { names: Record<string, string>; problems: ErrorDetail[] } {
  const names: Record<string, string> = {};
  const problems: ErrorDetail[] = [];
  list.forEach(({ language, name }, i) => {
    if (language in names) problems.push({ field: `i18nDisplayNames[${i}].language`, problem: `repeats the language ${language}` });
    else names[language] = name;
  });
  return { names, problems };
}

export function toContactCustomProperty(p: Property, domainId: number): ContactCustomProperty {
  return {
    domainId,
    customPropertyId: p.uid,
    propertyName: p.name,
    displayName: p.display_name,
    i18nDisplayNames: toI18nList(p.i18n_display_names),
    propertyType: toPropertyType(p.data_type),
    displayOrder: p.display_order,
    multiValued: p.multi_valued,
  };
}

export function toPropertyCreate(body: CreateBody): { input: PropertyCreate; problems: ErrorDetail[] } {
  const { names, problems } = toI18nRecord(body.i18nDisplayNames ?? []);
  return {
    input: {
      name: body.propertyName,
      display_name: body.displayName,
      i18n_display_names: names,
      data_type: TO_NATIVE_TYPE[body.propertyType],
      display_order: body.displayOrder ?? null,
      multi_valued: body.multiValued ?? false,
    },
    problems,
  };
}

/**
 * Only the fields the body names; `displayOrder: null` clears the order. The list replaces the
 * five LINE WORKS languages; names in other languages, set natively and never shown here, stay.
 */
export function toPropertyPatch(body: PatchBody, currentI18n: Record<string, string>): { patch: PropertyPatch; problems: ErrorDetail[] } {
  const patch: PropertyPatch = {};
  let problems: ErrorDetail[] = [];
  if (body.displayName !== undefined) patch.display_name = body.displayName;
  if (body.displayOrder !== undefined) patch.display_order = body.displayOrder;
  if (body.i18nDisplayNames !== undefined) {
    const i18n = toI18nRecord(body.i18nDisplayNames);
    const kept = Object.fromEntries(Object.entries(currentI18n).filter(([tag]) => !isLineWorksLanguage(tag)));
    patch.i18n_display_names = { ...i18n.names, ...kept };
    problems = i18n.problems;
  }
  return { patch, problems };
}

/** Custom, live properties only: LINE WORKS does not show system or archived ones. */
export const isListedHere = (p: Pick<Property, 'system' | 'archived'>): boolean => !p.system && !p.archived;

/**
 * A path segment names a property by customPropertyId (the uid) or propertyName. An all-digit
 * segment is neither (a name cannot start with a digit), so the native numeric id is not a way in.
 */
export const isPropertyRef = (segment: string): boolean => !/^\d+$/.test(segment);

const VENDOR_FIELDS: Record<string, string> = {
  name: 'propertyName',
  display_name: 'displayName',
  i18n_display_names: 'i18nDisplayNames',
  data_type: 'propertyType',
  display_order: 'displayOrder',
  multi_valued: 'multiValued',
};

/** A native field path (`display_name`, `i18n_display_names.en_US`) in LINE WORKS's words. */
export function vendorField(field: string): string {
  const [head, ...rest] = field.split('.');
  return [VENDOR_FIELDS[head] ?? head, ...rest].join('.');
}
