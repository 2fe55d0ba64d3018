import { html } from 'htm/preact';

const WORDS = {
  live: ['Live', 'badge-success', 'Updates arrive as they happen.'],
  connecting: ['Connecting…', 'badge-neutral', 'Opening the live updates.'],
  down: ['Refreshing every 15 s', 'badge-warn', 'Live updates are unavailable; the page reads again every 15 seconds.'],
};

/** Whether the page is live (src/live.js), or falling back to its slow poll. */
export function LiveBadge({ state }) {
  const [word, tone, title] = WORDS[state] || WORDS.down;
  return html`<span class=${`badge ${tone}`} data-testid="live-state" data-state=${state} title=${title}>${word}</span>`;
}
