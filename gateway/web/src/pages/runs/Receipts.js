import { html } from 'htm/preact';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { formatTime } from '../../format.js';
import { Detail } from '../../components/Detail.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { Drawer } from './Drawer.js';
import { formatLatency, formatSpan, isHttpsLink, receiptIds, receiptKind, receiptStatus } from './model.js';

/** When a meeting is (booked, or chosen in a dry run), or the span a slot search found nothing in. */
function When({ receipt }) {
  const span = formatSpan(receipt.startsAt, receipt.endsAt);
  if (!span) return null;
  const label = receipt.status === 'no_slot' ? 'Looked in' : 'When';
  return html`<div><dt>${label}</dt><dd data-testid="receipt-when">${span}</dd></div>`;
}

// The ids a receipt names (a message's, a task's, its own) are for support and the API, not for reading: folded
// under "Details", as a lead's ids are.
function Ids({ receipt }) {
  return html`<details class="alert-more receipt-ids" data-testid="receipt-ids">
    <summary>Details</summary>
    <dl class="details">
      ${receiptIds(receipt).map(
        ([label, value]) => html`<${Detail} key=${label} label=${label} wide value=${html`<code class="receipt-target" data-testid=${label === 'Receipt ID' ? undefined : 'receipt-target'}>${value}</code>`} />`,
      )}
    </dl>
  </details>`;
}

/** One receipt: what the action was and how it ended, in words; its times in the reader's own zone. */
function ReceiptCard({ receipt: r }) {
  const status = receiptStatus(r);
  const link = isHttpsLink(r.target) ? r.target : null;
  return html`<li class="receipt" data-testid="receipt">
    <div class="receipt-head">
      <strong data-testid="receipt-kind">${receiptKind(r.kind)}</strong>
      <span class="badge badge-${status.tone}" data-testid="receipt-status">${status.words}</span>
    </div>
    <dl class="receipt-facts">
      <${When} receipt=${r} />
      ${link &&
      html`<div class="receipt-fact-wide"><dt>Event</dt><dd>
        <a href=${link} target="_blank" rel="noopener noreferrer" class="receipt-link" data-testid="receipt-link">${link}</a>
      </dd></div>`}
      ${r.detail && html`<div class="receipt-fact-wide"><dt>Detail</dt><dd data-testid="receipt-detail">${r.detail}</dd></div>`}
      ${r.kind === 'call_task' && r.status === 'created' &&
      html`<div><dt>Task</dt><dd><a href="#/tasks" data-testid="receipt-task-link">In Tasks</a></dd></div>`}
      ${r.error && html`<div class="receipt-fact-wide"><dt>Error</dt><dd class="text-danger" data-testid="receipt-error">${r.error}</dd></div>`}
      <div><dt>Latency</dt><dd data-testid="receipt-latency">${formatLatency(r.latencyMs)}</dd></div>
      <div><dt>Attempt</dt><dd data-testid="receipt-attempt">${r.attempt}</dd></div>
      <div><dt>At</dt><dd><time datetime=${r.createdAt} data-testid="receipt-at">${formatTime(r.createdAt)}</time></dd></div>
    </dl>
    <${Ids} receipt=${r} />
  </li>`;
}

/** What each of one lead's actions in a run did, newest last: one card per receipt (a phone reads them too). */
export function ReceiptsDrawer({ runId, lead, onClose }) {
  const path = `/v1/lead-runs/${encodeURIComponent(runId)}/leads/${encodeURIComponent(lead.leadId)}/receipts`;
  const { data, error, loading } = useLoad(() => api.get(path), [path]);
  const receipts = data?.receipts || [];
  return html`<${Drawer} title=${`Receipts · ${lead.name || lead.email || 'lead'}`} onClose=${onClose} testid="receipts-drawer">
    <p class="muted small">${[lead.companyName, lead.email].filter(Boolean).join(' · ')}</p>
    <${ProblemAlert} error=${error} testid="receipts-error" />
    ${loading && !data && html`<${Spinner} label="Loading receipts…" />`}
    ${data && receipts.length === 0 && html`<p class="muted">No receipt yet: this lead has not been worked.</p>`}
    <ol class="receipts">
      ${receipts.map((r) => html`<${ReceiptCard} key=${r.id} receipt=${r} />`)}
    </ol>
  <//>`;
}
