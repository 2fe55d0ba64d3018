import { html } from 'htm/preact';

// Colour by meaning, so lead statuses (new/processing/enriched/failed) and
// job statuses (queued/running/completed/failed) share one look.
const TONES = {
  new: 'neutral',
  queued: 'neutral',
  processing: 'active',
  running: 'active',
  enriched: 'success',
  completed: 'success',
  failed: 'danger',
  // Messages of the mail room.
  sending: 'active',
  sent: 'success',
  received: 'success',
  bounced: 'danger',
  suppressed: 'neutral',
  simulated: 'neutral',
};

/** A pill whose text is exactly the status word (tests read textContent). */
export function StatusBadge({ status, testid }) {
  const tone = TONES[status] || 'neutral';
  return html`<span class="badge badge-${tone}" data-testid=${testid}>${status}</span>`;
}
