import { html } from 'htm/preact';

/** A small inline spinner with an optional label for screen readers and eyes. */
export function Spinner({ label = 'Loading…' }) {
  return html`<span class="spinner-wrap" role="status">
    <span class="spinner" aria-hidden="true"></span>
    <span class="spinner-label">${label}</span>
  </span>`;
}
