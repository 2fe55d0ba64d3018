// The leads list's filters <-> the URL query (so links and reloads keep them)
// <-> the API query. No DOM here: unit-tested in test/.

export const PAGE_SIZE = 50;

export const LEAD_STATUSES = ['new', 'processing', 'enriched', 'failed'];

export const HAS_EMAIL_OPTIONS = [
  { value: '', label: 'Any' },
  { value: 'yes', label: 'With email' },
  { value: 'no', label: 'Without email' },
];

export const FILTERED_OPTIONS = [
  { value: 'hidden', label: 'Hidden' },
  { value: 'only', label: 'Only filtered' },
  { value: 'all', label: 'All' },
];

export const SORT_OPTIONS = [
  { value: '-createdAt', label: 'Newest first' },
  { value: 'createdAt', label: 'Oldest first' },
  { value: '-score', label: 'Score: high to low' },
  { value: 'score', label: 'Score: low to high' },
  { value: 'lastName', label: 'Last name A–Z' },
  { value: '-lastName', label: 'Last name Z–A' },
];

/** Every filter with its "no filter" value; the URL leaves these out. */
export const DEFAULT_FILTERS = Object.freeze({
  icpId: '',
  searchRunId: '',
  status: '',
  minScore: '',
  maxScore: '',
  hasEmail: '',
  q: '',
  // Created on these days (YYYY-MM-DD, both included) in the browser's time zone, as the dashboard counts its days.
  createdFrom: '',
  createdTo: '',
  filtered: 'hidden',
  sort: '-createdAt',
});

// The URL name of each filter; the API's is the same but for the days (dayBounds).
const KEYS = Object.keys(DEFAULT_FILTERS);
const DAYS = new Set(['createdFrom', 'createdTo']);
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** "2026-12-07" when it is a real calendar day, else "". */
export function cleanDay(value) {
  const s = String(value ?? '').trim();
  const m = DAY.exec(s);
  if (!m) return '';
  const [y, mo, d] = m.slice(1).map(Number);
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d ? s : '';
}

/**
 * The days as the API's instants: `createdFrom` the first day's midnight, `createdBefore` the midnight after the
 * last day, both in the browser's time zone (a day of 23 or 25 hours included) and written in UTC.
 */
export function dayBounds({ createdFrom = '', createdTo = '' }) {
  const midnight = (day, after = 0) => {
    const [y, m, d] = day.split('-').map(Number);
    return new Date(y, m - 1, d + after).toISOString();
  };
  return {
    ...(createdFrom ? { createdFrom: midnight(createdFrom) } : {}),
    ...(createdTo ? { createdBefore: midnight(createdTo, 1) } : {}),
  };
}

const oneOf = (value, allowed, fallback) => (allowed.includes(value) ? value : fallback);

/** "075" -> "75", "" / "abc" / "-3" -> "" (scores are whole numbers 0-100). */
export function cleanScore(value) {
  const s = String(value ?? '').trim();
  if (!/^\d+$/.test(s)) return '';
  return String(Math.min(100, Number(s)));
}

/** URLSearchParams (or a query string) -> a complete, valid filters object. */
export function filtersFromQuery(query) {
  const q = query instanceof URLSearchParams ? query : new URLSearchParams(query || '');
  const get = (k) => (q.get(k) ?? '').trim();
  return {
    icpId: get('icpId'),
    searchRunId: get('searchRunId'),
    status: oneOf(get('status'), LEAD_STATUSES, ''),
    minScore: cleanScore(get('minScore')),
    maxScore: cleanScore(get('maxScore')),
    hasEmail: oneOf(get('hasEmail'), ['yes', 'no'], ''),
    q: q.get('q') ?? '', // as typed: the text box shows it back verbatim
    createdFrom: cleanDay(get('createdFrom')),
    createdTo: cleanDay(get('createdTo')),
    filtered: oneOf(get('filtered'), FILTERED_OPTIONS.map((o) => o.value), DEFAULT_FILTERS.filtered),
    sort: oneOf(get('sort'), SORT_OPTIONS.map((o) => o.value), DEFAULT_FILTERS.sort),
  };
}

/** Filters -> the page's URL query string: only what differs from the defaults, in a fixed order. */
export function filtersToQuery(filters) {
  const out = new URLSearchParams();
  for (const k of KEYS) {
    const v = k === 'q' ? String(filters[k] ?? '').trim() : String(filters[k] ?? '');
    if (v !== '' && v !== DEFAULT_FILTERS[k]) out.set(k, v);
  }
  return out.toString();
}

/** The hash path for a leads list with these filters: "/leads" or "/leads?status=new". */
export function leadsPath(filters) {
  const qs = filtersToQuery({ ...DEFAULT_FILTERS, ...filters });
  return qs ? `/leads?${qs}` : '/leads';
}

/**
 * Filters -> the API query for GET /v1/leads (and, without paging, for
 * export.csv). `filtered` and `sort` are always sent so the server never
 * has to guess; blank filters are left out.
 */
export function filtersToApiQuery(filters, { cursor = null, limit = PAGE_SIZE, paging = true } = {}) {
  const out = new URLSearchParams();
  for (const k of KEYS) {
    if (DAYS.has(k)) continue; // sent as instants, below
    const v = k === 'q' ? String(filters[k] ?? '').trim() : String(filters[k] ?? '');
    if (v !== '' || k === 'filtered' || k === 'sort') out.set(k, v || DEFAULT_FILTERS[k]);
  }
  for (const [k, v] of Object.entries(dayBounds(filters))) out.set(k, v);
  if (paging) {
    out.set('limit', String(limit));
    if (cursor) out.set('cursor', cursor);
  }
  return out.toString();
}

/** The days filter in words, for the list to say what it shows: "Created 7 Dec 2026", "Created 1–7 Dec 2026". */
export function createdWords({ createdFrom = '', createdTo = '' }, locale = undefined) {
  if (!createdFrom && !createdTo) return '';
  const date = (day) => {
    const [y, m, d] = day.split('-').map(Number);
    return new Date(Date.UTC(y, m - 1, d));
  };
  const format = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' });
  if (createdFrom && createdTo) return `Created ${format.formatRange(date(createdFrom), date(createdTo))}`;
  return createdFrom ? `Created from ${format.format(date(createdFrom))}` : `Created up to ${format.format(date(createdTo))}`;
}

/** How many filters differ from the defaults (sort excluded): for "Clear filters". */
export function activeFilterCount(filters) {
  return KEYS.filter((k) => k !== 'sort' && String(filters[k] ?? '').trim() !== '' && filters[k] !== DEFAULT_FILTERS[k]).length;
}

// The columns a click on the header sorts, and the way a first click sorts each (names A-Z, the highest
// score and the newest first); a second click on the same column turns the order round.
export const HEADER_SORTS = { name: 'lastName', score: '-score', createdAt: '-createdAt' };

/** The sort after a click on `column`'s header, when the list is sorted by `current`. */
export function headerSort(current, column) {
  const first = HEADER_SORTS[column];
  if (!first) return current;
  const field = first.replace(/^-/, '');
  if (current.replace(/^-/, '') !== field) return first;
  return current.startsWith('-') ? field : `-${field}`;
}

/** aria-sort for `column`'s header: 'ascending' / 'descending' when the list is sorted by it, else 'none'. */
export function headerSortState(current, column) {
  const first = HEADER_SORTS[column];
  if (!first) return undefined;
  if (current.replace(/^-/, '') !== first.replace(/^-/, '')) return 'none';
  return current.startsWith('-') ? 'descending' : 'ascending';
}
