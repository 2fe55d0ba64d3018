// Search-run display logic with no DOM in it (unit-tested in test/).

export const SOURCES = [
  { value: 'sandbox', label: 'Sandbox (demo data)' },
  { value: 'apollo', label: 'Apollo' },
];
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 100000;

export const RUN_DONE = new Set(['completed', 'failed', 'cancelled']);
export const isRunDone = (run) => Boolean(run) && RUN_DONE.has(run.status);

/** The diagnostics counters, in display order, with their test ids. */
export const COUNTERS = [
  { key: 'fetched', label: 'Fetched', testid: 'diag-fetched', hint: 'People the source returned' },
  { key: 'duplicates', label: 'Duplicates', testid: 'diag-duplicates', hint: 'Already seen in this run or merged into an existing lead' },
  { key: 'filtered', label: 'Filtered', testid: 'diag-filtered', hint: 'Below the minimum score: kept, hidden by default', tone: 'warn' },
  { key: 'withEmail', label: 'With email', testid: 'diag-with-email' },
  { key: 'withoutEmail', label: 'Without email', testid: 'diag-without-email' },
  { key: 'created', label: 'Created', testid: 'diag-created', tone: 'success' },
  { key: 'updated', label: 'Updated', testid: 'diag-updated' },
  { key: 'failed', label: 'Failed', testid: 'diag-failed', tone: 'danger' },
];

/** A counter as a whole number (missing/garbage -> 0). */
export function count(diagnostics, key) {
  const n = Number(diagnostics?.[key]);
  return Number.isFinite(n) ? Math.max(0, Math.trunc(n)) : 0;
}

/**
 * 0-100: people counted against the run's limit; a completed run is 100. `peopleFetched` is the
 * same figure as the Fetched counter (pages the leads service has counted), so bar and tiles agree.
 */
export function progressPercent(run) {
  if (!run) return 0;
  if (run.status === 'completed') return 100;
  const limit = Number(run.limit) || 0;
  if (limit <= 0) return 0;
  return Math.max(0, Math.min(100, Math.round(((Number(run.peopleFetched) || 0) / limit) * 100)));
}

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** One line for the runs list: "120 fetched · 80 created · 10 updated · 25 filtered". */
export function countersSummary(diagnostics) {
  const parts = [`${count(diagnostics, 'fetched')} fetched`];
  for (const key of ['created', 'updated', 'duplicates', 'filtered', 'failed']) {
    const n = count(diagnostics, key);
    if (n > 0) parts.push(`${n} ${key}`);
  }
  return parts.join(' · ');
}

/**
 * The plain-language account of a run: what was fetched and why some people
 * did not become visible leads. Returns a list of sentences.
 */
export function runAccount(run, minScore) {
  if (!run) return [];
  const d = run.diagnostics || {};
  const fetched = count(d, 'fetched') || Number(run.peopleFetched) || 0;
  const pages = Number(run.pagesFetched) || 0;
  const out = [
    `${plural(fetched, 'person', 'people')} fetched from ${run.source || 'the source'} in ${plural(pages, 'page')} (limit ${run.limit}).`,
  ];
  const dup = count(d, 'duplicates');
  if (dup) out.push(`${plural(dup, 'duplicate')} merged instead of added twice.`);
  const filtered = count(d, 'filtered');
  if (filtered) {
    const under = minScore === null || minScore === undefined ? 'the minimum score' : `the minimum score of ${minScore}`;
    out.push(`${plural(filtered, 'lead')} scored below ${under}: kept but hidden from the default list.`);
  }
  const failed = count(d, 'failed');
  if (failed) out.push(`${plural(failed, 'person', 'people')} could not be saved.`);
  const created = count(d, 'created');
  const updated = count(d, 'updated');
  if (created || updated) out.push(`${plural(created, 'new lead')} created, ${plural(updated, 'existing lead')} updated.`);
  const without = count(d, 'withoutEmail');
  if (without) out.push(`${plural(without, 'person', 'people')} came without an email address.`);
  return out;
}
