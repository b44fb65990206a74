import { useState } from 'preact/hooks';
import { api, ApiFailure, call, type ApiKey, type NewApiKey, type Scope } from '../api';
import { when } from '../format';
import { navigate } from '../router';
import { useMe } from '../session';
import { ConfirmButton, Empty, Field, FieldErrors, Problem, useLoad, usePage } from '../ui';

const SCOPES: Scope[] = ['properties:read', 'properties:write', 'profiles:read', 'profiles:write', 'pii:read', 'admin'];

function CreateKey({ tenant, onCreated }: { tenant: number; onCreated: (key: NewApiKey) => void }) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Scope[]>(['properties:read']);
  const [workspaces, setWorkspaces] = useState('');
  const [perSecond, setPerSecond] = useState('');
  const [perMinute, setPerMinute] = useState('');
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const errors = failure instanceof ApiFailure ? failure.details : [];
  const submit = async (event: Event) => {
    event.preventDefault();
    setFailure(null);
    setBusy(true);
    const ids = workspaces.split(',').map((s) => s.trim()).filter(Boolean).map((s) => (/^\d+$/.test(s) ? Number(s) : (s as unknown as number)));
    // What is not a number is sent as typed, so the API names the problem beside the field.
    const n = (s: string) => (/^\d+$/.test(s.trim()) ? Number(s) : (s as unknown as number));
    const rateLimit = { ...(perSecond.trim() ? { per_second: n(perSecond) } : {}), ...(perMinute.trim() ? { per_minute: n(perMinute) } : {}) };
    try {
      const { data } = await call(
        api.POST('/v1/tenants/{tenant_id}/api-keys', {
          params: { path: { tenant_id: tenant } },
          body: { name, scopes, ...(ids.length ? { workspace_ids: ids } : {}), ...(Object.keys(rateLimit).length ? { rate_limit: rateLimit } : {}) },
        }),
      );
      setName('');
      setWorkspaces('');
      setPerSecond('');
      setPerMinute('');
      onCreated(data);
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} aria-labelledby="create-key">
      <h2 id="create-key">Create a key</h2>
      <Problem failure={failure} fieldsShown={errors.length > 0} />
      <Field field="name" label="Name" errors={errors} hint="What the key is for, e.g. nightly import.">
        {(c) => <input {...c} value={name} required onInput={(e) => setName(e.currentTarget.value)} />}
      </Field>
      <fieldset>
        <legend>Scopes</legend>
        <FieldErrors id="f-scopes" errors={errors.filter((e) => e.field.startsWith('scopes'))} />
        {SCOPES.map((s) => (
          <div class="field check" key={s}>
            <input id={`f-scope-${s}`} type="checkbox" checked={scopes.includes(s)} onChange={(e) => setScopes(e.currentTarget.checked ? [...scopes, s] : scopes.filter((x) => x !== s))} />
            <label for={`f-scope-${s}`}>{s}</label>
          </div>
        ))}
      </fieldset>
      <Field field="workspace_ids" label="Workspaces (ids, separated by commas)" errors={errors} hint="Empty: every workspace of the tenant, including later ones.">
        {(c) => <input {...c} value={workspaces} onInput={(e) => setWorkspaces(e.currentTarget.value)} />}
      </Field>
      <fieldset>
        <legend>Rate limit on the native API (optional)</legend>
        <div class="grid">
          <Field field="rate_limit.per_second" label="Requests per second" errors={errors}>
            {(c) => <input {...c} type="number" min={1} value={perSecond} onInput={(e) => setPerSecond(e.currentTarget.value)} />}
          </Field>
          <Field field="rate_limit.per_minute" label="Requests per minute" errors={errors}>
            {(c) => <input {...c} type="number" min={1} value={perMinute} onInput={(e) => setPerMinute(e.currentTarget.value)} />}
          </Field>
        </div>
      </fieldset>
      <button type="submit" class="primary" disabled={busy}>
        Create key
      </button>
    </form>
  );
}

