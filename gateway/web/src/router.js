// Hash router: "#/leads/abc?job=xyz" -> { path: "/leads/abc", query, raw }.
// Hash URLs need no server-side fallback route, and a reload keeps the page.
import { useEffect, useState } from 'preact/hooks';

export function parseHash(hash) {
  const raw = hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  return {
    raw,
    path: q < 0 ? raw : raw.slice(0, q),
    query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)),
  };
}

/** Preact hook: the current route, updated on every hash change. */
export function useRoute() {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/** Go to an app path like "/leads/new"; replace=true keeps Back from looping. */
export function navigate(to, { replace = false } = {}) {
  if (replace) location.replace(`#${to}`);
  else location.hash = to;
}

/**
 * First route whose pattern matches the path, with its ":name" params:
 * matchRoute([{ path: '/leads/:id' }], '/leads/42') -> { route, params: { id: '42' } }
 * Order matters: list "/leads/new" before "/leads/:id".
 */
export function matchRoute(routes, path) {
  const parts = path.split('/').filter(Boolean);
  for (const route of routes) {
    const pattern = route.path.split('/').filter(Boolean);
    if (pattern.length !== parts.length) continue;
    const params = {};
    const ok = pattern.every((seg, i) => {
      if (seg.startsWith(':')) {
        params[seg.slice(1)] = decodeURIComponent(parts[i]);
        return true;
      }
      return seg === parts[i];
    });
    if (ok) return { route, params };
  }
  return null;
}

/** Renders nothing; moves to `to` once mounted (redirects in render are unsafe). */
export function Redirect({ to }) {
  useEffect(() => {
    navigate(to, { replace: true });
  }, [to]);
  return null;
}
