import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, call, type Property } from '../api';
import { displayName, when } from '../format';
import { Link } from '../router';
import { can, useMe } from '../session';
import { Empty, Field, Problem, TypeSelect, useLoad, usePage } from '../ui';

const PAGE = 50;
type SortKey = 'order' | 'name' | 'display' | 'type' | 'updated';
const SORTS: { key: SortKey; label: string }[] = [
  { key: 'order', label: 'Display order (as the API lists them)' },
  { key: 'name', label: 'Name' },
  { key: 'display', label: 'Display name' },
  { key: 'type', label: 'Type' },
  { key: 'updated', label: 'Last change' },
];

function sortRows(rows: Property[], key: SortKey, desc: boolean): Property[] {
  if (key === 'order' && !desc) return rows;
  const value = (p: Property): string => (key === 'name' ? p.name : key === 'display' ? displayName(p) : key === 'type' ? p.data_type : key === 'updated' ? p.updated_at : '');
  const sorted = key === 'order' ? [...rows] : [...rows].sort((a, b) => value(a).localeCompare(value(b), undefined, { sensitivity: 'base' }) || a.name.localeCompare(b.name));
  return desc ? sorted.reverse() : sorted;
}

export function PropertiesScreen({ ws }: { ws: number }) {
  const me = useMe();
  const page = usePage(`Properties of workspace ${ws}`);
  const [q, setQ] = useState('');
  const [search, setSearch] = useState('');
  const [dataType, setDataType] = useState<Property['data_type'] | ''>('');
  const [group, setGroup] = useState('');
  const [pii, setPii] = useState('');
  const [system, setSystem] = useState('');
  const [archived, setArchived] = useState(false);
  const [sort, setSort] = useState<SortKey>('order');
  const [desc, setDesc] = useState(false);
  // Cursors of the pages before this one, so Previous goes back without the API paging backwards.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];

  // Typing searches after a short pause, not on every key.
  useEffect(() => {
    const timer = setTimeout(() => setSearch(q.trim()), 250);
    return () => clearTimeout(timer);
  }, [q]);
  useEffect(() => setCursors([undefined]), [search, dataType, group, pii, system, archived]);

  const list = useLoad(async () => {
    const query = {
      limit: PAGE,
      cursor,
      archived,
      ...(search ? { q: search } : {}),
      ...(dataType ? { data_type: dataType } : {}),
      ...(group.trim() ? { group: group.trim() } : {}),
      ...(pii ? { pii: pii === 'yes' } : {}),
      ...(system ? { system: system === 'yes' } : {}),
    };
    return (await call(api.GET('/v1/workspaces/{ws}/properties', { params: { path: { ws }, query } }))).data;
  }, [ws, search, dataType, group, pii, system, archived, cursor]);

  const rows = useMemo(() => sortRows(list.data?.data ?? [], sort, desc), [list.data, sort, desc]);
  const filtered = Boolean(search || dataType || group || pii || system || archived);

  return (
    <main id="main">
      <h1 tabIndex={-1} ref={page.ref}>
        Properties <span class="hint">workspace {ws}</span>
      </h1>
      <p class="toolbar">
        {can(me, 'properties:write') ? (
          <Link href={`/w/${ws}/properties/new`} class="button primary">
            New property
          </Link>
        ) : (
          <span class="off">New property (this key does not have the properties:write scope)</span>
        )}
      </p>
      <form class="filters" role="search" aria-label="Filter properties" onSubmit={(e) => e.preventDefault()}>
        <Field field="q" label="Search name, display name, description">
          {(c) => <input {...c} type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} />}
        </Field>
        <Field field="data_type" label="Type">
          {(c) => <TypeSelect control={c} value={dataType} onChange={setDataType} anyLabel="Any type" />}
        </Field>
        <Field field="group" label="Group">
          {(c) => <input {...c} value={group} onInput={(e) => setGroup(e.currentTarget.value)} />}
        </Field>
        <Field field="pii" label="PII">
          {(c) => (
            <select {...c} value={pii} onChange={(e) => setPii(e.currentTarget.value)}>
              <option value="">PII or not</option>
              <option value="yes">PII only</option>
              <option value="no">Not PII</option>
            </select>
          )}
        </Field>
        <Field field="system" label="Kind">
          {(c) => (
            <select {...c} value={system} onChange={(e) => setSystem(e.currentTarget.value)}>
              <option value="">System and custom</option>
              <option value="no">Custom only</option>
              <option value="yes">System only</option>
            </select>
          )}
        </Field>
        <div class="field check">
          <input id="f-archived" type="checkbox" checked={archived} onChange={(e) => setArchived(e.currentTarget.checked)} />
          <label for="f-archived">Archived ones instead</label>
        </div>
        <Field field="sort" label="Sort this page by">
          {(c) => (
            <select {...c} value={sort} onChange={(e) => setSort(e.currentTarget.value as SortKey)}>
              {SORTS.map((s) => (
                <option key={s.key} value={s.key}>
                  {s.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <div class="field check">
          <input id="f-desc" type="checkbox" checked={desc} onChange={(e) => setDesc(e.currentTarget.checked)} />
          <label for="f-desc">Descending</label>
        </div>
      </form>
      <Problem failure={list.failure} />
      {list.data && rows.length === 0 ? (
        <Empty>
          {filtered ? 'No property matches these filters. Clear a filter to see more.' : 'No properties yet.'}{' '}
          {can(me, 'properties:write') && !archived ? <Link href={`/w/${ws}/properties/new`}>Create a property</Link> : null}
        </Empty>
      ) : null}
      {rows.length > 0 ? (
        <table aria-busy={list.loading}>
          <caption class="visually-hidden">Properties, page {cursors.length}</caption>
          <thead>
            <tr>
              <th scope="col">Display name</th>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Group</th>
              <th scope="col">Flags</th>
              <th scope="col">Last change</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((p) => (
              <tr key={p.id}>
                <th scope="row">
                  <Link href={`/w/${ws}/properties/${encodeURIComponent(p.name)}`}>{displayName(p)}</Link>
                </th>
                <td>
                  <code>{p.name}</code>
                </td>
                <td>
                  {p.data_type}
                  {p.multi_valued ? ' (multi)' : ''}
                </td>
                <td>{p.group ?? '—'}</td>
                <td>
                  {[p.system && 'system', p.pii && 'PII', p.identity.role !== 'none' && `${p.identity.role} identity`, p.unique && 'unique', p.archived && 'archived']
                    .filter(Boolean)
                    .join(', ') || '—'}
                </td>
                <td>{when(p.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <nav class="pager" aria-label="Pages of properties">
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <span>Page {cursors.length}</span>
        <button type="button" disabled={!list.data?.next_cursor} onClick={() => setCursors([...cursors, list.data!.next_cursor!])}>
          Next page
        </button>
      </nav>
    </main>
  );
}
