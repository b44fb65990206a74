// All SQL of definition changes with data: a change's converted values staged in staged_values
// and staged_keys, then landed. `db`/`trx` first, the workspace second, in every function. The
// landing writes profile_values and profile_keys, the profiles module's tables: it is a few
// set-based statements over the staged rows, in the job's last transaction, which no call
// through the profiles service could be. The values are read through the profiles service.
import { sql, type Kysely, type SqlBool, type Transaction } from 'kysely';
import { isPostgres } from '../../db/dialect.ts';
import { inChunks } from '../../db/in-chunks.ts';
import { insertRows } from '../../db/insert-rows.ts';
import type { Database } from '../../db/schema.ts';
import { isKeyed } from '../profiles/change-set.ts';
import type { ValueCodec } from '../profiles/value-codec.ts';
import type { Property } from '../properties/property.ts';

type Conn = Kysely<Database> | Transaction<Database>;

/** Keys per statement, at most: a power of two, so that every chunk is one (see inChunks). */
const KEY_ROWS_PER_INSERT = 512;

/** What a change does to one stored value: its new value, or none (it failed and goes). */
export interface StagedValue {
  profile_id: string;
  /** Rows the stored value has: those the new value does not fill go. */
  items: number;
  converted?: { value: unknown };
}

// Rows a staging statement writes; a fixed number keeps one prepared form for every chunk.
const STAGED_ROWS_PER_INSERT = 250;
const STAGED_COLUMNS = ['workspace_id', 'job_id', 'seq', 'profile_id', 'position', 'v_text', 'v_num', 'v_json'];

/**
 * Stages what a change does to some stored values (`def`: the definition as the change leaves
 * it), numbered from `seq`: the new rows of each converted value, and a row without v_json for
 * each stored row that goes; the key each new value claims, if any, in staged_keys. Returns the
 * next number. Written as text, so that every full chunk reuses one prepared statement.
 */
export async function stageValues(
  trx: Transaction<Database>,
  workspaceId: number,
  jobId: string,
  def: Property,
  values: readonly StagedValue[],
  seq: number,
  codec: ValueCodec,
): Promise<number> {
  const meta = { source: null, written_at: '' };
  const rows: unknown[][] = [];
  for (const v of values) {
    const encoded = v.converted ? codec.encodeValue(def, v.converted.value, meta) : [];
    for (const r of encoded) rows.push([workspaceId, jobId, seq++, v.profile_id, r.position, r.v_text, r.v_num, r.v_json]);
    for (let position = encoded.length; position < v.items; position++) rows.push([workspaceId, jobId, seq++, v.profile_id, position, null, null, null]);
  }
  // Every step's transaction is rolled back whole on a failure: no statement journal (orFail).
  await insertRows(trx, 'staged_values', STAGED_COLUMNS, rows, STAGED_ROWS_PER_INSERT, { orFail: true });
  if (isKeyed(def)) {
    const keys = values.flatMap((v) => (v.converted ? [{ workspace_id: workspaceId, job_id: jobId, value_key: codec.keyOf(def, v.converted.value), profile_id: v.profile_id }] : []));
    await inChunks(keys, KEY_ROWS_PER_INSERT / 2, (chunk) => trx.insertInto('staged_keys').values(chunk).execute());
  }
  return seq;
}

/** Drops what a change staged. */
export async function clearStaged(trx: Transaction<Database>, workspaceId: number, jobId: string): Promise<void> {
  for (const table of ['staged_values', 'staged_keys'] as const) {
    await trx.deleteFrom(table).where('workspace_id', '=', workspaceId).where('job_id', '=', jobId).execute();
  }
}

/**
 * Lands a change's values in one transaction, set-based: the stored rows marked to go are
 * deleted, every other stored row takes its staged form in place (its provenance stays), and
 * the property's keys are claimed again from the staged ones; the staging is dropped. A
 * conversion never adds items, so every staged row has its stored row (a profile erased while
 * the change ran has neither).
 */
export async function swapStaged(trx: Transaction<Database>, workspaceId: number, jobId: string, propertyId: number): Promise<void> {
  // Usually few: values that failed under on_failure clear, items dropped.
  const going = await trx
    .selectFrom('staged_values')
    .select(['profile_id', 'position'])
    .where('workspace_id', '=', workspaceId)
    .where('job_id', '=', jobId)
    .where('v_json', 'is', null)
    .execute();
  await inChunks(going, 1000, (chunk) =>
    trx
      .deleteFrom('profile_values')
      .where('workspace_id', '=', workspaceId)
      .where('property_id', '=', propertyId)
      .where(sql<SqlBool>`(profile_id, position) in (${sql.join(chunk.map((g) => sql`(${g.profile_id}, ${g.position})`))})`)
      .execute(),
  );
  // Each staged row finds its stored row by primary key: the stored side is named only through
  // the staged row (and the unary + keeps the property's value indexes out of the plan). On
  // SQLite OR FAIL: the landing's transaction is rolled back whole on a failure, so the update
  // needs no statement journal of its own, which would copy every page of the property's
  // values into a temporary file first (insert-rows.ts, orFail).
  await sql`update${sql.raw(isPostgres(trx) ? '' : ' or fail')} profile_values set v_text = s.v_text, v_num = s.v_num, v_json = s.v_json
    from staged_values s
    where s.workspace_id = ${workspaceId} and s.job_id = ${jobId} and s.v_json is not null
    and profile_values.workspace_id = s.workspace_id and profile_values.profile_id = s.profile_id
    and +profile_values.property_id = ${propertyId} and profile_values.position = s.position`.execute(trx);
  await trx.deleteFrom('profile_keys').where('workspace_id', '=', workspaceId).where('property_id', '=', propertyId).execute();
  const live = sql<SqlBool>`exists (select 1 from profiles p where p.workspace_id = s.workspace_id and p.id = s.profile_id)`;
  await trx
    .insertInto('profile_keys')
    .columns(['workspace_id', 'property_id', 'value_key', 'profile_id'])
    .expression(
      trx
        .selectFrom('staged_keys as s')
        .select(['s.workspace_id', sql.lit(propertyId).as('property_id'), 's.value_key', 's.profile_id'])
        .where('s.workspace_id', '=', workspaceId)
        .where('s.job_id', '=', jobId)
        .where(live),
    )
    .execute();
  await clearStaged(trx, workspaceId, jobId);
}

/** Which of these keys a change has staged already, and for which profile. */
export async function stagedKeyHolders(db: Conn, workspaceId: number, jobId: string, keys: readonly string[]): Promise<Map<string, string>> {
  const held = new Map<string, string>();
  await inChunks([...new Set(keys)], KEY_ROWS_PER_INSERT, async (chunk) => {
    const rows = await db
      .selectFrom('staged_keys')
      .select(['value_key', 'profile_id'])
      .where('workspace_id', '=', workspaceId)
      .where('job_id', '=', jobId)
      .where('value_key', 'in', chunk)
      .execute();
    for (const r of rows) held.set(r.value_key, r.profile_id);
  });
  return held;
}
