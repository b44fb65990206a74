// Which columns an export has and how a profile fills them. Pure: no database, no HTTP.
import { validationFailed, type ErrorDetail } from '../../shared/errors.ts';
import type { Property } from '../properties/property.ts';
import type { SnapshotProfile } from '../profiles/profiles.service.ts';

export interface ExportColumn {
  /** The export alias, else the name. */
  header: string;
  def: Property;
}

/**
 * The columns after `id`: the chosen properties in the order given, or every live exportable one
 * in name order. PII properties only when `includePii` (the caller's pii:read is checked before).
 */
export function exportColumns(defs: readonly Property[], choice: { properties?: readonly string[]; includePii: boolean }): ExportColumn[] {
  const live = defs.filter((d) => !d.archived).sort((a, b) => a.name.localeCompare(b.name));
  const column = (def: Property): ExportColumn => ({ header: def.export_alias ?? def.name, def });
  if (choice.properties === undefined) return live.filter((d) => d.exportable && (!d.pii || choice.includePii)).map(column);
  const byName = new Map(live.map((d) => [d.name.toLowerCase(), d]));
  const problems: ErrorDetail[] = [];
  const chosen: ExportColumn[] = [];
  for (const name of choice.properties) {
    const def = byName.get(name.toLowerCase());
    if (!def) problems.push({ field: 'properties', problem: `"${name}" names no live property of this workspace` });
    else if (def.pii && !choice.includePii) problems.push({ field: 'properties', problem: `"${def.name}" is PII: export it with include_pii=true` });
    else if (chosen.some((c) => c.def === def)) problems.push({ field: 'properties', problem: `"${def.name}" is named twice` });
    else chosen.push(column(def));
  }
  if (problems.length > 0) throw validationFailed(problems);
  return chosen;
}

/** A multi-valued value in one cell: items joined with `;`, or a JSON array when an item would not survive that. */
function joinItems(items: readonly unknown[]): string {
  const plain = items.every((i) => (typeof i === 'string' && !i.includes(';') && i.trim() === i && i !== '' && !i.startsWith('[')) || typeof i === 'number' || typeof i === 'boolean');
  return plain ? items.map(String).join(';') : JSON.stringify(items);
}

/** One CSV cell: empty for no value, JSON for json values, text for the rest. */
export function csvCell(def: Property, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (def.data_type === 'json') return JSON.stringify(value);
  if (def.multi_valued && Array.isArray(value)) return joinItems(value);
  return String(value);
}

/** A profile as a CSV row: id first, then its values in the columns' order. */
export function csvRow(profile: SnapshotProfile, columns: readonly ExportColumn[]): string[] {
  const row = new Array<string>(columns.length + 1);
  row[0] = profile.id;
  for (let i = 0; i < columns.length; i++) row[i + 1] = csvCell(columns[i].def, profile.values[i]);
  return row;
}

/** A profile as an NDJSON object: id first, then the values it holds, typed as in the API. */
export function ndjsonObject(profile: SnapshotProfile, columns: readonly ExportColumn[]): Record<string, unknown> {
  const out: Record<string, unknown> = { id: profile.id };
  for (let i = 0; i < columns.length; i++) {
    const value = profile.values[i];
    if (value !== undefined) out[columns[i].header] = value;
  }
  return out;
}