export function KeysScreen({ tenant: tenantParam }: { tenant: string | null }) {
  const me = useMe();
  const page = usePage('API keys');
  const tenant = me.kind === 'key' ? me.tenant_id! : /^\d+$/.test(tenantParam ?? '') ? Number(tenantParam) : null;
  const [created, setCreated] = useState<NewApiKey | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [revoked, setRevoked] = useState<string | null>(null);
  const keys = useLoad(async () => {
    if (tenant === null) return [];
    const all: ApiKey[] = [];
    let cursor: string | undefined;
    do {
      const { data } = await call(api.GET('/v1/tenants/{tenant_id}/api-keys', { params: { path: { tenant_id: tenant }, query: { limit: 1000, cursor } } }));
      all.push(...data.data);
      cursor = data.next_cursor ?? undefined;
    } while (cursor);
    return all;
  }, [tenant, created, revoked]);

  const revoke = async (key: ApiKey) => {
    setFailure(null);
    try {
      await call(api.DELETE('/v1/tenants/{tenant_id}/api-keys/{key_id}', { params: { path: { tenant_id: tenant!, key_id: key.id } } }));
      setRevoked(`Key ${key.name} (${key.id}) is revoked: it is refused from its next request on.`);
    } catch (error) {
      setFailure(error);
    }
  };

  if (tenant === null) {
    return (
      <main id="main">
        <h1 tabIndex={-1} ref={page.ref}>
          API keys
        </h1>
        <Empty>
          The operator manages the keys of one tenant at a time: open a tenant on the <a href="/console/workspaces" onClick={(e) => (e.preventDefault(), navigate('/workspaces'))}>workspaces</a> page and follow its API keys link.
        </Empty>
      </main>
    );
  }
  return (
    <main id="main">
      <h1 tabIndex={-1} ref={page.ref}>
        API keys <span class="hint">tenant {tenant}</span>
      </h1>
      {created ? (
        <div class="token" role="alert">
          <p>
            <strong>Key {created.name} is created. Copy its token now: it is shown only this once.</strong>
          </p>
          <label for="new-token">Token</label>
          <input id="new-token" readOnly value={created.token} onFocus={(e) => e.currentTarget.select()} />
          <button type="button" onClick={() => void navigator.clipboard?.writeText(created.token)}>
            Copy the token
          </button>
          <button type="button" onClick={() => setCreated(null)}>
            I have copied it
          </button>
        </div>
      ) : null}
      {revoked ? (
        <p class="saved" role="status">
          {revoked}
        </p>
      ) : null}
      <Problem failure={failure ?? keys.failure} />
      {keys.data && keys.data.length === 0 ? <Empty>No key yet. Create one below.</Empty> : null}
      {keys.data && keys.data.length > 0 ? (
        <table>
          <caption class="visually-hidden">API keys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Id</th>
              <th scope="col">Scopes</th>
              <th scope="col">Workspaces</th>
              <th scope="col">Rate limit</th>
              <th scope="col">Created</th>
              <th scope="col">Revoke</th>
            </tr>
          </thead>
          <tbody>
            {keys.data.map((k) => (
              <tr key={k.id}>
                <th scope="row">{k.name}</th>
                <td>
                  <code>{k.id}</code>
                </td>
                <td>{k.scopes.join(', ')}</td>
                <td>{k.workspace_ids === null ? 'all' : k.workspace_ids.join(', ')}</td>
                <td>{k.rate_limit ? [k.rate_limit.per_second && `${k.rate_limit.per_second}/s`, k.rate_limit.per_minute && `${k.rate_limit.per_minute}/min`].filter(Boolean).join(', ') : 'none'}</td>
                <td>{when(k.created_at)}</td>
                <td>
                  <ConfirmButton
                    label={`Revoke ${k.name}`}
                    title={`Revoke key ${k.name}?`}
                    body={
                      <p>
                        Every request with this key is refused from now on{me.key_id === k.id ? ', including this console, which signs in with it' : ''}. This cannot be undone.
                      </p>
                    }
                    confirm="Revoke"
                    onConfirm={() => revoke(k)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <CreateKey tenant={tenant} onCreated={setCreated} />
    </main>
  );
}
