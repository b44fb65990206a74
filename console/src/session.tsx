// Who is signed in (GET /v1/me) and what that token may do, for every screen.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Me, Scope } from './api';

export const MeContext = createContext<Me | null>(null);

export function useMe(): Me {
  const me = useContext(MeContext);
  if (!me) throw new Error('not signed in');
  return me;
}

export const can = (me: Me, scope: Scope) => me.scopes.includes(scope);

/** Why a control is off, in words, or undefined when the token may use it. */
export const needs = (me: Me, scope: Scope): string | undefined => (can(me, scope) ? undefined : `This key does not have the ${scope} scope.`);
