// What a write does to a profile, worked out before anything is stored: the values checked
// against their definitions, the profiles a record's identities point to, and the change set
// (values to clear and to write, keys to claim, problems) from the values and the stored state.
// Pure: no database, no HTTP; tested as tables in test/change-set.test.ts.
import type { ErrorDetail } from '../../shared/errors.ts';
import type { MergeFunction, Property } from '../properties/property.ts';
import { mergeValue, type IncomingValue, type StoredValue } from './profile.ts';
import { checkValue } from './values.ts';

/** Checked values of a write, by definition. */
export type Checked = ReadonlyMap<Property, unknown>;

/** A profile's stored values by property id (a purged property's too, with no value). */
export type StoredState = ReadonlyMap<number, StoredValue>;

/** A value arriving for a property; `fn` replaces the property's merge function (a source mapping's). */
export interface Incoming extends IncomingValue {
  def: Property;
  fn?: MergeFunction;
}

/** A value to store, with what wrote it. */
export interface ValueWrite {
  def: Property;
  value: unknown;
  source: string | null;
  written_at: string;
}

export interface ChangeSet {
  /** Properties whose stored values go before `write` is stored. */
  clear: number[];
  /** Those of `clear` whose keys go too: keyed properties, and any whose definition is unknown (purged). */
  unkey: number[];
  write: ValueWrite[];
  /** Values that claim their key: identity and unique properties. */
  keys: { def: Property; value: unknown }[];
  /** Values that stay as stored, with a new date or source: only their provenance is rewritten. */
  touch: Omit<ValueWrite, 'value'>[];
  problems: ErrorDetail[];
  /** Whether any value differs from the stored one (a write of equal values changes none). */
  changed: boolean;
}

/** Identity and unique values claim a key, which one profile alone may hold. */
export const isKeyed = (def: Property) => def.unique || def.identity.role !== 'none';

/**
 * Checks every value of a write against its definition (`index`: live and archived definitions
 * by lower-cased name and import alias, as column-mapping.ts's nameIndex gives); lists every
 * problem at once.
 */
export function checkWrite(index: ReadonlyMap<string, Property>, values: Record<string, unknown>, prefix: string): { checked: Map<Property, unknown>; problems: ErrorDetail[] } {
  const checked = new Map<Property, unknown>();
  const problems: ErrorDetail[] = [];
  for (const [name, value] of Object.entries(values)) {
    const field = `${prefix}.${name}`;
    const def = index.get(name.toLowerCase());
    if (!def) problems.push({ field, problem: 'is not a property of this workspace' });
    else if (def.name.toLowerCase() !== name.toLowerCase()) problems.push({ field, problem: `is an import alias of "${def.name}"; write it as "${def.name}"` });
    else if (def.archived) problems.push({ field, problem: 'is archived' });
    else if (checked.has(def)) problems.push({ field, problem: `names ${def.name} again` });
    else {
      const result = checkValue(def, value);
      if (result.ok) checked.set(def, result.value);
      else problems.push(result.allowed ? { field, problem: result.problem, allowed: result.allowed } : { field, problem: result.problem });
    }
  }
  return { checked, problems };
}

/** The values a write claims keys with, in the order given. */
export const claimsOf = (checked: Checked) => [...checked].filter(([def, v]) => isKeyed(def) && v !== null).map(([def, value]) => ({ def, value }));

/** A record's identity values in the order they are tried: primaries, then secondaries by priority (1 first). */
export function identityOrder(checked: Checked): { def: Property; value: unknown }[] {
  return [...checked]
    .filter(([def, v]) => def.identity.role !== 'none' && v !== null)
    .sort(([a], [b]) => (a.identity.role === b.identity.role ? (a.identity.priority ?? 1) - (b.identity.priority ?? 1) : a.identity.role === 'primary' ? -1 : 1))
    .map(([def, value]) => ({ def, value }));
}

/**
 * The profiles a record's identities point to, given the owner of each identity value (in
 * identityOrder): every profile its primary identities match; when none matches, the profile
 * of the first secondary identity that matches.
 */
export function matchedProfiles(identities: readonly { def: Property }[], owners: readonly (string | undefined)[]): string[] {
  const primaries = identities.flatMap(({ def }, i) => (def.identity.role === 'primary' && owners[i] !== undefined ? [owners[i]] : []));
  if (primaries.length > 0) return [...new Set(primaries)];
  const first = owners.find((o) => o !== undefined);
  return first === undefined ? [] : [first];
}

/** Matched profiles, the survivor of a merge first: the oldest, ties to the smaller id. */
export function survivorFirst<T extends { id: string; created_at: string }>(profiles: readonly T[]): T[] {
  return [...profiles].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
}

/** Equal values, equal text: the stored form of a value is its JSON. */
const claimText = (c: { def: Property; value: unknown }) => `${c.def.id}:${JSON.stringify(c.value)}`;

/**
 * Which records (by their claims) can only create new profiles: no profile holds any of their
 * claims (`held`: claim index → held) and no other record repeats one. Records are given
 * as the claims of each; `candidate` says which may be taken at all (those without an id).
 */
