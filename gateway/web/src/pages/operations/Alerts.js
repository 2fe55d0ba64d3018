import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { formatAgo, formatTime, humanize } from '../../format.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { shortId } from '../runs/model.js';
import { changeProps, useCanChange } from '../../roles.js';

const STATE_TONES = { open: 'danger', acknowledged: 'warn', resolved: 'success' };

/** Open and acknowledged alerts, newest first, with their escalation; acknowledge (someone is on it) or resolve. */
export function Alerts({ alerts }) {
  const [acting, setActing] = useState({ id: null, error: null });
  const canEdit = useCanChange();
  const items = alerts.data?.alerts || [];

  async function act(alert, verb) {
    setActing({ id: alert.id, error: null });
    try {
      const updated = await api.post(`/v1/lead-runs/alerts/${encodeURIComponent(alert.id)}/${verb}`);
      alerts.setData((d) => ({
        ...d,
        alerts: updated.state === 'resolved' ? d.alerts.filter((a) => a.id !== alert.id) : d.alerts.map((a) => (a.id === alert.id ? updated : a)),
      }));
      setActing({ id: null, error: null });
    } catch (error) {
      setActing({ id: null, error });
    }
  }

  return html`<section class="card" aria-label="Alerts">
    <header class="card-head">
      <h2 class="card-heading">Alerts</h2>
      <span class="muted small">${items.length} open or acknowledged</span>
    </header>
    <${ProblemAlert} error=${alerts.error || acting.error} testid="alerts-error" />
    ${!alerts.data && !alerts.error && html`<${Spinner} label="Loading…" />`}
    ${alerts.data && items.length === 0 && html`<p class="muted" data-testid="alerts-empty">No open alert.</p>`}
    <ul class="alert-items">
      ${items.map(
        (a) => html`<li key=${a.id} class="alert-item" data-testid="alert-row">
          <div class="alert-item-head">
            <strong data-testid="alert-kind">${humanize(a.kind)}</strong>
            <span class="badge badge-${STATE_TONES[a.state] || 'neutral'}" data-testid="alert-state">${a.state}</span>
            ${a.escalatedAt &&
            html`<span class="badge badge-danger" data-testid="alert-escalated" title=${`Escalated ${formatTime(a.escalatedAt)}`}>escalated</span>`}
          </div>
          <p class="alert-item-message" data-testid="alert-message">${a.message}</p>
          <dl class="alert-facts">
            <div><dt>Created</dt><dd title=${formatTime(a.createdAt)}>${formatAgo(a.createdAt)}</dd></div>
            <div>
              <dt>Escalation</dt>
              <dd data-testid="alert-escalation">
                ${a.escalatedAt
                  ? html`${a.escalationStatus || '—'}${a.escalationRoute && html` to <span class="mono">${a.escalationRoute}</span>`}
                      <span class="muted"> · ${formatTime(a.escalatedAt)}</span>`
                  : html`<span class="muted">not escalated</span>`}
              </dd>
            </div>
            ${a.runIds.length > 0 &&
            html`<div>
              <dt>Runs</dt>
              <dd class="alert-runs">
                ${a.runIds.map((id) => html`<a key=${id} class="mono small" data-testid="alert-run" href=${`#/runs/${encodeURIComponent(id)}`}>${shortId(id)}</a>`)}
              </dd>
            </div>`}
          </dl>
          <div class="button-row">
            ${a.state === 'open' &&
            html`<button type="button" class="btn btn-secondary btn-sm" data-testid="alert-acknowledge" ...${changeProps(canEdit, acting.id === a.id)} onClick=${() => act(a, 'acknowledge')}>
              Acknowledge
            </button>`}
            <button type="button" class="btn btn-secondary btn-sm" data-testid="alert-resolve" ...${changeProps(canEdit, acting.id === a.id)} onClick=${() => act(a, 'resolve')}>
              Resolve
            </button>
          </div>
        </li>`,
      )}
    </ul>
  </section>`;
}
