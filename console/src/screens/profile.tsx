import { useMemo } from 'preact/hooks';
import { api, call, type Property } from '../api';
import { displayName, showValue, showValueOf, when } from '../format';
import { Link } from '../router';
import { can, useMe } from '../session';
import { Empty, Problem, useLoad, usePage } from '../ui';

export function ProfileScreen({ ws, id }: { ws: number; id: string }) {
  const me = useMe();
  const page = usePage(`Profile ${id}`);
  const profile = useLoad(async () => (await call(api.GET('/v1/workspaces/{ws}/profiles/{id}', { params: { path: { ws, id }, query: { include: 'provenance' } } }))).data, [ws, id]);
  // Display names need properties:read; without it the names are shown as they are.
  const defs = useLoad(
    async () => (can(me, 'properties:read') ? (await call(api.GET('/v1/workspaces/{ws}/properties', { params: { path: { ws }, query: { limit: 1000 } } }))).data.data : []),
    [ws],
  );
  const byName = useMemo(() => new Map<string, Property>((defs.data ?? []).map((p) => [p.name, p])), [defs.data]);
  const p = profile.data;
  const values = p ? Object.entries(p.properties) : [];
  return (
    <main id="main">
      <p>
        <Link href={`/w/${ws}/profiles`}>← Profiles</Link>
      </p>
      <h1 tabIndex={-1} ref={page.ref}>
        Profile <code>{p?.id ?? id}</code>
      </h1>
      <Problem failure={profile.failure} />
      {p && p.id !== id ? <p class="note">The id {id} was merged into this profile.</p> : null}
      {p ? (
        <>
          <p class="meta">
            Created {when(p.created_at)} · changed {when(p.updated_at)}
          </p>
          {!can(me, 'pii:read') ? <p class="note">PII values show as *** because this key does not have the pii:read scope.</p> : null}
          {values.length === 0 ? <Empty>This profile holds no value yet.</Empty> : null}
          {values.length > 0 ? (
            <table>
              <caption>Values and where they came from</caption>
              <thead>
                <tr>
                  <th scope="col">Property</th>
                  <th scope="col">Value</th>
                  <th scope="col">Written by</th>
                  <th scope="col">When</th>
                </tr>
              </thead>
              <tbody>
                {values.map(([name, value]) => {
                  const def = byName.get(name);
                  const source = p.provenance?.[name];
                  const masked = value === '***' && def?.pii && !can(me, 'pii:read');
                  return (
                    <tr key={name}>
                      <th scope="row">
                        {def ? displayName(def) : name} <code class="hint">{name}</code>
                      </th>
                      <td>{masked ? <span title="masked: needs the pii:read scope">***</span> : showValueOf(def, value)}</td>
                      <td>{source ? (source.source ?? 'the API') : '—'}</td>
                      <td>{source ? when(source.updated_at) : '—'}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          ) : null}
          <h2>Identities</h2>
          {Object.keys(p.identities).length === 0 ? (
            <Empty>No identity value: this profile is found by its id only.</Empty>
          ) : (
            <ul>
              {Object.entries(p.identities).map(([name, value]) => (
                <li key={name}>
                  <code>{name}</code>: {showValue(value)}
                </li>
              ))}
            </ul>
          )}
        </>
      ) : null}
    </main>
  );
}
