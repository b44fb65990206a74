import { useMemo, useState } from 'preact/hooks';
import { api, ApiFailure, call, saveFile, type Profile, type Property } from '../api';
import { displayName, plural, showValueOf, when } from '../format';
import { Link } from '../router';
import { filterOpsFor } from '../rules';
import { can, useMe } from '../session';
import { Empty, Field, Problem, useLoad, usePage } from '../ui';

type ExportFormat = 'csv' | 'ndjson';
/** Filters as the search's `filter` parameter takes them: `{"<property>][<op>": <value>}`. */
type Filter = Record<string, string>;

type Op = ReturnType<typeof filterOpsFor>[number];
interface FilterRow {
  key: number;
  property: string;
  op: Op;
  value: string;
}

const OP_WORDS: Record<Op, string> = {
  eq: 'is',
  ne: 'is not',
  gt: 'greater than',
  gte: 'at least',
  lt: 'less than',
  lte: 'at most',
  in: 'is one of',
  contains: 'contains',
  prefix: 'starts with',
  exists: 'has a value',
};

let rowKey = 0;

/** Every live definition of the workspace (a page of 1000 at a time). */
async function dictionary(ws: number): Promise<Property[]> {
  const all: Property[] = [];
  let cursor: string | undefined;
  do {
    const { data } = await call(api.GET('/v1/workspaces/{ws}/properties', { params: { path: { ws }, query: { limit: 1000, cursor } } }));
    all.push(...data.data);
    cursor = data.next_cursor ?? undefined;
  } while (cursor);
  return all;
}

/** A filter's value as the query string takes it: a datetime-local input becomes RFC 3339. */
function wireValue(def: Property | undefined, row: FilterRow): string {
  if (def?.data_type === 'datetime' && row.op !== 'exists' && row.op !== 'in' && row.value) {
    const d = new Date(row.value);
    return Number.isNaN(d.getTime()) ? row.value : d.toISOString();
  }
  return row.value;
}

function ValueInput({ def, row, control, onChange }: { def: Property | undefined; row: FilterRow; control: Record<string, unknown>; onChange: (v: string) => void }) {
  const text = (type: 'text' | 'number' | 'date' | 'datetime-local' | 'email' = 'text') => <input {...control} type={type as 'text'} step={def?.data_type === 'number' ? 'any' : undefined} value={row.value} onInput={(e) => onChange(e.currentTarget.value)} />;
  if (row.op === 'exists' || def?.data_type === 'boolean') {
    return (
      <select {...control} value={row.value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="true">{row.op === 'exists' ? 'yes' : 'true'}</option>
        <option value="false">{row.op === 'exists' ? 'no' : 'false'}</option>
      </select>
    );
  }
  if (row.op === 'in') return text();
  if (def?.data_type === 'enum' && !def.pii) {
    return (
      <select {...control} value={row.value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">Choose…</option>
        {(def.options ?? []).map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
            {o.hidden ? ' (hidden)' : ''}
          </option>
        ))}
      </select>
    );
  }
  switch (def?.data_type) {
    case 'number':
    case 'integer':
      return text('number');
    case 'date':
      return text('date');
    case 'datetime':
      return text('datetime-local');
    case 'email':
      return text('email');
    default:
      return text();
  }
}

