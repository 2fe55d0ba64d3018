import { html } from 'htm/preact';
import { formatTime } from '../../format.js';
import { ProgressBar } from '../../components/ProgressBar.js';
import { gauge, shortId } from './model.js';

function Gauge({ label, current, max, testid, children }) {
  const g = gauge(current, max);
  return html`<div class=${g.full ? 'gauge gauge-full' : 'gauge'}>
    <div class="gauge-head">
      <span class="tile-label">${label}</span>
      <span class="gauge-value" data-testid=${testid}>${g.current} / ${g.max}</span>
    </div>
    <${ProgressBar} label=${label} value=${g.current} max=${g.max} percent=${g.percent} />
    ${children}
  </div>`;
}

/** The org's quota: runs and leads used today of their daily limits, and the active runs of their cap, named. */
export function QuotaGauges({ quota, icpNames = {}, runsById = {} }) {
  if (!quota) return null;
  const active = quota.activeRunIds || [];
  return html`<section class="card gauges-card" aria-label="Quota">
    <div class="gauges">
      <${Gauge} label="Runs today" current=${quota.runsToday} max=${quota.maxRunsPerDay} testid="quota-runs" />
      <${Gauge} label="Leads today" current=${quota.leadsToday} max=${quota.maxLeadsPerDay} testid="quota-leads" />
      <${Gauge} label="Active runs" current=${quota.activeRuns} max=${quota.maxActiveRuns} testid="quota-active">
        <ul class="gauge-runs" data-testid="quota-active-runs">
          ${active.length === 0 && html`<li class="muted small">None running</li>`}
          ${active.map((id) => {
            const icp = icpNames[runsById[id]?.icpId];
            return html`<li key=${id} class="small">
              <a href=${`#/runs/${encodeURIComponent(id)}`}>${icp || 'Run'} <span class="mono muted">${shortId(id)}</span></a>
            </li>`;
          })}
        </ul>
      <//>
    </div>
    ${quota.resetsAt && html`<p class="muted small gauges-note">Daily quotas reset ${formatTime(quota.resetsAt)}.</p>`}
  </section>`;
}
