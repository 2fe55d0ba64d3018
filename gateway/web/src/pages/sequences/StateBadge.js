import { html } from 'htm/preact';

// Sequences', enrollments' and tasks' states, coloured by meaning with the badges every page uses.
const TONES = {
  draft: 'neutral',
  active: 'active',
  paused: 'warn',
  archived: 'neutral',
  completed: 'success',
  replied: 'success',
  meeting_booked: 'success',
  bounced: 'danger',
  unsubscribed: 'neutral',
  failed: 'danger',
  stopped: 'neutral',
  open: 'active',
  done: 'success',
};

/** A pill naming the state ("meeting booked" for meeting_booked); `data-state` carries the word itself. */
export function StateBadge({ state, testid }) {
  return html`<span class=${`badge badge-${TONES[state] || 'neutral'}`} data-testid=${testid} data-state=${state}>${state.replace('_', ' ')}</span>`;
}
