import { html } from 'htm/preact';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { formatTime } from '../../format.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { Drawer } from './Drawer.js';
import { formatLatency, isHttpsLink, outcomeTone } from './model.js';

/** A receipt's target: a link to follow when it is https (a booked event), else the id it names. */
function Target({ value }) {
  if (!value) return html`<span class="muted">—</span>`;
  if (isHttpsLink(value)) {
    return html`<a href=${value} target="_blank" rel="noopener noreferrer" class="receipt-link" data-testid="receipt-link">${value}</a>`;
  }
  return html`<span class="mono small receipt-target" data-testid="receipt-target">${value}</span>`;
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
      ${receipts.map(
        (r) => html`<li key=${r.id} class="receipt" data-testid="receipt">
          <div class="receipt-head">
            <strong data-testid="receipt-kind">${r.kind.replace(/_/g, ' ')}</strong>
            <span class="badge badge-${outcomeTone(r.status)}" data-testid="receipt-status">${r.status}</span>
            ${r.simulated && html`<span class="badge badge-neutral" data-testid="receipt-simulated">simulated</span>`}
          </div>
          <dl class="receipt-facts">
            <div><dt>Link</dt><dd><${Target} value=${r.target} /></dd></div>
            ${r.detail && html`<div><dt>Detail</dt><dd>${r.detail}</dd></div>`}
            ${r.error && html`<div><dt>Error</dt><dd class="text-danger" data-testid="receipt-error">${r.error}</dd></div>`}
            <div><dt>Latency</dt><dd data-testid="receipt-latency">${formatLatency(r.latencyMs)}</dd></div>
            <div><dt>Attempt</dt><dd data-testid="receipt-attempt">${r.attempt}</dd></div>
            <div><dt>At</dt><dd><time datetime=${r.createdAt}>${formatTime(r.createdAt)}</time></dd></div>
          </dl>
        </li>`,
      )}
    </ol>
  <//>`;
}
