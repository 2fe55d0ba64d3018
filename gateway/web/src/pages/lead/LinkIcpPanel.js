// The leads table's bulk action "Link to ICP": choose an ICP, link the selected leads to it and score them by its
// rules, or score them again by their own ICPs' current rules.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { bulkWords, parts } from '../../leadBulk.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Select } from '../../components/Select.js';
import { Spinner } from '../../components/Spinner.js';

const OWN = ''; // the choice "each lead's own ICP"
const PER_CALL = 500; // the gateway's bulk routes take at most 500 ids

/** Scores the leads in calls of PER_CALL: the counts over all calls. */
export async function scoreLeads(leadIds, icpId) {
  const total = { scored: 0, filtered: 0, notFound: 0, notLinked: 0, icpDeleted: 0 };
  for (const part of parts(leadIds, PER_CALL)) {
    const reply = await api.post('/v1/leads/bulk-score', icpId ? { leadIds: part, icpId } : { leadIds: part });
    for (const key of Object.keys(total)) total[key] += reply[key] || 0;
  }
  return total;
}

/**
 * leadIds: the selection, in the table's order; icps: the org's ICPs (the table's filter already has them).
 * onDone(words) with what was done, in words, once the leads are scored; onClose() to put it away.
 */
export function LinkIcpPanel({ leadIds, icps, onDone, onClose }) {
  const items = icps || [];
  const [icpId, setIcpId] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const chosen = icpId ?? items[0]?.id ?? OWN;
  const n = leadIds.length;

  async function onSubmit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const result = await scoreLeads(leadIds, chosen);
      const icpName = chosen ? items.find((i) => i.id === chosen)?.name || 'the ICP' : '';
      onDone(bulkWords('score', { ...result, icpName }));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return html`<form class="card enroll-panel" aria-label="Link to an ICP" onSubmit=${onSubmit} data-testid="link-icp-panel">
    <header class="card-head">
      <h2 class="card-subtitle">Link ${n} ${n === 1 ? 'lead' : 'leads'} to an ICP and score ${n === 1 ? 'it' : 'them'}</h2>
      <button type="button" class="btn btn-ghost btn-sm" onClick=${onClose}>Close</button>
    </header>
    <p class="muted small">
      Each lead is scored by the ICP’s rules against its own values; leads under the ICP’s minimum score are kept and
      shown with the filtered leads.
    </p>
    ${!icps && html`<${Spinner} label="Loading ICPs…" />`}
    <div class="inline-controls">
      <${Select}
        id="link-icp"
        label="ICP"
        testid="link-icp-select"
        value=${chosen}
        disabled=${busy}
        options=${[...items.map((i) => ({ value: i.id, label: i.name })), { value: OWN, label: 'Each lead’s own ICP (score again)' }]}
        onChange=${setIcpId}
      />
      <button type="submit" class="btn btn-primary" data-testid="link-icp-submit" disabled=${busy}>
        ${busy ? 'Scoring…' : chosen ? 'Link and score' : 'Score again'}
      </button>
    </div>
    ${icps && !items.length && html`<p class="muted">No ICP yet. <a href="#/icps/new">Create one</a>.</p>`}
    <${ProblemAlert} error=${error} testid="link-icp-error" />
  </form>`;
}
