import { useState } from 'preact/hooks';
import { api, call, type Tenant, type Workspace } from '../api';
import { Link } from '../router';
import { can, useMe } from '../session';
import { Empty, Problem, useLoad, usePage } from '../ui';

function WorkspaceList({ items }: { items: Pick<Workspace, 'id' | 'name'>[] }) {
  const me = useMe();
  return (
    <table>
      <caption class="visually-hidden">Workspaces</caption>
      <thead>
        <tr>
          <th scope="col">Workspace</th>
          <th scope="col">Id</th>
          <th scope="col">Open</th>
        </tr>
      </thead>
      <tbody>
        {items.map((w) => (
          <tr key={w.id}>
            <th scope="row">{w.name}</th>
            <td>{w.id}</td>
            <td class="links">
              {can(me, 'properties:read') ? <Link href={`/w/${w.id}/properties`} aria-label={`Properties of ${w.name}`}>Properties</Link> : null}
              {can(me, 'profiles:read') ? <Link href={`/w/${w.id}/profiles`} aria-label={`Profiles of ${w.name}`}>Profiles</Link> : null}
              {can(me, 'properties:read') ? <Link href={`/w/${w.id}/limits`} aria-label={`Limits of ${w.name}`}>Limits</Link> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The operator reaches every tenant: one tenant's workspaces, loaded when opened. */
function TenantWorkspaces({ tenant }: { tenant: Tenant }) {
  const [open, setOpen] = useState(false);
  const list = useLoad(
    async () => (open ? (await call(api.GET('/v1/tenants/{tenant_id}/workspaces', { params: { path: { tenant_id: tenant.id }, query: { limit: 1000 } } }))).data.data : []),
    [open],
  );
  return (
    <details onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
      <summary>
        {tenant.name} <span class="hint">(tenant {tenant.id})</span>
      </summary>
      <Problem failure={list.failure} />
      {open && list.data ? list.data.length ? <WorkspaceList items={list.data} /> : <Empty>This tenant has no workspace yet.</Empty> : null}
      <p>
        <Link href={`/keys?tenant=${tenant.id}`}>API keys of {tenant.name}</Link>
      </p>
    </details>
  );
}

export function WorkspacesScreen() {
  const me = useMe();
  const page = usePage('Workspaces');
  const [cursor, setCursor] = useState<string | undefined>();
  // Read again here, so a workspace made since signing in is listed.
  const reached = useLoad(async () => (me.kind === 'key' ? (await call(api.GET('/v1/me'))).data.workspaces : []), []);
  const tenants = useLoad(
    async () => (me.kind === 'operator' ? (await call(api.GET('/v1/tenants', { params: { query: { limit: 50, cursor } } }))).data : null),
    [cursor],
  );
  return (
    <main id="main">
      <h1 tabIndex={-1} ref={page.ref}>
        Workspaces
      </h1>
      {me.kind === 'key' ? (
        <>
          <Problem failure={reached.failure} />
          {reached.data && reached.data.length > 0 ? <WorkspaceList items={reached.data} /> : null}
          {reached.data && reached.data.length === 0 ? (
            <Empty>This key reaches no workspace. An admin of your tenant can create one, or give the key access to one.</Empty>
          ) : null}
        </>
      ) : (
        <>
          <p>The operator token reaches every tenant; open one to see its workspaces.</p>
          <Problem failure={tenants.failure} />
          {tenants.data?.data.length === 0 ? <Empty>No tenant yet. Create one with <code>npm run propdict -- tenants create --name Acme</code>.</Empty> : null}
          {tenants.data?.data.map((t) => <TenantWorkspaces key={t.id} tenant={t} />)}
          {tenants.data?.next_cursor ? (
            <button type="button" onClick={() => setCursor(tenants.data!.next_cursor!)}>
              Next tenants
            </button>
          ) : null}
        </>
      )}
    </main>
  );
}
