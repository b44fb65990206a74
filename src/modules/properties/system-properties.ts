import type { PropertyCreate } from './property.ts';

/**
 * Seeded into every new workspace; listed with the others, never changed or deleted.
 * Their aliases are the column names imports commonly carry. None is PII: PII needs the
 * server's encryption key, and a workspace must work without one; a tenant that treats
 * contact data as PII defines its own PII properties.
 */
export const SYSTEM_PROPERTIES: readonly PropertyCreate[] = [
  { name: 'email', display_name: 'Email', data_type: 'email', unique: true, identity: { role: 'primary', priority: 1 }, import_aliases: ['email_address', 'e_mail'], display_order: 1 },
  { name: 'phone', display_name: 'Phone', data_type: 'phone', identity: { role: 'secondary', priority: 1 }, import_aliases: ['phone_number', 'mobile_phone_number', 'mobile'], display_order: 2 },
  { name: 'first_name', display_name: 'First name', data_type: 'string', import_aliases: ['firstname', 'given_name'], display_order: 3 },
  { name: 'last_name', display_name: 'Last name', data_type: 'string', import_aliases: ['lastname', 'surname', 'family_name'], display_order: 4 },
  { name: 'full_name', display_name: 'Full name', data_type: 'string', import_aliases: ['name', 'contact_name', 'profile_name'], display_order: 5 },
  { name: 'country', display_name: 'Country', data_type: 'string', description: 'ISO 3166-1 alpha-2 country code', validation: { pattern: '^[A-Z]{2}$' }, display_order: 6 },
  { name: 'city', display_name: 'City', data_type: 'string', display_order: 7 },
  { name: 'language', display_name: 'Language', data_type: 'string', description: 'BCP 47 language tag', display_order: 8 },
  { name: 'timezone', display_name: 'Time zone', data_type: 'string', description: 'IANA time zone name', example: 'Europe/Belgrade', display_order: 9 },
  { name: 'created_at', display_name: 'Created at', data_type: 'datetime', description: 'When the profile was first seen', importable: false, display_order: 10 },
];
