import { useState } from 'preact/hooks';
import { api, call, type HistoryEntry } from '../api';
import { when } from '../format';
import { Link } from '../router';
import { Empty, Problem, useLoad, usePage } from '../ui';

const shown = (value: unknown) => (value === null || value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value, null, 1));

function Entry({ entry }: { entry: HistoryEntry }) {
  const changes = Object.entries(entry.changes);
  return (
    <li class="history-entry">
      <h2>
        Version {entry.version}: {entry.action}
      </h2>
      <p class="meta">
        {when(entry.at)} by {entry.key_id === null ? 'an unknown caller' : entry.key_id === 'operator' ? 'the operator' : `key ${entry.key_id}`}
      </p>
      {changes.length > 0 ? (
        <table class="diff">
          <caption class="visually-hidden">Changes in version {entry.version}</caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Before</th>
              <th scope="col">After</th>
            </tr>
          </thead>
          <tbody>
            {changes.map(([field, { from, to }]) => (
              <tr key={field}>
                <th scope="row">
                  <code>{field}</code>
                </th>
                <td class="from">
                  <del>
                    <pre>{shown(from)}</pre>
                  </del>
                </td>
                <td class="to">
                  <ins>
                    <pre>{shown(to)}</pre>
                  </ins>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="hint">No field changed.</p>
      )}
    </li>
  );
}

export function HistoryScreen({ ws, name }: { ws: number; name: string }) {
  const page = usePage(`History of ${name}`);
  const [pages, setPages] = useState<HistoryEntry[][]>([]);
  const [cursor, setCursor] = useState<string | undefined>();
  const load = useLoad(async () => {
    const { data } = await call(api.GET('/v1/workspaces/{ws}/properties/{name}/history', { params: { path: { ws, name }, query: { limit: 50, cursor } } }));
    setPages((p) => [...p, data.data]);
    return data;
  }, [ws, name, cursor]);
  const entries = pages.flat();
  return (
    <main id="main">
      <p>
        <Link href={`/w/${ws}/properties/${encodeURIComponent(name)}`}>← {name}</Link>
      </p>
      <h1 tabIndex={-1} ref={page.ref}>
        History of <code>{name}</code>
      </h1>
      <Problem failure={load.failure} />
      {load.data && entries.length === 0 ? <Empty>No change recorded yet.</Empty> : null}
      {entries.length > 0 ? <p class="hint">Oldest first: each version shows the fields it changed, before and after.</p> : null}
      <ol class="history">
        {entries.map((e) => (
          <Entry key={e.version + e.action + e.at} entry={e} />
        ))}
      </ol>
      {load.data?.next_cursor ? (
        <button type="button" onClick={() => setCursor(load.data!.next_cursor!)}>
          Later changes
        </button>
      ) : null}
    </main>
  );
}
