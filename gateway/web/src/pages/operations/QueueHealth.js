import { html } from 'htm/preact';
import { formatAgo, formatTime } from '../../format.js';
import { CounterTile } from '../../components/CounterTile.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { formatSeconds } from '../runs/model.js';

const COUNTS = [
  { key: 'pending', label: 'Pending' },
  { key: 'running', label: 'Running' },
  { key: 'retries', label: 'Retries', tone: 'warn' },
  { key: 'failures', label: 'Failures', tone: 'danger' },
  { key: 'staleRecoveries', label: 'Stale recoveries', tone: 'warn', hint: 'Leases taken back from workers that stopped answering' },
  { key: 'deadLetters', label: 'Dead letters', tone: 'danger' },
];

/** The lead-run queue: the oldest due lead's wait against its threshold, the counts, and each worker's heartbeat. */
export function QueueHealth({ health }) {
  const h = health.data;
  return html`<section class="card" aria-label="Queue health">
    <header class="card-head">
      <h2 class="card-heading">Queue health</h2>
      ${h &&
      html`<span class=${h.breached ? 'badge badge-danger' : 'badge badge-success'} data-testid="queue-breached">
        ${h.breached ? 'breached' : 'healthy'}
      </span>`}
    </header>
    <${ProblemAlert} error=${health.error} testid="queue-health-error" />
    ${!h && !health.error && html`<${Spinner} label="Loading…" />`}
    ${h &&
    html`<p class=${h.breached ? 'queue-age queue-age-breached' : 'queue-age'}>
        Oldest pending: <strong data-testid="queue-oldest">${formatSeconds(h.oldestPendingAgeS)}</strong>
        <span class="muted"> · threshold <span data-testid="queue-threshold">${formatSeconds(h.queueAgeThresholdS)}</span></span>
      </p>
      <div class="tiles tiles-6">
        ${COUNTS.map((c) => html`<${CounterTile} key=${c.key} label=${c.label} value=${h[c.key]} tone=${c.tone} hint=${c.hint} testid=${`queue-${c.key}`} />`)}
      </div>
      <h3 class="subheading">Workers</h3>
      ${h.workers.length === 0
        ? html`<p class="muted small" data-testid="queue-no-workers">No worker has reported yet.</p>`
        : html`<ul class="workers">
            ${h.workers.map(
              (w) => html`<li key=${w.worker} data-testid="queue-worker">
                <span class="mono small worker-name">${w.worker}</span>
                <span class="small">${w.running} running</span>
                <span class="muted small" title=${formatTime(w.lastHeartbeatAt)}>heartbeat ${formatAgo(w.lastHeartbeatAt)}</span>
              </li>`,
            )}
          </ul>`}`}
  </section>`;
}
