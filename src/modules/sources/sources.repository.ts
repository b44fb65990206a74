import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { MergeFunction } from '../properties/property.ts';
import type { Source, SourceMapping } from './source.ts';

type Conn = Kysely<Database> | Transaction<Database>;

/** A mapping as stored: its property by id (the properties module knows the names). */
export interface StoredMapping extends Omit<SourceMapping, 'property'> {
  property_id: number;
}

/** The identity properties a source writes Segment's ids to, by property id. */
export interface SourceIdentityColumns {
  user_id_property_id: number | null;
  anonymous_id_property_id: number | null;
}

export type StoredSource = Omit<Source, 'mappings' | 'user_id_property' | 'anonymous_id_property'> & SourceIdentityColumns & { mappings: StoredMapping[] };

type SourceRow = Omit<StoredSource, 'mappings'>;

export async function nextSourceId(trx: Transaction<Database>, workspaceId: number): Promise<number> {
  const row = await trx
    .updateTable('workspaces')
    .set((eb) => ({ source_seq: eb('source_seq', '+', 1) }))
    .where('id', '=', workspaceId)
    .returning('source_seq')
    .executeTakeFirstOrThrow();
  return row.source_seq;
}

/** Each source's priority by name (1 the highest). */
export async function sourcePriorities(db: Conn, workspaceId: number): Promise<Map<string, number>> {
  const rows = await db.selectFrom('sources').select(['name', 'priority']).where('workspace_id', '=', workspaceId).execute();
  return new Map(rows.map((r) => [r.name, r.priority]));
}

export async function insertSource(trx: Transaction<Database>, workspaceId: number, s: SourceRow): Promise<void> {
  await trx
    .insertInto('sources')
    .values({
      workspace_id: workspaceId,
      id: s.id,
      name: s.name,
      name_key: s.name.toLowerCase(),
      priority: s.priority,
      created_at: s.created_at,
      updated_at: s.updated_at,
      user_id_property_id: s.user_id_property_id,
      anonymous_id_property_id: s.anonymous_id_property_id,
    })
    .execute();
}

export async function updateSource(trx: Transaction<Database>, workspaceId: number, s: Omit<SourceRow, 'created_at'>): Promise<void> {
  await trx
    .updateTable('sources')
    .set({
      name: s.name,
      name_key: s.name.toLowerCase(),
      priority: s.priority,
      updated_at: s.updated_at,
      user_id_property_id: s.user_id_property_id,
      anonymous_id_property_id: s.anonymous_id_property_id,
    })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', s.id)
    .execute();
}

export async function replaceMappings(trx: Transaction<Database>, workspaceId: number, sourceId: number, mappings: StoredMapping[]): Promise<void> {
  await trx.deleteFrom('source_mappings').where('workspace_id', '=', workspaceId).where('source_id', '=', sourceId).execute();
  if (mappings.length === 0) return;
  await trx
    .insertInto('source_mappings')
    .values(
      mappings.map((m, position) => ({
        workspace_id: workspaceId,
        source_id: sourceId,
        position,
        property_id: m.property_id,
        input_path: m.input_path,
        alternate_paths: JSON.stringify(m.alternate_paths),
        mandatory: m.mandatory ? 1 : 0,
        merge_function: m.merge_function,
      })),
    )
    .execute();
}

export async function deleteSource(trx: Transaction<Database>, workspaceId: number, id: number): Promise<boolean> {
  await trx.deleteFrom('source_write_keys').where('workspace_id', '=', workspaceId).where('source_id', '=', id).execute();
  await trx.deleteFrom('source_mappings').where('workspace_id', '=', workspaceId).where('source_id', '=', id).execute();
  const res = await trx.deleteFrom('sources').where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** Sources with their mappings, in id order. */
export async function findSources(db: Conn, workspaceId: number, opts: { id?: number; limit?: number; afterId?: number } = {}): Promise<StoredSource[]> {
  let query = db.selectFrom('sources').selectAll().where('workspace_id', '=', workspaceId);
  if (opts.id !== undefined) query = query.where('id', '=', opts.id);
  if (opts.afterId !== undefined) query = query.where('id', '>', opts.afterId);
  if (opts.limit !== undefined) query = query.limit(opts.limit);
  const sources = await query.orderBy('id').execute();
  if (sources.length === 0) return [];
  const mappings = await db
    .selectFrom('source_mappings')
    .select(['source_id', 'position', 'property_id', 'input_path', 'alternate_paths', 'mandatory', 'merge_function'])
    .where('workspace_id', '=', workspaceId)
    .where(
      'source_id',
      'in',
      sources.map((s) => s.id),
    )
    .orderBy('source_id')
    .orderBy('position')
    .execute();
  const bySource = Map.groupBy(mappings, (m) => m.source_id);
  return sources.map((s) => ({
    id: s.id,
    name: s.name,
    priority: s.priority,
    user_id_property_id: s.user_id_property_id,
    anonymous_id_property_id: s.anonymous_id_property_id,
    created_at: s.created_at,
    updated_at: s.updated_at,
    mappings: (bySource.get(s.id) ?? []).map((m) => ({
        property_id: m.property_id,
        input_path: m.input_path,
        alternate_paths: JSON.parse(m.alternate_paths),
        mandatory: m.mandatory === 1,
        merge_function: m.merge_function as MergeFunction | null,
      })),
  }));
}

/** Names of the sources whose mappings use this property, or that write Segment's ids to it. */
export async function sourcesMappingProperty(db: Conn, workspaceId: number, propertyId: number): Promise<string[]> {
  const naming = await db
    .selectFrom('sources')
    .select('name')
    .where('workspace_id', '=', workspaceId)
    .where((eb) => eb.or([eb('user_id_property_id', '=', propertyId), eb('anonymous_id_property_id', '=', propertyId)]))
    .execute();
  const rows = await db
    .selectFrom('source_mappings as m')
    .innerJoin('sources as s', (j) => j.onRef('s.workspace_id', '=', 'm.workspace_id').onRef('s.id', '=', 'm.source_id'))
    .select('s.name')
    .distinct()
    .where('m.workspace_id', '=', workspaceId)
    .where('m.property_id', '=', propertyId)
    .orderBy('s.name')
    .execute();
  return [...new Set([...rows, ...naming].map((r) => r.name))].sort();
}
