// The one place ingestion writes profiles. The profile store's batch writes the records in its own
// transaction, a savepoint each, so one refused call never sinks the others; once the store's
// write path takes a caller's transaction, the dedupe rows and violations join that transaction.
import type { ProfileRecord, ProfileService, RecordResult } from '../profiles/profiles.service.ts';

export interface ProfileWriter {
  /** Writes the records as one unit of work; one result per record, in order. */
  write(workspaceId: number, records: ProfileRecord[]): Promise<RecordResult[]>;
}

export function createProfileWriter(profiles: Pick<ProfileService, 'batch'>): ProfileWriter {
  return { write: (workspaceId, records) => (records.length === 0 ? Promise.resolve([]) : profiles.batch(workspaceId, records)) };
}