export function ProfilesScreen({ ws }: { ws: number }) {
  const me = useMe();
  const page = usePage(`Profiles of workspace ${ws}`);
  const typed = can(me, 'properties:read');
  // Without properties:read the definitions cannot be read: search works, untyped and unfiltered.
  const defs = useLoad(() => (typed ? dictionary(ws) : Promise.resolve([])), [ws]);
  const byName = useMemo(() => new Map((defs.data ?? []).map((p) => [p.name, p])), [defs.data]);
  const [rows, setRows] = useState<FilterRow[]>([]);
  const [sort, setSort] = useState('');
  const [desc, setDesc] = useState(false);
  const [size, setSize] = useState(25);
  const [query, setQuery] = useState<{ filter?: Filter; sort?: string } | null>(null);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const piiReadable = can(me, 'pii:read');
  const [format, setFormat] = useState<ExportFormat>('csv');
  const [includePii, setIncludePii] = useState(false);
  const [exporting, setExporting] = useState(false);
  const [exported, setExported] = useState<string | null>(null);
  const [exportFailure, setExportFailure] = useState<unknown>(null);

  const opsOf = (def: Property | undefined): readonly Op[] => (!def ? [] : def.pii && !piiReadable ? ['exists'] : filterOpsFor(def));

  const results = useLoad(async () => {
    if (!query) return null;
    const q = { ...query, limit: size, ...(cursors[cursors.length - 1] ? { cursor: cursors[cursors.length - 1] } : {}) };
    return (await call(api.GET('/v1/workspaces/{ws}/profiles', { params: { path: { ws }, query: q } }))).data;
  }, [ws, query, cursors, size]);

  // The declared `filter` parameter, which the client sends as filter[<property>][<op>]=<value>;
  // none when no row names a property.
  const filters = (): { filter?: Filter } => {
    const filter: Filter = {};
    for (const row of rows) if (row.property) filter[`${row.property}][${row.op}`] = wireValue(byName.get(row.property), row);
    return Object.keys(filter).length > 0 ? { filter } : {};
  };

  const search = (event: Event) => {
    event.preventDefault();
    setCursors([undefined]);
    setQuery({ ...filters(), ...(sort ? { sort: (desc ? '-' : '') + sort } : {}) });
  };

  // The profiles the filters in the form choose, as a file: the API streams it; the browser saves it.
  const download = async () => {
    setExportFailure(null);
    setExported(null);
    setExporting(true);
    try {
      const query = { ...filters(), format, ...(includePii && piiReadable ? { include_pii: true } : {}) };
      const { data, response } = await call(
        api.GET('/v1/workspaces/{ws}/profiles/export', { params: { path: { ws }, query }, parseAs: 'blob' }),
      );
      const count = Number(response.headers.get('x-total-count') ?? NaN);
      const name = `profiles-workspace-${ws}.${format}`;
      saveFile(data as unknown as Blob, name);
      setExported(`Exported ${Number.isFinite(count) ? plural(count, 'profile') : 'the profiles'} as ${name}.`);
    } catch (error) {
      setExportFailure(error);
    } finally {
      setExporting(false);
    }
  };

  // A filter the API refuses is shown beside that filter, whether the search or the export asked.
  const errors = [...(results.failure instanceof ApiFailure ? results.failure.details : []), ...(exportFailure instanceof ApiFailure ? exportFailure.details : [])];
  const rowErrors = (row: FilterRow) => errors.filter((e) => e.field === `filter[${row.property}][${row.op}]`).map((e) => ({ ...e, field: `filter-${row.key}` }));
  const update = (key: number, change: Partial<FilterRow>) =>
    setRows(rows.map((r) => {
      if (r.key !== key) return r;
      const next = { ...r, ...change };
      const ops = opsOf(byName.get(next.property));
      if (!ops.includes(next.op)) next.op = ops[0] ?? 'eq';
      if (change.property !== undefined || change.op !== undefined) next.value = next.op === 'exists' || byName.get(next.property)?.data_type === 'boolean' ? 'true' : change.value ?? '';
      return next;
    }));

  const columns = useMemo(() => {
    const named = [...new Set([...rows.map((r) => r.property), sort].filter(Boolean))];
    const known = typed ? (defs.data ?? []).map((p) => p.name) : [...new Set((results.data?.data ?? []).flatMap((p) => Object.keys(p.properties)))].sort();
    const rest = known.filter((n) => !named.includes(n)).slice(0, Math.max(0, 4 - named.length));
    // An untyped column stands for a name the definitions could not be read for.
    return [...named, ...rest].map((n) => byName.get(n) ?? ({ name: n, display_name: n, i18n_display_names: {}, data_type: 'string', options: null } as unknown as Property));
  }, [query, defs.data, results.data]);

  const options = (defs.data ?? []).map((p) => (
    <option key={p.name} value={p.name}>
      {displayName(p)} ({p.name}, {p.data_type}
      {p.pii ? ', PII' : ''})
    </option>
  ));

  return (
    <main id="main">
      <h1 tabIndex={-1} ref={page.ref}>
        Profiles <span class="hint">workspace {ws}</span>
      </h1>
      <Problem failure={defs.failure} />
      {!typed ? (
        <p class="note">This key does not have the properties:read scope, so filters (which are typed by the property definitions) are off; every profile is listed.</p>
      ) : null}
      {!piiReadable ? <p class="note">This key does not have the pii:read scope: PII values show as ***, and PII properties can only be searched by whether they hold a value.</p> : null}
      <form onSubmit={search} aria-label="Search profiles" role="search">
        <fieldset>
          <legend>Filters (all must match)</legend>
          {rows.length === 0 ? <p class="hint">No filter: every profile matches. Add one to narrow the search.</p> : null}
          {rows.map((row, i) => {
            const def = byName.get(row.property);
            return (
              <div class="grid filter-row" key={row.key}>
                <Field field={`filter-prop-${row.key}`} label={`Property of filter ${i + 1}`}>
                  {(c) => (
                    <select {...c} value={row.property} onChange={(e) => update(row.key, { property: e.currentTarget.value })}>
                      <option value="">Choose a property…</option>
                      {options}
                    </select>
                  )}
                </Field>
                <Field field={`filter-op-${row.key}`} label={`Operator of filter ${i + 1}`}>
                  {(c) => (
                    <select {...c} value={row.op} onChange={(e) => update(row.key, { op: e.currentTarget.value as Op })}>
                      {opsOf(def).map((op) => (
                        <option key={op} value={op}>
                          {OP_WORDS[op]}
                        </option>
                      ))}
                    </select>
                  )}
                </Field>
                <Field field={`filter-${row.key}`} label={`Value of filter ${i + 1}`} errors={rowErrors(row)} hint={row.op === 'in' ? 'Values separated by commas.' : undefined}>
                  {(c) => <ValueInput def={def} row={row} control={c} onChange={(value) => update(row.key, { value })} />}
                </Field>
                <button type="button" aria-label={`Remove filter ${i + 1}`} onClick={() => setRows(rows.filter((r) => r.key !== row.key))}>
                  Remove
                </button>
              </div>
            );
          })}
          <button type="button" disabled={!typed} onClick={() => setRows([...rows, { key: ++rowKey, property: '', op: 'eq', value: '' }])}>
            Add a filter
          </button>
        </fieldset>
        <div class="grid">
          <Field field="sort" label="Sort by" errors={errors}>
            {(c) => (
              <select {...c} value={sort} onChange={(e) => setSort(e.currentTarget.value)}>
                <option value="">Profile id</option>
                {options}
              </select>
            )}
          </Field>
          <Field field="size" label="Results per page">
            {(c) => (
              <select {...c} value={String(size)} onChange={(e) => (setCursors([undefined]), setSize(Number(e.currentTarget.value)))}>
                {[10, 25, 100].map((n) => (
                  <option key={n} value={String(n)}>
                    {n}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <div class="field check">
            <input id="f-profiles-desc" type="checkbox" checked={desc} onChange={(e) => setDesc(e.currentTarget.checked)} />
            <label for="f-profiles-desc">Descending</label>
          </div>
        </div>
        <button type="submit" class="primary">
          Search
        </button>
      </form>
      <Problem failure={results.failure} />
      <section aria-labelledby="export-title" class="export">
        <h2 id="export-title">Export</h2>
        <p class="hint">The profiles the filters above choose (every profile without a filter), with every exportable property, columns named by export alias.</p>
        <div class="grid">
          <Field field="export-format" label="File format">
            {(c) => (
              <select {...c} value={format} onChange={(e) => setFormat(e.currentTarget.value as ExportFormat)}>
                <option value="csv">CSV (multi-valued values joined with ;)</option>
                <option value="ndjson">NDJSON (one JSON object a line, typed values)</option>
              </select>
            )}
          </Field>
          <div class="field check">
            <input id="f-export-pii" type="checkbox" checked={includePii && piiReadable} disabled={!piiReadable} onChange={(e) => setIncludePii(e.currentTarget.checked)} aria-describedby="f-export-pii-hint" />
            <label for="f-export-pii">Include PII properties</label>
            <p class="hint" id="f-export-pii-hint">
              {piiReadable ? 'Left out unless ticked.' : 'Off: this key does not have the pii:read scope, so PII properties are left out.'}
            </p>
          </div>
        </div>
        <button type="button" class="primary" disabled={exporting} onClick={() => void download()}>
          {exporting ? 'Exporting…' : 'Download the export'}
        </button>
        <Problem failure={exportFailure} />
        {exported ? (
          <p class="saved" role="status">
            {exported}
          </p>
        ) : null}
      </section>
      {results.data && results.data.data.length === 0 ? <Empty>No profile matches. Remove a filter or change a value, then search again.</Empty> : null}
      {results.data && results.data.data.length > 0 ? (
        <table aria-busy={results.loading}>
          <caption class="visually-hidden">Profiles found, page {cursors.length}</caption>
          <thead>
            <tr>
              <th scope="col">Profile</th>
              {columns.map((p) => (
                <th scope="col" key={p.name}>
                  {displayName(p)}
                </th>
              ))}
              <th scope="col">Last change</th>
            </tr>
          </thead>
          <tbody>
            {results.data.data.map((profile: Profile) => (
              <tr key={profile.id}>
                <th scope="row">
                  <Link href={`/w/${ws}/profiles/${encodeURIComponent(profile.id)}`}>{profile.id}</Link>
                </th>
                {columns.map((p) => (
                  <td key={p.name}>{showValueOf(p, profile.properties[p.name])}</td>
                ))}
                <td>{when(profile.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {results.data ? (
        <nav class="pager" aria-label="Pages of profiles">
          <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
            Previous page
          </button>
          <span>Page {cursors.length}</span>
          <button type="button" disabled={!results.data.next_cursor} onClick={() => setCursors([...cursors, results.data!.next_cursor!])}>
            Next page
          </button>
        </nav>
      ) : null}
    </main>
  );
}
