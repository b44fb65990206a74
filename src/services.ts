// Every service, wired once over one database, clock, id generator and broadcast. The app
// (src/app.ts) and the command line (src/cli.ts) both build them here.
import type { Kysely } from 'kysely';
import type { Config } from './config.ts';
import type { Database } from './db/schema.ts';
import { createApiKeyService } from './modules/api-keys/api-keys.service.ts';
import { createImportService } from './modules/imports/imports.service.ts';
import { createJobService } from './modules/jobs/jobs.service.ts';
import { createProfileService } from './modules/profiles/profiles.service.ts';
import { createValueCodec } from './modules/profiles/value-codec.ts';
import { createPropertyService } from './modules/properties/properties.service.ts';
import { createPropertyChangeService } from './modules/property-changes/property-changes.service.ts';
import { createSourceService } from './modules/sources/sources.service.ts';
import { createWriteKeyService } from './modules/sources/write-keys.service.ts';
import { createIngestionService } from './modules/ingestion/ingestion.service.ts';
import { createViolationService } from './modules/violations/violations.service.ts';
import { createTenantService } from './modules/tenants/tenants.service.ts';
import { createWorkspaceService } from './modules/workspaces/workspaces.service.ts';
import type { Broadcast } from './shared/broadcast.ts';
import type { Clock } from './shared/clock.ts';
import type { IdGenerator } from './shared/ids.ts';
import { createPiiCipher } from './shared/pii-cipher.ts';

export interface ServiceDeps {
  db: Kysely<Database>;
  config: Pick<Config, 'propertyLimit' | 'importLimit' | 'encryptionKey' | 'previousEncryptionKey'>;
  clock: Clock;
  ids: IdGenerator;
  /** Reaches every server process (cache drops, revoked keys). */
  broadcast: Broadcast;
  /** Matches from which a search filter is checked per profile instead of looked up. */
  broadFilter?: number;
}

export function createServices({ db, config, clock, ids, broadcast, broadFilter }: ServiceDeps) {
  const codec = createValueCodec(config.encryptionKey ? createPiiCipher(config.encryptionKey, config.previousEncryptionKey) : undefined);
  const tenants = createTenantService({ db, clock });
  const jobs = createJobService({ db, clock, ids });
  // Properties ask profiles and sources about a property's use, and property changes what a
  // change would do to the values; profiles rank values by source priority; sources ingest
  // through profiles. Each is asked through a function, so no module imports one that imports it
  // back.
  const properties = createPropertyService({
    db,
    clock,
    ids,
    piiStorable: codec.hasCipher,
    broadcast,
    jobs,
    usage: {
      holders: (trx, ws, id) => profiles.countHolders(trx, ws, id),
      releaseKeys: (trx, ws, from, to) => profiles.releaseKeys(trx, ws, from, to),
      mappedBy: (trx, ws, id) => sources.mappedBy(trx, ws, id),
      scanChange: (conn, ws, from, to, valueMap, masked) => propertyChanges.scanChange(conn, ws, from, to, valueMap, masked),
    },
  });
  const workspaces = createWorkspaceService({ db, clock, tenants, properties, defaultPropertyLimit: config.propertyLimit });
  const apiKeys = createApiKeyService({ db, clock, ids, tenants, workspaces, broadcast });
  const profiles = createProfileService({ db, clock, ids, codec, properties, jobs, sourcePriorities: (conn, ws) => sources.priorities(conn, ws), broadFilter });
  const propertyChanges = createPropertyChangeService({ codec, properties, profiles, jobs });
  const sources = createSourceService({ db, clock, properties, profiles });
  const writeKeys = createWriteKeyService({ db, clock, ids, broadcast });
  const violations = createViolationService({ db });
  const ingestion = createIngestionService({ db, clock, properties, sources, profiles, violations });
  const imports = createImportService({ db, clock, ids, codec, properties, profiles, sources, jobs, importLimit: config.importLimit });
  return { tenants, properties, workspaces, apiKeys, jobs, sources, profiles, writeKeys, violations, ingestion, imports };
}

export type Services = ReturnType<typeof createServices>;