export function freshRecords(records: readonly { candidate: boolean; claims: { def: Property; value: unknown }[]; held: boolean[] }[]): boolean[] {
  const uses = new Map<string, number>();
  for (const r of records) for (const c of r.claims) uses.set(claimText(c), (uses.get(claimText(c)) ?? 0) + 1);
  return records.map((r) => r.candidate && r.claims.every((c, i) => !r.held[i] && uses.get(claimText(c)) === 1));
}

/**
 * Which records (by their matches and claims) can update their profile together with the
 * others: each matches exactly one existing profile (`targets`), which no other record matches;
 * no other profile holds any of its claims (`owners`: claim index → holder); and no other record
 * repeats one of its claims. The rest are written one at a time.
 */
export function knownRecords(records: readonly { targets: readonly string[]; claims: { def: Property; value: unknown }[]; owners: readonly (string | undefined)[] }[]): boolean[] {
  const targeted = new Map<string, number>();
  const uses = new Map<string, number>();
  for (const r of records) {
    for (const t of r.targets) targeted.set(t, (targeted.get(t) ?? 0) + 1);
    for (const c of r.claims) uses.set(claimText(c), (uses.get(claimText(c)) ?? 0) + 1);
  }
  return records.map(
    (r) =>
      r.targets.length === 1 &&
      targeted.get(r.targets[0]) === 1 &&
      r.claims.every((c, i) => (r.owners[i] === undefined || r.owners[i] === r.targets[0]) && uses.get(claimText(c)) === 1),
  );
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The change a write makes to a profile. `replace` stores the values as given and clears every
 * stored value not given, except archived properties' (hidden from reads, kept for a restore);
 * `merge` combines each value with the stored one by its merge function (`priorities`: source
 * priorities, 1 the highest). A sum or a union is checked again once combined. `defs`: the
 * workspace's definitions by id, for the stored values a replace clears.
 */
export function changeSet(
  stored: StoredState,
  incoming: readonly Incoming[],
  opts: { mode: 'replace' | 'merge'; priorities: ReadonlyMap<string, number>; defs?: ReadonlyMap<number, Property> },
): ChangeSet {
  const change: ChangeSet = { clear: [], unkey: [], write: [], keys: [], touch: [], problems: [], changed: false };
  if (opts.mode === 'replace') {
    const given = new Set(incoming.map((v) => v.def.id));
    change.clear = [...stored.keys()].filter((id) => !given.has(id) && opts.defs?.get(id)?.archived !== true);
    change.unkey = change.clear.filter((id) => {
      const def = opts.defs?.get(id);
      return def === undefined || isKeyed(def);
    });
    change.changed = change.clear.length > 0;
  }
  for (const value of incoming) {
    const { def } = value;
    const before = stored.get(def.id);
    const fn = value.fn ?? def.merge_function;
    const next = opts.mode === 'replace' ? value.value : mergeValue(fn, before, value, opts.priorities);
    if (next === undefined) continue;
    // A sum or a union can leave what each value was checked against (its range, the largest
    // safe integer, the number of items).
    if (opts.mode === 'merge' && (fn === 'sum' || fn === 'append')) {
      const again = checkValue(def, next);
      if (!again.ok) change.problems.push({ field: `properties.${def.name}`, problem: `combined with the stored value by ${fn}, ${again.problem}` });
    }
    if (before && same(before.value, next)) {
      // An equal value keeps its stored rows, index entries and key; a newer date or another
      // source still counts for the next out-of-order or lower-priority write.
      if (before.source !== value.source || before.written_at !== value.written_at) change.touch.push({ def, source: value.source, written_at: value.written_at });
      continue;
    }
    if (before) {
      change.clear.push(def.id);
      if (isKeyed(def)) change.unkey.push(def.id);
    }
    if (before || next !== null) change.changed = true;
    if (next === null) continue;
    change.write.push({ def, value: next, source: value.source, written_at: value.written_at });
    if (isKeyed(def)) change.keys.push({ def, value: next });
  }
  return change;
}

/**
 * A profile's stored values once `change` is stored, as reading them back would give them: the
 * cleared gone, the written in (a multi-valued value with no item stores no row, so none), the
 * touched with their new date and source. A write answers with it instead of a second read.
 */
export function stateAfter(stored: StoredState, change: Pick<ChangeSet, 'clear' | 'write' | 'touch'>): Map<number, StoredValue> {
  const after = new Map(stored);
  for (const id of change.clear) after.delete(id);
  for (const t of change.touch) {
    const held = after.get(t.def.id);
    if (held) after.set(t.def.id, { value: held.value, source: t.source, written_at: t.written_at });
  }
  for (const w of change.write) {
    const empty = w.def.multi_valued && w.def.data_type !== 'json' && (w.value as unknown[]).length === 0;
    if (!empty) after.set(w.def.id, { value: w.value, source: w.source, written_at: w.written_at });
  }
  return after;
}
