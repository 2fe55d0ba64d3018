// Pure: the dashboard's figures in words and links (tested in test/dashboard.test.js).
import { leadsPath } from './leadFilters.js';

export const WINDOWS = [7, 14, 30, 90];

/** The browser's IANA time zone, the one the dashboard's days are counted in. */
export function browserTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || '';
  } catch {
    return '';
  }
}

/** 0.1234 -> "12.3%"; null (nothing sent) -> "—". */
export function percent(rate) {
  if (rate === null || rate === undefined) return '—';
  return `${(rate * 100).toFixed(rate * 100 >= 10 ? 0 : 1)}%`;
}

/**
 * What every reply rate on the home page divides (the tiles' and each sequence's alike): replies over the emails
 * sent, in the same words wherever a rate is shown.
 */
export const RATE_BASIS = 'replies ÷ emails sent';

/** A count in the reader's locale with its noun, one or many: 1 -> "1 dead letter", 1200 -> "1,200 dead letters". */
export function countWords(n, one, many, locale = undefined) {
  const count = Number(n) || 0;
  return `${new Intl.NumberFormat(locale).format(count)} ${count === 1 ? one : many}`;
}

/** The messages list behind a figure: a category over the window, or one of its days. */
export function messagesHref(category, days, day = '') {
  const q = new URLSearchParams({ category, days: String(days) });
  if (day) q.set('day', day);
  return `#/inbox/messages?${q}`;
}

/** The leads list behind the leads figure: every lead, whatever its score (the figure counts them all). */
export const LEADS_HREF = `#${leadsPath({ filtered: 'all' })}`;

/** The leads list behind a day's bar: the leads created that day, in the browser's time zone as the bar counts it. */
export function leadsDayHref(day) {
  return `#${leadsPath({ filtered: 'all', createdFrom: day, createdTo: day })}`;
}

/** "2026-12-07" -> a short label in the browser's locale ("7 Dec"), read as a calendar date (no zone shift). */
export function shortDay(day, locale) {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString(locale, { day: 'numeric', month: 'short', timeZone: 'UTC' });
}

export function longDay(day, locale) {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString(locale, { weekday: 'short', day: 'numeric', month: 'long', timeZone: 'UTC' });
}

/** The window from the URL: one of WINDOWS, 14 otherwise. */
export function windowDays(query) {
  const n = Number(query.get('days'));
  return WINDOWS.includes(n) ? n : 14;
}
