// The common route checks on every surface. A route the app serves that no row in
// helpers/route-calls.ts calls fails the suite, so no route ships without its security checks.
import { dialects } from './helpers/dialects.ts';
import { runCommonRouteTests } from './helpers/common-route-tests.ts';
import { ALL_SURFACES } from './helpers/route-calls.ts';

for (const dialect of dialects) for (const surface of ALL_SURFACES) runCommonRouteTests(dialect, surface);
