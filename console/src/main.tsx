// The console: sign in, then every screen through /v1 with the signed-in token.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiFailure, call, onUnauthenticated, session, type Me } from './api';
import { Link, match, navigate, useLocation } from './router';
import { HistoryScreen } from './screens/history';
import { ImportScreen, ImportsScreen } from './screens/imports';
import { KeysScreen } from './screens/keys';
import { LimitsScreen } from './screens/limits';
import { ProfileScreen } from './screens/profile';
import { ProfilesScreen } from './screens/profiles';
import { PropertiesScreen } from './screens/properties';
import { PropertyScreen } from './screens/property';
import { SignIn } from './screens/sign-in';
import { WorkspacesScreen } from './screens/workspaces';
import { can, MeContext } from './session';
import { Empty } from './ui';
import './styles.css';

function Nav({ me, ws }: { me: Me; ws?: number }) {
  const item = (href: string, label: string, allowed: boolean, why: string) =>
    allowed ? (
      <li>
        <Link href={href}>{label}</Link>
      </li>
    ) : (
      <li>
        <span class="off" title={why}>
          {label} <span class="why">({why})</span>
        </span>
      </li>
    );
  return (
    <nav aria-label="Main">
      <ul>
        <li>
          <Link href="/workspaces">Workspaces</Link>
        </li>
        {ws !== undefined ? (
          <>
            {item(`/w/${ws}/properties`, 'Properties', can(me, 'properties:read'), 'needs properties:read')}
            {item(`/w/${ws}/profiles`, 'Profiles', can(me, 'profiles:read'), 'needs profiles:read')}
            {item(`/w/${ws}/imports`, 'Imports', can(me, 'profiles:read'), 'needs profiles:read')}
            {item(`/w/${ws}/limits`, 'Limits', can(me, 'properties:read'), 'needs properties:read')}
          </>
        ) : null}
        {item('/keys', 'API keys', can(me, 'admin'), 'needs admin')}
      </ul>
    </nav>
  );
}

function Screen({ path, query }: { path: string; query: URLSearchParams }) {
  let p: Record<string, string> | null;
  if (path === '/' || path === '/workspaces') return <WorkspacesScreen />;
  if (path === '/keys') return <KeysScreen tenant={query.get('tenant')} />;
  if ((p = match('/w/:ws/properties', path))) return <PropertiesScreen ws={Number(p.ws)} />;
  if ((p = match('/w/:ws/properties/new', path))) return <PropertyScreen ws={Number(p.ws)} />;
  if ((p = match('/w/:ws/properties/:name/history', path))) return <HistoryScreen ws={Number(p.ws)} name={p.name} />;
  if ((p = match('/w/:ws/properties/:name', path))) return <PropertyScreen ws={Number(p.ws)} name={p.name} />;
  if ((p = match('/w/:ws/imports', path))) return <ImportsScreen ws={Number(p.ws)} />;
  if ((p = match('/w/:ws/imports/:id', path))) return <ImportScreen ws={Number(p.ws)} id={p.id} />;
  if ((p = match('/w/:ws/limits', path))) return <LimitsScreen ws={Number(p.ws)} />;
  if ((p = match('/w/:ws/profiles', path))) return <ProfilesScreen ws={Number(p.ws)} />;
  if ((p = match('/w/:ws/profiles/:id', path))) return <ProfileScreen ws={Number(p.ws)} id={p.id} />;
  return (
    <main id="main">
      <h1>Not found</h1>
      <Empty>
        This page does not exist in the console. <Link href="/workspaces">Go to the workspaces</Link>.
      </Empty>
    </main>
  );
}

function App() {
  const { path, query } = useLocation();
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(Boolean(session.token()));
  const [lost, setLost] = useState(false);

  const readMe = async () => {
    const { data } = await call(api.GET('/v1/me'));
    setMe(data);
    setLost(false);
    return data;
  };

  useEffect(() => {
    if (session.token()) {
      readMe().catch((failure) => {
        if (failure instanceof ApiFailure && failure.status === 401) session.signOut();
        setChecking(false);
      }).then(() => setChecking(false));
    }
    const onLost = () => setLost(true);
    onUnauthenticated.addEventListener('lost', onLost);
    return () => onUnauthenticated.removeEventListener('lost', onLost);
  }, []);

  const signOut = () => {
    session.signOut();
    setMe(null);
    navigate('/', true);
  };

  if (checking) return <p role="status">Checking the key…</p>;
  if (!me) return <SignIn onSignedIn={readMe} />;
  const ws = /^\/w\/(\d+)(\/|$)/.exec(path)?.[1];
  return (
    <MeContext.Provider value={me}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <p class="brand">propdict console</p>
        <Nav me={me} ws={ws === undefined ? undefined : Number(ws)} />
        <p class="who">
          {me.kind === 'operator' ? 'Operator token' : `Key ${me.key_id} · tenant ${me.tenant_id}`}{' '}
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </p>
      </header>
      {lost ? (
        // The key stopped working: sign in again over the screen, which keeps what was typed.
        <div class="lost" role="alertdialog" aria-labelledby="lost-title">
          <SignIn onSignedIn={readMe} lost />
        </div>
      ) : null}
      <Screen path={path} query={query} />
    </MeContext.Provider>
  );
}

render(<App />, document.getElementById('app')!);
