import { html } from 'htm/preact';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { humanize } from '../../format.js';
import { DataTable } from '../../components/DataTable.js';
import { ScoreBadge } from '../../components/ScoreBadge.js';

const COLUMNS = [
  { key: 'rule', label: 'Rule', render: (r) => humanize(r.rule) },
  {
    key: 'matched',
    label: 'Matched',
    render: (r) =>
      r.matched
        ? html`<span class="match match-yes" aria-label="matched">✓</span>`
        : html`<span class="match match-no" aria-label="not matched">✗</span>`,
  },
  {
    key: 'weight',
    label: 'Weight',
    align: 'right',
    render: (r) => html`<span class=${r.matched ? '' : 'muted'}>${r.weight}</span>`,
  },
  { key: 'detail', label: 'Detail', render: (r) => r.detail || html`<span class="muted">—</span>` },
];

/** The lead's score, why it got it (one row per rule), and whether it is filtered. */
export function ScoreCard({ lead }) {
  const rows = lead.scoreExplanation || [];
  // The ICP, for its name and minimum score; the card works without it. Deleting an ICP keeps the
  // leads it sourced, still naming it: a 404 here means it was deleted, not that the lead is wrong.
  const icpLoad = useLoad(
    () => (lead.icpId ? api.get(`/v1/icps/${encodeURIComponent(lead.icpId)}`) : Promise.resolve(null)),
    [lead.icpId],
  );
  const icp = icpLoad.data;
  const icpDeleted = icpLoad.error?.status === 404;
  const earned = rows.filter((r) => r.matched).reduce((n, r) => n + (Number(r.weight) || 0), 0);
  const possible = rows.reduce((n, r) => n + (Number(r.weight) || 0), 0);

  return html`<article class="card" aria-label="Score">
    <header class="card-head">
      <div>
        <h2 class="card-subtitle">Score</h2>
        <p class="muted small">
          ${!lead.icpId
            ? 'Not linked to an ICP.'
            : icpDeleted
              ? html`<span data-testid="lead-icp-deleted">Against an ICP that has since been deleted.</span>`
              : html`Against ICP${' '}<a href=${`#/icps/${encodeURIComponent(lead.icpId)}`}>${icp?.name || 'this lead’s ICP'}</a>${icp && ` (minimum ${icp.minScore})`}`}
        </p>
      </div>
      <div class="score-big"><${ScoreBadge} score=${lead.score} filtered=${lead.filtered} testid="lead-score" /></div>
    </header>
    ${lead.filtered &&
    html`<div class="alert alert-warn" data-testid="lead-filtered">
      <strong class="alert-title">Filtered</strong>
      <p class="alert-detail">${filteredText(icp)}</p>
    </div>`}
    ${rows.length > 0
      ? html`<${DataTable} label="Score explanation" columns=${COLUMNS} rows=${rows} rowKey=${(r, i) => `${i}:${r.rule}`} rowTestId="score-row" rowClass=${(r) => (r.matched ? '' : 'row-muted')} compact />
          <p class="muted small score-sum">Matched rules add up to ${earned} of ${possible} points.</p>`
      : html`<p class="muted">No score explanation for this lead.</p>`}
  </article>`;
}

const filteredText = (icp) =>
  `This lead scored below ${icp ? `the ICP’s minimum of ${icp.minScore}` : 'its ICP’s minimum score'}. ` +
  'It is kept, but hidden from the leads list unless you choose to show filtered leads.';
