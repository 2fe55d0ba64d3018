import { html } from 'htm/preact';
import { countWords } from '../counts.js';

/**
 * A list's header line: how many match, as the server counted them ("1,234 runs", "10,000+ runs"), and how many
 * are shown while there are more to load. `list`: a usePagedList (or { total, totalCapped, items, hasMore }).
 */
export function ListTotal({ list, one, many, testid }) {
  if (list.total === null || list.total === undefined) return null;
  return html`<p class="table-meta">
    <strong data-testid=${testid}>${countWords(list.total, list.totalCapped, one, many)}</strong>
    ${list.hasMore && html`<span class="muted" data-testid=${`${testid}-shown`}> · ${list.items.length.toLocaleString('en-US')} shown</span>`}
  </p>`;
}

/** "Load more" (or `label`) under a paged list, while the server has more. */
export function LoadMore({ list, testid, label = 'Load more' }) {
  if (!list.hasMore) return null;
  return html`<div class="load-more">
    <button type="button" class="btn btn-secondary" data-testid=${testid} disabled=${list.loadingMore} onClick=${list.loadMore}>
      ${list.loadingMore ? 'Loading…' : label}
    </button>
  </div>`;
}
