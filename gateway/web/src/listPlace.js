// Where the user was in a list (the rows loaded, the scroll, the list's own URL), kept in memory while
// they look at one of its items, so Back (or the item's "← Leads" link) returns to that place, not to
// the top of the first page. Pure apart from the one Map; unit-tested.

const places = new Map(); // list key (its API query) -> { items, nextCursor, scrollY, path }
let lastPath = null; // the URL path of the list last left, filters included

/** The place of the list with this key, or null. */
export function placeOf(key) {
  return places.get(key) || null;
}

/** Remember (part of) the place of a list; `path` is its URL path, "/leads?status=new". */
export function keepPlace(key, place) {
  const next = { ...(places.get(key) || {}), ...place };
  places.set(key, next);
  if (next.path) lastPath = next.path;
}

/** The list's path to go back to, filters and all; `fallback` if none was left yet. */
export function backPath(fallback) {
  return lastPath || fallback;
}

/** Forget every place (sign-out, tests). */
export function forgetPlaces() {
  places.clear();
  lastPath = null;
}

/**
 * How many rows to ask for when a kept place is shown again: as many as were loaded (so the same rows
 * come back fresh, in one request), at least a page, at most what the API gives at once.
 */
export function refreshLimit(loaded, page = 50, max = 500) {
  return Math.max(page, Math.min(max, loaded));
}
