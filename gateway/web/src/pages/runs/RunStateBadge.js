import { html } from 'htm/preact';

// Runs (created/running/completed/failed/cancelled) and their leads (pending/leased/done/failed/cancelled/skipped).
const TONES = {
  created: 'neutral',
  pending: 'neutral',
  running: 'active',
  leased: 'active',
  completed: 'success',
  done: 'success',
  failed: 'danger',
  cancelled: 'warn',
  skipped: 'warn',
};

/** A run's (or a run lead's) state as a pill whose text is exactly the word. */
export function RunStateBadge({ state, testid }) {
  return html`<span class="badge badge-${TONES[state] || 'neutral'}" data-testid=${testid}>${state}</span>`;
}
