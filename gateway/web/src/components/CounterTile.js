import { html } from 'htm/preact';

/**
 * One labelled number. The testid sits on the number itself, so tests (and
 * innerText) read exactly the count; `hint` becomes a tooltip.
 */
export function CounterTile({ label, value, testid, tone = 'neutral', hint }) {
  const n = Number(value) || 0;
  return html`<div class=${`tile tile-${tone}${n === 0 ? ' tile-zero' : ''}`} title=${hint || undefined}>
    <span class="tile-value" data-testid=${testid}>${n}</span>
    <span class="tile-label">${label}</span>
  </div>`;
}
