// Imports: a file uploaded with its progress, the columns the API mapped (and why the others
// are skipped), a dry run, the import's live progress and counts, the rejected rows; past imports.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiFailure, call, parseCsv, saveFile, uploadImport, type ErrorDetail, type Import, type ImportOptions } from '../api';
import { plural, when } from '../format';
import { Link } from '../router';
import { needs, useMe } from '../session';
import { Empty, Field, Problem, useLoad, usePage } from '../ui';

type Column = Import['columns'][number];
type Mode = NonNullable<ImportOptions['mode']>;

const ENDED: readonly Import['status'][] = ['done', 'cancelled'];

const REASONS: Record<NonNullable<Column['reason']>, string> = {
  id: 'the profile id: rows with one update that profile',
  unknown: 'skipped: no property has this name or import alias',
  archived: 'skipped: its property is archived',
  not_importable: 'skipped: its property is not importable',
  duplicate_column: 'refused: the header names this column twice',
  same_property: 'refused: another column already reaches this property',
};

const MODES: Record<Mode, string> = {
  upsert: 'Upsert: update the matching profile, else create one',
  create: 'Create only: a row that matches a profile is rejected',
  update: 'Update only: a row that matches no profile is rejected',
};

const DELIMITERS: Record<string, string> = { ',': 'Comma (,)', ';': 'Semicolon (;)', '\t': 'Tab', '|': 'Pipe (|)' };

/** How a column reached its property: the API names the property; the same name means by name. */
function mapping(c: Column): string {
  if (c.property === null) return REASONS[c.reason ?? 'unknown'];
  return c.column.trim().toLowerCase() === c.property.toLowerCase() ? 'by name' : 'by import alias';
}

const formatOf = (name: string): 'csv' | 'ndjson' => (/\.(ndjson|jsonl|json)$/i.test(name) ? 'ndjson' : 'csv');

