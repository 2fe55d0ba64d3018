import { html } from 'htm/preact';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { DataTable } from '../../components/DataTable.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { useLiveRefresh } from '../../live.js';
import { formatCount } from '../runs/model.js';

// Sends and replies happen in the background: the counts keep themselves current, as the enrollments do.
const CHANNEL_LABELS = { email: 'Email', sms: 'SMS', call_task: 'Call task' };
// A call step sends nothing: it makes a task for each lead it reaches (counted under Call tasks).
const COUNTS = [
  ['sent', 'Sent'],
  ['tasks', 'Call tasks'],
  ['replied', 'Replied'],
  ['bounced', 'Bounced'],
  ['unsubscribed', 'Unsubscribed'],
  ['skipped', 'Skipped'],
];
const SUMMARY = [
  ['total', 'enrolled'],
  ['active', 'active'],
  ['paused', 'paused'],
  ['completed', 'completed'],
  ['replied', 'replied'],
  ['bounced', 'bounced'],
  ['unsubscribed', 'unsubscribed'],
  ['meetingBooked', 'meeting booked'],
  ['stopped', 'stopped'],
  ['failed', 'failed'],
];

/** Per step and per A/B variant: sent, call tasks, replied, bounced, unsubscribed, skipped; the enrollments by state above. */
export function Progress({ sequence }) {
  const url = `/v1/sequences/${encodeURIComponent(sequence.id)}/stats`;
  const { data: stats, error, reload } = useLoad(() => api.get(url), [url, sequence.updatedAt]);
  useLiveRefresh(reload, { match: (e) => e.type.startsWith('sequences.') && e.data.sequenceId === sequence.id });

  const rows = stats ? stats.steps.flatMap((step) => [stepRow(step), ...step.variants.map((v) => variantRow(step, v))]) : [];
  const columns = [
    { key: 'label', label: 'Step', render: (r) => html`<span class=${r.variant ? 'muted' : undefined} data-testid="progress-label">${r.label}</span>` },
    ...COUNTS.map(([key, label]) => ({
      key,
      label,
      align: 'right',
      render: (r) => html`<span data-testid=${`progress-${key}`}>${formatCount(r[key])}</span>`,
    })),
  ];
  const before = stats?.beforeFirstStep;
  const stoppedBefore = before ? before.replied + before.bounced + before.unsubscribed + before.meetingBooked : 0;
  return html`<article class="card card-flush" aria-label="Progress">
    <header class="card-head card-head-pad">
      <h2 class="card-subtitle">Progress</h2>
      ${stats &&
      html`<p class="muted small" data-testid="progress-summary">
        ${SUMMARY.filter(([key]) => key === 'total' || stats.enrollments[key] > 0)
          .map(([key, word]) => `${formatCount(stats.enrollments[key])} ${word}`)
          .join(' · ')}
      </p>`}
    </header>
    <${ProblemAlert} error=${error} testid="progress-error" />
    ${stats &&
    html`<${DataTable}
      label="Progress per step"
      columns=${columns}
      rows=${rows}
      rowKey=${(r) => r.key}
      rowTestId="progress-row"
      compact=${true}
    />`}
    ${stoppedBefore > 0 &&
    html`<p class="muted small card-pad" data-testid="progress-before">
      ${formatCount(stoppedBefore)} stopped before their first step (a reply, a bounce or an unsubscribe from elsewhere).
    </p>`}
    <p class="muted small card-pad" data-testid="progress-rule">
      A lead who replies, bounces or unsubscribes is counted once, at the last step it received on the channel it
      answered: a reply to an email at the last email it was sent, even when a text or a call task came after.
    </p>
  </article>`;
}

function stepRow(step) {
  const name = step.removed ? 'Removed step' : `${step.ordinal}. ${CHANNEL_LABELS[step.channel] || step.channel}`;
  return { key: step.stepId, label: name, variant: false, ...step };
}

function variantRow(step, variant) {
  return { key: `${step.stepId}:${variant.variantId}`, label: `↳ ${variant.name || 'Variant'}`, variant: true, ...variant };
}
