import { html } from 'htm/preact';

/** One label/value pair of a <dl class="details">; empty values show a muted dash. */
export function Detail({ label, value, title, wide = false }) {
  const empty = value === null || value === undefined || value === '' || value === false;
  return html`<div class=${wide ? 'detail detail-wide' : 'detail'}>
    <dt>${label}</dt>
    <dd title=${title || undefined}>${empty ? html`<span class="muted">—</span>` : value}</dd>
  </div>`;
}
