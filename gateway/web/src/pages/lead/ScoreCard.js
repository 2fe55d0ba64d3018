import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { humanize } from '../../format.js';
import { DataTable } from '../../components/DataTable.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { ScoreBadge } from '../../components/ScoreBadge.js';
import { changeProps, useCanChange } from '../../roles.js';

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

/** The lead's score, why it got it (one row per rule), and whether it is filtered; linking it to an ICP (or
 * another one) and scoring it again. onScored(lead) with the lead as it now is. */
export function ScoreCard({ lead, onScored }) {
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
    <${LinkIcp} lead=${lead} icpDeleted=${icpDeleted} onScored=${onScored} />
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

/**
 * Link the lead to an ICP and score it by its rules, or score it again by its ICP's current rules (after the ICP
 * changed).
 */
function LinkIcp({ lead, icpDeleted, onScored }) {
  const canEdit = useCanChange();
  const [icpId, setIcpId] = useState('');
  const [busy, setBusy] = useState(false);
  const [said, setSaid] = useState(null);
  const [error, setError] = useState(null);
  const icps = useLoad(() => api.get('/v1/icps'), []);
  const items = icps.data?.items || [];
  const chosen = icpId || (lead.icpId && !icpDeleted ? lead.icpId : '');
  const relinking = chosen && chosen !== lead.icpId;

  async function onScore(e) {
    e.preventDefault();
    if (!chosen) return;
    setBusy(true);
    setError(null);
    setSaid(null);
    try {
      const before = lead.score;
      const scored = await api.post(`/v1/leads/${encodeURIComponent(lead.id)}/score`, relinking ? { icpId: chosen } : {});
      const name = items.find((i) => i.id === chosen)?.name || 'the ICP';
      setSaid(`${relinking ? `Linked to ${name} and scored` : 'Scored again'}: ${before === scored.score ? `still ${scored.score}` : `${before} → ${scored.score}`}.`);
      setIcpId('');
      onScored(scored);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return html`<form class="inline-controls link-icp" onSubmit=${onScore} aria-label="Score against an ICP">
    <label class="inline-label" for="lead-icp-select">${lead.icpId && !icpDeleted ? 'ICP' : 'Link to an ICP'}</label>
    <select id="lead-icp-select" data-testid="lead-icp-select" value=${chosen} ...${changeProps(canEdit, busy)} onChange=${(e) => setIcpId(e.currentTarget.value)}>
      ${!chosen && html`<option value="">${icps.loading ? 'Loading ICPs…' : items.length ? 'Choose an ICP…' : 'No ICPs yet'}</option>`}
      ${items.map((i) => html`<option key=${i.id} value=${i.id}>${i.name}</option>`)}
    </select>
    <button type="submit" class="btn btn-secondary btn-sm" data-testid="lead-score-submit" ...${changeProps(canEdit, busy || !chosen)}>
      ${busy ? 'Scoring…' : relinking ? 'Link and score' : lead.icpId ? 'Score again' : 'Score'}
    </button>
    ${said && html`<span class="muted small" role="status" data-testid="lead-score-result">${said}</span>`}
    <${ProblemAlert} error=${error || icps.error} testid="lead-score-error" />
  </form>`;
}
