// Calls from instrumented apps (identify, alias, and the traits any event carries) as profile
// records: traits to properties by name then import alias, ids to the identity properties the
// source names, and every refusal as a violation. Pure: the service reads and writes.
import { COLUMN_REASON_TEXT, mapColumns, nameIndex } from '../properties/column-mapping.ts';
import type { Property } from '../properties/property.ts';
import type { ProfileRecord } from '../profiles/profiles.service.ts';
import { checkValue } from '../profiles/values.ts';
import type { ViolationEvent, ViolationProblem } from '../violations/violation.ts';

/** One call, read from whatever protocol carried it. */
export interface IngestCall {
  /** Written to the source's user id property. */
  userId?: string;
  /** Written to the source's anonymous id property. */
  anonymousId?: string;
  /** An alias call's former id (a user id or an anonymous id): its profile merges into userId's (ingestion.service.ts). */
  previousId?: string;
  /** Trait names and values in the order the call gave them (entries, so any name is safe). */
  traits: [string, unknown][];
  /** RFC 3339: when the values are dated. */
  timestamp: string;
  messageId?: string;
}

/** What the mapping needs of a source. */
export interface IngestSource {
  id: number;
  name: string;
  user_id_property: string | null;
  anonymous_id_property: string | null;
}

export type Refusal = Omit<ViolationEvent, 'source_id'>;

export interface MappedCall {
  /** Undefined when nothing in the call identifies a profile. */
  record?: ProfileRecord;
  /** The trait or field each written property came from, by property name. */
  origins: Map<string, string>;
  refused: Refusal[];
}

const REASON_PROBLEM = {
  id: 'reserved',
  unknown: 'unknown',
  archived: 'archived',
  not_importable: 'not_importable',
  duplicate_column: 'duplicate',
  same_property: 'duplicate',
} as const satisfies Record<string, ViolationProblem>;

const REASON_MESSAGE = {
  ...COLUMN_REASON_TEXT,
  id: 'is reserved: a profile is identified by userId and anonymousId',
  duplicate_column: 'appears twice in the call (names are read case-insensitively)',
  same_property: 'reaches a property an earlier trait already writes',
};

/** Whether a string anywhere in the value holds a NUL character, which no database column stores. */
function holdsNul(value: unknown): boolean {
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return true;
    } else if (v !== null && typeof v === 'object') {
      for (const [key, child] of Object.entries(v)) {
        if (key.includes('\u0000')) return true;
        stack.push(child);
      }
    }
  }
  return false;
}

/** A value checked against its definition, NUL characters refused before the database sees them. */
function check(def: Property, value: unknown): { ok: true; value: unknown } | { ok: false; problem: string } {
  const checked = checkValue(def, value);
  if (!checked.ok) return { ok: false, problem: checked.allowed ? `${checked.problem} (${checked.allowed.map(String).join(', ')})` : checked.problem };
  // Depth and size are bounded once checked, so the walk is short.
  if (holdsNul(checked.value)) return { ok: false, problem: 'holds a NUL character' };
  return checked;
}

/** `defs`: every definition of the workspace (archived ones too, so that they are named as such). */
export function mapCall(defs: readonly Property[], source: IngestSource, call: IngestCall): MappedCall {
  const refused: Refusal[] = [];
  const values = new Map<Property, unknown>();
  const origins = new Map<string, string>();
  const index = nameIndex(defs);
  /** A value that reached `def` from `field`: refused when another field wrote `def` already, or when it fails its checks. */
  const take = (field: string, def: Property, value: unknown) => {
    if (values.has(def)) {
      refused.push({ trait: field, property: def.name, problem: 'duplicate', message: `reaches ${def.name}, which ${origins.get(def.name)} already writes`, value });
      return;
    }
    const checked = check(def, value);
    if (!checked.ok) {
      refused.push({ trait: field, property: def.name, problem: 'invalid_value', message: checked.problem, value });
      return;
    }
    values.set(def, checked.value);
    origins.set(def.name, field);
  };

  // The ids first: a trait that reaches the same property is refused as a duplicate.
  const ids: [field: string, value: string | undefined, property: string | null, label: string][] = [
    ['userId', call.userId, source.user_id_property, 'user_id_property'],
    ['anonymousId', call.anonymousId, source.anonymous_id_property, 'anonymous_id_property'],
    ['previousId', call.previousId, source.anonymous_id_property, 'anonymous_id_property'],
  ];
  for (const [field, value, propertyName, label] of ids) {
    if (value === undefined) continue;
    const named = propertyName === null ? undefined : index.get(propertyName.toLowerCase());
    const def = named?.name === propertyName ? named : undefined;
    if (!def || def.archived || def.identity.role === 'none') {
      const why = !def ? `the source names no ${label}` : def.archived ? `${label} ${def.name} is archived` : `${label} ${def.name} is no longer an identity property`;
      refused.push({ trait: field, property: def?.name ?? null, problem: 'no_identity_property', message: `cannot be written: ${why}`, value });
      continue;
    }
    take(field, def, value);
  }

  const mapped = mapColumns(
    defs,
    call.traits.map(([name]) => name),
  );
  mapped.forEach(({ column, property, reason }, i) => {
    const value = call.traits[i][1];
    if (reason !== undefined) {
      refused.push({ trait: column, property: property?.name ?? null, problem: REASON_PROBLEM[reason], message: REASON_MESSAGE[reason], value });
      return;
    }
    take(column, property!, value);
  });

  const identified = [...values].some(([def, v]) => def.identity.role !== 'none' && v !== null);
  if (!identified) {
    refused.push({
      trait: call.userId !== undefined || call.previousId !== undefined ? 'userId' : 'anonymousId',
      property: null,
      problem: 'no_identifier',
      message: 'the call carries no id this source can write and no identity trait: nothing of it was written',
      value: call.userId ?? call.anonymousId ?? call.previousId ?? null,
    });
    return { origins, refused };
  }
  const record: ProfileRecord = {
    properties: Object.fromEntries([...values].map(([def, v]) => [def.name, v])),
    source: source.name,
    timestamp: call.timestamp,
  };
  return { record, origins, refused };
}

/**
 * The store refused a record: its errors name properties (`properties.<name>`). Returns the same
 * record without those properties when its id or an identity value remains to write it by, else undefined.
 */
export function withoutRefused(defs: readonly Property[], record: ProfileRecord, refusedProperties: ReadonlySet<string>): ProfileRecord | undefined {
  const byName = new Map(defs.map((d) => [d.name, d]));
  const kept = Object.entries(record.properties).filter(([name]) => !refusedProperties.has(name));
  if (kept.length === Object.keys(record.properties).length) return undefined;
  if (record.id === undefined && !kept.some(([name, v]) => v !== null && byName.get(name)?.identity.role !== 'none')) return undefined;
  return { ...record, properties: Object.fromEntries(kept) };
}
