// LINE WORKS API 2.0 contact custom properties, as the vendor documents them: the shapes a
// LINE WORKS client sends and reads. Bodies are strict (unknown fields are 400).
import { Type, type Static } from 'typebox';
import { NAME_PATTERN } from '../../modules/properties/property.ts';

export const PROPERTY_TYPES = ['STRING', 'LINK'] as const;
export const LANGUAGES = ['ko_KR', 'ja_JP', 'zh_CN', 'zh_TW', 'en_US'] as const;
export type PropertyType = (typeof PROPERTY_TYPES)[number];
export type Language = (typeof LANGUAGES)[number];

const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

// A domain id is an int32 in LINE WORKS and a workspace id here.
// Any positive integer: a domain no workspace can have (past the id column's range) is simply not found.
const DomainId = Type.Integer({ minimum: 1, description: 'Domain ID (the propdict workspace id)', examples: [10000001] });
const PropertyName = Type.String({ minLength: 1, maxLength: 120, pattern: NAME_PATTERN.source, examples: ['ext_id'] });
const DisplayName = Type.String({ minLength: 1, maxLength: 20, examples: ['External ID'] });
// 2147483647 is where propdict sorts a null order, so the largest order is one less.
const DisplayOrder = nullable(Type.Integer({ minimum: 1, maximum: 2_147_483_646 }));

const I18nDisplayNameIn = Type.Object(
  { language: Type.Enum(LANGUAGES), name: Type.String({ minLength: 1, maxLength: 20 }) },
  { additionalProperties: false },
);
const I18nDisplayNames = Type.Array(I18nDisplayNameIn, { maxItems: LANGUAGES.length });

export const CreateBody = Type.Object(
  {
    domainId: DomainId,
    propertyName: PropertyName,
    displayName: DisplayName,
    i18nDisplayNames: Type.Optional(I18nDisplayNames),
    propertyType: Type.Enum(PROPERTY_TYPES),
    displayOrder: Type.Optional(DisplayOrder),
    multiValued: Type.Optional(Type.Boolean()),
  },
  {
    additionalProperties: false,
    examples: [
      {
        domainId: 10000001,
        propertyName: 'ext_id',
        displayName: 'External ID',
        i18nDisplayNames: [
          { language: 'ko_KR', name: 'External ID' },
          { language: 'en_US', name: 'external id' },
        ],
        propertyType: 'STRING',
        displayOrder: 1,
      },
    ],
  },
);
export type CreateBody = Static<typeof CreateBody>;

/** propertyName, propertyType and multiValued cannot be updated: they are unknown fields here. */
export const PatchBody = Type.Object(
  {
    domainId: Type.Optional(DomainId),
    displayName: Type.Optional(DisplayName),
    i18nDisplayNames: Type.Optional(I18nDisplayNames),
    displayOrder: Type.Optional(DisplayOrder),
  },
  { additionalProperties: false, examples: [{ domainId: 10000001, displayName: 'ext_id', i18nDisplayNames: [{ language: 'en_US', name: 'external id' }] }] },
);
export type PatchBody = Static<typeof PatchBody>;

/** Query strings are coerced; parameters LINE WORKS does not name are ignored. */
export const DomainQuery = Type.Object({ domainId: Type.Optional(DomainId) });

export const RefParams = Type.Object({
  customPropertyId: Type.String({ minLength: 1, description: 'customPropertyId or propertyName' }),
});

export const ContactCustomProperty = Type.Object({
  domainId: Type.Integer(),
  customPropertyId: Type.String({ examples: ['3f1e2d4c-5b6a-4789-8abc-def012345678'] }),
  propertyName: Type.String(),
  displayName: Type.String(),
  i18nDisplayNames: Type.Array(Type.Object({ language: Type.Enum(LANGUAGES), name: Type.String() })),
  propertyType: Type.Enum(PROPERTY_TYPES),
  displayOrder: nullable(Type.Integer()),
  multiValued: Type.Boolean(),
});
export type ContactCustomProperty = Static<typeof ContactCustomProperty>;

export const CustomPropertyList = Type.Object({ customProperties: Type.Array(ContactCustomProperty) });

export const NoContent = Type.Null({ description: 'No Content' });

export const ErrorBody = Type.Object({
  code: Type.String({ examples: ['NOT_FOUND'] }),
  description: Type.String(),
});
