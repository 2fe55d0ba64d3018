// Session state. The access token lives only in memory (gone on reload, never
// readable by other tabs); the refresh token lives in sessionStorage so a
// reload of this tab can mint a new access token and stay signed in.
import { useEffect, useState } from 'preact/hooks';
import { send } from './http.js';
import { forgetPlaces } from './listPlace.js';

const REFRESH_KEY = 'leadflood.refreshToken';

let accessToken = null;
let refreshing = null; // the in-flight refresh, shared by concurrent callers

/**
 * status: 'restoring' (checking a stored refresh token) | 'signed-in' | 'signed-out'
 * user: {userId, orgId, email} when signed in
 * endedBy: 'user' (Sign out) | 'expiry' | null (never signed in this tab)
 */
let state = { status: 'restoring', user: null, endedBy: null };
const listeners = new Set();

function setState(patch) {
  state = { ...state, ...patch };
  listeners.forEach((fn) => fn(state));
}

/** Preact hook: the current session, re-rendering on every change. */
export function useSession() {
  const [s, set] = useState(state);
  useEffect(() => {
    listeners.add(set);
    set(state); // catch up on anything that changed before we subscribed
    return () => listeners.delete(set);
  }, []);
  return s;
}

export const getAccessToken = () => accessToken;

/** Call `fn(session)` on every change (signed in, out, expired), outside Preact; returns the stop function. */
export function onSessionChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function storeTokens(tokens) {
  accessToken = tokens.accessToken;
  // Refresh tokens rotate: the old one is now spent, always keep the new one.
  sessionStorage.setItem(REFRESH_KEY, tokens.refreshToken);
}

function clearTokens() {
  accessToken = null;
  sessionStorage.removeItem(REFRESH_KEY);
}

async function loadUser() {
  const user = await send('GET', '/v1/me', { token: accessToken });
  setState({ status: 'signed-in', user, endedBy: null });
}

/** On page load: turn a stored refresh token back into a session, if any. */
export async function restoreSession() {
  try {
    if (await refreshSession()) return await loadUser();
  } catch {
    // fall through: a token that cannot load /v1/me is as good as none
  }
  clearTokens();
  setState({ status: 'signed-out', user: null });
}

/** Sign in; throws ApiError (e.g. 401 bad credentials) for the form to show. */
export async function login(email, password) {
  const tokens = await send('POST', '/v1/auth/login', { body: { email, password } });
  storeTokens(tokens);
  try {
    await loadUser();
  } catch (err) {
    clearTokens();
    throw err;
  }
}

/** Sign in with tokens another exchange gave (joining by an invitation link). */
export async function adoptTokens(tokens) {
  storeTokens(tokens);
  await loadUser();
}

/**
 * Trade the refresh token for new tokens. Resolves true/false, never throws.
 * Single-flight: with rotation, two parallel refreshes (e.g. the lead and the
 * job poll both getting a 401) would make the second look like token reuse
 * and get the whole session revoked.
 */
export function refreshSession() {
  if (!refreshing) {
    refreshing = doRefresh().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function doRefresh() {
  const refreshToken = sessionStorage.getItem(REFRESH_KEY);
  if (!refreshToken) return false;
  try {
    storeTokens(await send('POST', '/v1/auth/refresh', { body: { refreshToken } }));
    return true;
  } catch {
    return false;
  }
}

/** The refresh failed: drop the session; the router then shows the login page. */
export function expireSession() {
  if (state.status !== 'signed-in') return;
  clearTokens();
  setState({ status: 'signed-out', user: null, endedBy: 'expiry' });
}

/** Sign out: forget the session locally at once, then revoke it server-side. */
export async function logout() {
  const refreshToken = sessionStorage.getItem(REFRESH_KEY);
  const token = accessToken;
  clearTokens();
  forgetPlaces(); // the lists' kept rows were this user's
  setState({ status: 'signed-out', user: null, endedBy: 'user' });
  if (!refreshToken) return;
  try {
    await send('POST', '/v1/auth/logout', { body: { refreshToken }, token });
  } catch {
    // Best effort: the tokens are already gone from this tab and will expire.
  }
}
