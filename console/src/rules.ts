// The API's own rules where the console needs them before asking (which merge functions a type
// takes, which search operators): imported from the server's pure rule files, so they cannot drift.
export { DATA_TYPES, IDENTITY_ROLES, MERGE_FUNCTIONS, mergeFunctionsFor } from '../../src/modules/properties/property.ts';
export { FILTER_OPS, filterOpsFor } from '../../src/modules/profiles/filter-ops.ts';
