// Pure: the leads table's columns (which show, remembered per user in this browser) and its saved views (a
// named set of filters, sort and columns, kept on the server so they follow the user). Unit-tested.
import { DEFAULT_FILTERS, filtersFromQuery, filtersToQuery, leadsPath } from './leadFilters.js';

/** Every column the table can show, in table order; `shown` = on by default; Name is always shown (it links). */
export const LEAD_COLUMNS = [
  { key: 'name', label: 'Name', shown: true, fixed: true },
  { key: 'email', label: 'Email', shown: true },
  { key: 'companyName', label: 'Company', shown: true },
  { key: 'title', label: 'Title', shown: true },
  { key: 'phone', label: 'Phone', shown: false },
  { key: 'location', label: 'Location', shown: false },
  { key: 'industry', label: 'Industry', shown: false },
  { key: 'companySize', label: 'Company size', shown: false },
  { key: 'source', label: 'Source', shown: false },
  { key: 'score', label: 'Score', shown: true },
  { key: 'status', label: 'Enrichment', shown: true },
  { key: 'createdAt', label: 'Created', shown: true },
];

export const DEFAULT_COLUMNS = LEAD_COLUMNS.filter((c) => c.shown).map((c) => c.key);
const KNOWN = new Set(LEAD_COLUMNS.map((c) => c.key));
const FIXED = LEAD_COLUMNS.filter((c) => c.fixed).map((c) => c.key);

/**
 * Any list of column keys (from storage, a saved view, a click) -> the columns to show, in table order:
 * unknown keys dropped, the fixed ones kept, the defaults when nothing usable is left.
 */
export function cleanColumns(keys) {
  const chosen = new Set(Array.isArray(keys) ? keys.filter((k) => KNOWN.has(k)) : []);
  if (![...chosen].some((k) => !FIXED.includes(k))) return [...DEFAULT_COLUMNS];
  FIXED.forEach((k) => chosen.add(k));
  return LEAD_COLUMNS.map((c) => c.key).filter((k) => chosen.has(k));
}

/** The columns after showing or hiding one. */
export function toggleColumn(columns, key, on) {
  if (FIXED.includes(key)) return cleanColumns(columns);
  const next = on ? [...columns, key] : columns.filter((k) => k !== key);
  // Hiding the last column besides Name is refused: a table of names alone is not what anyone meant.
  return next.some((k) => KNOWN.has(k) && !FIXED.includes(k)) ? cleanColumns(next) : cleanColumns(columns);
}

/** Where a user's column choice is kept in this browser (per user: two people on one computer differ). */
export const columnsStorageKey = (userId) => `leadflood.leads.columns.${userId || 'anyone'}`;

/** The stored column choice, or the defaults (nothing stored, unreadable, or storage refused). */
export function readColumns(storage, userId) {
  try {
    const text = storage?.getItem(columnsStorageKey(userId));
    return cleanColumns(text ? JSON.parse(text) : null);
  } catch {
    return [...DEFAULT_COLUMNS];
  }
}

export function writeColumns(storage, userId, columns) {
  try {
    storage?.setItem(columnsStorageKey(userId), JSON.stringify(cleanColumns(columns)));
  } catch {
    // A full or refused storage: the choice holds for this visit only.
  }
}

/** The table's state -> a saved view's body (filters without the sort and without defaults). */
export function viewBody(name, filters, columns, shared = false) {
  const query = new URLSearchParams(filtersToQuery(filters));
  query.delete('sort');
  return {
    name: name.trim(),
    filters: Object.fromEntries(query),
    sort: filters.sort || DEFAULT_FILTERS.sort,
    columns: cleanColumns(columns),
    shared: !!shared,
  };
}

/** A saved view -> what applying it does: the list's path (filters and sort in the URL) and the columns. */
export function applyView(view) {
  const query = new URLSearchParams(view.filters || {});
  query.set('sort', view.sort || DEFAULT_FILTERS.sort);
  return { path: leadsPath(filtersFromQuery(query)), columns: cleanColumns(view.columns) };
}

/** The saved view the table shows right now (same filters, sort and columns), if any. */
export function currentView(views, filters, columns) {
  const here = JSON.stringify(comparable(filters, columns));
  return views.find((v) => {
    const { path, columns: cols } = applyView(v);
    return JSON.stringify(comparable(filtersFromQuery(path.split('?')[1] || ''), cols)) === here;
  });
}

function comparable(filters, columns) {
  return { query: filtersToQuery(filters), columns: cleanColumns(columns) };
}

/** A view's name as the picker shows it: whose it is when it is not the user's own. */
export function viewLabel(view) {
  if (view.mine) return view.shared ? `${view.name} (shared)` : view.name;
  return `${view.name} (${view.ownerEmail})`;
}
