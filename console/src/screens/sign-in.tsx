import { useState } from 'preact/hooks';
import { ApiFailure, session, type Me } from '../api';
import { Field, usePage } from '../ui';

/** An API key or the operator token; kept in sessionStorage, so it ends with the browser tab. */
export function SignIn({ onSignedIn, lost = false }: { onSignedIn: () => Promise<Me>; lost?: boolean }) {
  const page = usePage(lost ? 'Sign in again' : 'Sign in');
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    const before = session.token();
    session.signIn(token.trim());
    try {
      await onSignedIn();
    } catch (failure) {
      if (before && lost) session.signIn(before);
      else session.signOut();
      setProblem(
        failure instanceof ApiFailure && failure.status === 401
          ? 'This key is not accepted: it may be mistyped, revoked or expired.'
          : failure instanceof Error
            ? failure.message
            : String(failure),
      );
    } finally {
      setBusy(false);
    }
  };

  // Over a screen (lost), it is a dialog's content, not a second main landmark.
  const Wrapper = lost ? 'div' : 'main';
  return (
    <Wrapper id={lost ? undefined : 'main'} class="sign-in">
      <h1 tabIndex={-1} ref={page.ref} id={lost ? 'lost-title' : undefined}>
        {lost ? 'Your key is no longer accepted' : 'Sign in to the propdict console'}
      </h1>
      {lost ? <p>It may have been revoked or have expired. Sign in with a key again; what you typed on the page is kept.</p> : null}
      <form onSubmit={submit}>
        <Field
          field="token"
          label="API key or operator token"
          hint="Kept for this browser tab only (sessionStorage); closing the tab signs you out."
          errors={problem ? [{ field: 'token', problem }] : []}
        >
          {(control) => <input {...control} type="password" required autocomplete="off" spellcheck={false} value={token} onInput={(e) => setToken(e.currentTarget.value)} />}
        </Field>
        <button type="submit" class="primary" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </Wrapper>
  );
}