function ErrorReport({ ws, imp }: { ws: number; imp: Import }) {
  const report = useLoad(async () => {
    const { data } = await call(api.GET('/v1/workspaces/{ws}/imports/{id}/errors', { params: { path: { ws, id: imp.id } }, parseAs: 'text' }));
    return data as unknown as string;
  }, [ws, imp.id]);
  const rows = report.data ? parseCsv(report.data) : [];
  const [head, ...body] = rows;
  return (
    <section aria-labelledby={`report-${imp.id}`}>
      <h3 id={`report-${imp.id}`}>Rejected rows</h3>
      <Problem failure={report.failure} />
      {report.data !== undefined ? (
        <>
          <button type="button" onClick={() => saveFile(new Blob([report.data!], { type: 'text/csv' }), `${imp.id}-errors.csv`)}>
            Download the error report (CSV)
          </button>
          <table>
            <caption>
              {plural(body.length, 'problem')} in the rejected rows: fix them in the file and import it again (rows already in come back unchanged).
            </caption>
            <thead>
              <tr>
                {(head ?? []).map((h) => (
                  <th scope="col" key={h}>
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {body.map((r, i) => (
                <tr key={i}>
                  {r.map((cell, j) => (j === 0 ? <th scope="row" key={j}>{cell}</th> : <td key={j}>{cell}</td>))}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}

/** One import, followed while it runs. */
export function ImportPanel({ ws, initial, onEnded }: { ws: number; initial: Import; onEnded?: (imp: Import) => void }) {
  const me = useMe();
  const [imp, setImp] = useState(initial);
  const [failure, setFailure] = useState<unknown>(null);
  useEffect(() => setImp(initial), [initial]);
  useEffect(() => {
    if (ENDED.includes(imp.status)) {
      onEnded?.(imp);
      return;
    }
    const timer = setTimeout(() => {
      call(api.GET('/v1/workspaces/{ws}/imports/{id}', { params: { path: { ws, id: imp.id } } })).then(
        ({ data }) => setImp(data),
        (error) => setFailure(error),
      );
    }, 400);
    return () => clearTimeout(timer);
  }, [imp]);

  const cancel = async () => {
    setFailure(null);
    try {
      setImp((await call(api.POST('/v1/workspaces/{ws}/imports/{id}/cancel', { params: { path: { ws, id: imp.id } } }))).data);
    } catch (error) {
      setFailure(error);
    }
  };

  const { rows_done, rows_total } = imp.progress;
  const would = imp.dry_run ? 'would be ' : '';
  const counts: [keyof Import['counts'], string][] = [
    ['created', `${would}created`],
    ['updated', `${would}updated`],
    ['merged', `${would}merged`],
    ['unchanged', 'unchanged'],
    ['rejected', 'rejected'],
  ];
  const ended = ENDED.includes(imp.status);
  const writable = needs(me, 'profiles:write');
  return (
    <section class="import" aria-labelledby={`imp-${imp.id}`}>
      <h2 id={`imp-${imp.id}`}>
        {imp.dry_run ? 'Dry run' : 'Import'} <code>{imp.id}</code>
      </h2>
      <p class="meta">
        {imp.format.toUpperCase()} · mode {imp.mode}
        {imp.source ? ` · source ${imp.source}` : ''} · started {when(imp.created_at)}
        {imp.finished_at ? ` · ended ${when(imp.finished_at)}` : ''}
      </p>
      <div class="job" role="status" aria-live="polite">
        <label for={`rows-${imp.id}`}>
          {imp.dry_run ? 'Rows checked' : 'Rows written'}: {imp.status}
          {rows_total !== null ? ` (${rows_done.toLocaleString()} of ${rows_total.toLocaleString()})` : ''}
          {imp.reason ? ` — ${imp.reason}` : ''}
        </label>
        <progress id={`rows-${imp.id}`} max={Math.max(rows_total ?? 1, 1)} value={imp.status === 'done' ? Math.max(rows_total ?? 1, 1) : rows_done} />
      </div>
      {!ended ? (
        <p>
          <button type="button" class="danger" disabled={Boolean(writable)} title={writable} onClick={() => void cancel()}>
            Cancel this import
          </button>
          {writable ? <span class="why"> {writable}</span> : <span class="hint"> Rows already written stay.</span>}
        </p>
      ) : null}
      <Problem failure={failure} />
      <table class="counts">
        <caption>{imp.dry_run ? 'What the import would do' : 'What the import did'}</caption>
        <thead>
          <tr>
            {counts.map(([key, label]) => (
              <th scope="col" key={key}>
                {label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          <tr>
            {counts.map(([key]) => (
              <td key={key} data-count={key}>
                {imp.counts[key].toLocaleString()}
              </td>
            ))}
          </tr>
        </tbody>
      </table>
      <table>
        <caption>Columns: where each goes</caption>
        <thead>
          <tr>
            <th scope="col">Column in the file</th>
            <th scope="col">Property</th>
            <th scope="col">How</th>
          </tr>
        </thead>
        <tbody>
          {imp.columns.map((c) => (
            <tr key={c.column} class={c.property === null ? 'skipped' : undefined}>
              <th scope="row">{c.column}</th>
              <td>{c.property === null ? '—' : <code>{c.property}</code>}</td>
              <td>{mapping(c)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {ended && imp.counts.rejected > 0 ? <ErrorReport ws={ws} imp={imp} /> : null}
      {ended && imp.counts.rejected === 0 && imp.status === 'done' ? <p class="saved">No row was rejected.</p> : null}
    </section>
  );
}

function PastImports({ ws, tick, onShow }: { ws: number; tick: number; onShow: (imp: Import) => void }) {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const list = useLoad(async () => {
    const cursor = cursors[cursors.length - 1];
    return (await call(api.GET('/v1/workspaces/{ws}/imports', { params: { path: { ws }, query: { limit: 20, ...(cursor ? { cursor } : {}) } } }))).data;
  }, [ws, tick, cursors]);
  return (
    <section aria-labelledby="past-imports">
      <h2 id="past-imports">Past imports</h2>
      <Problem failure={list.failure} />
      {list.data && list.data.data.length === 0 ? <Empty>No import yet. Choose a file above and start with a dry run.</Empty> : null}
      {list.data && list.data.data.length > 0 ? (
        <table aria-busy={list.loading}>
          <caption class="visually-hidden">Past imports, newest first, page {cursors.length}</caption>
          <thead>
            <tr>
              <th scope="col">Import</th>
              <th scope="col">Started</th>
              <th scope="col">Status</th>
              <th scope="col">Rows</th>
              <th scope="col">Created</th>
              <th scope="col">Updated</th>
              <th scope="col">Merged</th>
              <th scope="col">Unchanged</th>
              <th scope="col">Rejected</th>
            </tr>
          </thead>
          <tbody>
            {list.data.data.map((imp) => (
              <tr key={imp.id}>
                <th scope="row">
                  <Link href={`/w/${ws}/imports/${encodeURIComponent(imp.id)}`} onClick={(e: MouseEvent) => (e.preventDefault(), onShow(imp))}>
                    {imp.dry_run ? 'Dry run' : 'Import'} {imp.id}
                  </Link>
                </th>
                <td>{when(imp.created_at)}</td>
                <td>{imp.status}</td>
                <td>
                  {imp.progress.rows_done.toLocaleString()}
                  {imp.progress.rows_total !== null ? ` of ${imp.progress.rows_total.toLocaleString()}` : ''}
                </td>
                <td>{imp.counts.created}</td>
                <td>{imp.counts.updated}</td>
                <td>{imp.counts.merged}</td>
                <td>{imp.counts.unchanged}</td>
                <td>{imp.counts.rejected}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {list.data && (cursors.length > 1 || list.data.next_cursor) ? (
        <nav class="pager" aria-label="Pages of imports">
          <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
            Previous page
          </button>
          <span>Page {cursors.length}</span>
          <button type="button" disabled={!list.data.next_cursor} onClick={() => setCursors([...cursors, list.data!.next_cursor!])}>
            Next page
          </button>
        </nav>
      ) : null}
    </section>
  );
}

export function ImportsScreen({ ws }: { ws: number }) {
  const me = useMe();
  const page = usePage(`Imports of workspace ${ws}`);
  const [file, setFile] = useState<File | null>(null);
  const [format, setFormat] = useState<'csv' | 'ndjson'>('csv');
  const [mode, setMode] = useState<Mode>('upsert');
  const [delimiter, setDelimiter] = useState(',');
  const [source, setSource] = useState('');
  const [sent, setSent] = useState<{ loaded: number; total: number } | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [local, setLocal] = useState<ErrorDetail[]>([]);
  const [current, setCurrent] = useState<Import | null>(null);
  const [tick, setTick] = useState(0);
  const refused = needs(me, 'profiles:write');

  const start = async (dryRun: boolean) => {
    setFailure(null);
    setLocal([]);
    if (!file) {
      setLocal([{ field: 'file', problem: 'Choose a file first: a CSV with a header row, or NDJSON (one JSON object a line).' }]);
      return;
    }
    setSent({ loaded: 0, total: file.size });
    try {
      const options: ImportOptions = { mode, dry_run: dryRun, ...(source.trim() ? { source: source.trim() } : {}), ...(format === 'csv' ? { delimiter } : {}) };
      const imp = await uploadImport(ws, file, format, options, (loaded, total) => setSent({ loaded, total }));
      setCurrent(imp);
      setTick((n) => n + 1);
    } catch (error) {
      setFailure(error);
    } finally {
      setSent((s) => (s ? { ...s, loaded: s.total } : s));
    }
  };

  // The API's refusals go beside the option they name; anything about the file, beside the file.
  const apiDetails = failure instanceof ApiFailure ? failure.details : [];
  const placed = (field: string) => apiDetails.filter((d) => d.field === field || d.field === `querystring/${field}` || d.field.endsWith(`/${field}`));
  const others = apiDetails.filter((d) => !['mode', 'source', 'delimiter', 'format'].some((f) => placed(f).includes(d)));
  const fileErrors: ErrorDetail[] = [
    ...local,
    ...others.map((d) => ({ ...d, field: 'file' })),
    ...(failure instanceof ApiFailure && apiDetails.length === 0 ? [{ field: 'file', problem: failure.message }] : []),
  ];
  const errorsOf = (field: string) => placed(field).map((d) => ({ ...d, field }));

  return (
    <main id="main">
      <h1 tabIndex={-1} ref={page.ref}>
        Imports <span class="hint">workspace {ws}</span>
      </h1>
      <p>
        Each column of the file maps to a property by its name, then by its import aliases. Start with a dry run: it checks every row and writes nothing. Profiles can be
        exported from the <Link href={`/w/${ws}/profiles`}>profiles screen</Link>.
      </p>
      {refused ? <p class="note">This key does not have the profiles:write scope, so it cannot upload a file; it can read past imports and their rejected rows.</p> : null}
      <form
        aria-labelledby="upload-title"
        onSubmit={(event) => {
          event.preventDefault();
          void start(true);
        }}
      >
        <fieldset disabled={Boolean(refused)}>
          <legend id="upload-title">Upload a file</legend>
          <Field field="file" label="File (CSV or NDJSON)" errors={fileErrors} hint="A CSV's first row names the columns; id is the profile id.">
            {(c) => (
              <input
                {...c}
                type="file"
                accept=".csv,.ndjson,.jsonl,.json,text/csv,application/x-ndjson"
                onChange={(e) => {
                  const chosen = e.currentTarget.files?.[0] ?? null;
                  setFile(chosen);
                  setLocal([]);
                  setFailure(null);
                  if (chosen) setFormat(formatOf(chosen.name));
                }}
              />
            )}
          </Field>
          <div class="grid">
            <Field field="format" label="Format" errors={errorsOf('format')} hint="Guessed from the file name.">
              {(c) => (
                <select {...c} value={format} onChange={(e) => setFormat(e.currentTarget.value as 'csv' | 'ndjson')}>
                  <option value="csv">CSV</option>
                  <option value="ndjson">NDJSON</option>
                </select>
              )}
            </Field>
            <Field field="mode" label="Mode" errors={errorsOf('mode')}>
              {(c) => (
                <select {...c} value={mode} onChange={(e) => setMode(e.currentTarget.value as Mode)}>
                  {Object.entries(MODES).map(([value, label]) => (
                    <option key={value} value={value}>
                      {label}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            {format === 'csv' ? (
              <Field field="delimiter" label="Delimiter" errors={errorsOf('delimiter')}>
                {(c) => (
                  <select {...c} value={delimiter} onChange={(e) => setDelimiter(e.currentTarget.value)}>
                    {Object.entries(DELIMITERS).map(([value, label]) => (
                      <option key={label} value={value}>
                        {label}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            ) : null}
            <Field field="source" label="Data source (optional)" errors={errorsOf('source')} hint="A source's name or id: its priority applies to the values.">
              {(c) => <input {...c} value={source} onInput={(e) => setSource(e.currentTarget.value)} autocomplete="off" />}
            </Field>
          </div>
          <div class="actions">
            <button type="submit" class="primary">
              Dry run (writes nothing)
            </button>
            <button type="button" onClick={() => void start(false)}>
              Import
            </button>
          </div>
        </fieldset>
        {sent ? (
          <div class="job" role="status" aria-live="polite">
            <label for="upload-progress">
              {sent.loaded >= sent.total ? 'Uploaded' : 'Uploading'}: {sent.loaded.toLocaleString()} of {plural(sent.total, 'byte')}
            </label>
            <progress id="upload-progress" max={Math.max(sent.total, 1)} value={sent.loaded} />
          </div>
        ) : null}
      </form>
      {failure && !(failure instanceof ApiFailure && failure.status >= 400 && failure.status < 500) ? <Problem failure={failure} /> : null}
      {current ? <ImportPanel ws={ws} initial={current} onEnded={() => setTick((n) => n + 1)} /> : null}
      <PastImports ws={ws} tick={tick} onShow={setCurrent} />
    </main>
  );
}

/** One import by its id (a deep link from the list). */
export function ImportScreen({ ws, id }: { ws: number; id: string }) {
  const page = usePage(`Import ${id}`);
  const imp = useLoad(async () => (await call(api.GET('/v1/workspaces/{ws}/imports/{id}', { params: { path: { ws, id } } }))).data, [ws, id]);
  return (
    <main id="main">
      <p>
        <Link href={`/w/${ws}/imports`}>← Imports</Link>
      </p>
      <h1 tabIndex={-1} ref={page.ref}>
        Import {id}
      </h1>
      <Problem failure={imp.failure} />
      {imp.data ? <ImportPanel ws={ws} initial={imp.data} /> : imp.loading ? <p role="status">Loading…</p> : null}
    </main>
  );
}
