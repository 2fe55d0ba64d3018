import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { navigate } from '../../router.js';
import { formatAgo, humanize } from '../../format.js';
import { DataTable } from '../../components/DataTable.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { StatusBadge } from '../../components/StatusBadge.js';
import { finishedEnrichments } from '../../leadStatus.js';
import { NotSetUpHint } from '../../components/NotSetUp.js';
import { anyNotSetUp, providerOptions, useProviderKeys } from '../../providers.js';
import { changeProps, useCanChange } from '../../roles.js';

export const PROVIDERS = [
  { value: 'sandbox', label: 'Sandbox (demo data)' },
  { value: 'hunter', label: 'Hunter' },
];

const fieldNames = (fields) => (fields && typeof fields === 'object' ? Object.keys(fields) : []);

const columns = (shownError, latest) => [
  { key: 'provider', label: 'Provider' },
  { key: 'status', label: 'Status', render: (r) => html`<${StatusBadge} status=${r.status} />` },
  {
    key: 'fields',
    label: 'Fields',
    render: (r) => {
      const names = fieldNames(r.fields);
      if (!names.length) return html`<span class="muted">none</span>`;
      return html`<span title=${JSON.stringify(r.fields, null, 2)}>
        <strong>${names.length}</strong> <span class="muted small">${names.map(humanize).join(', ')}</span>
      </span>`;
    },
  },
  {
    key: 'error',
    label: 'Error',
    // The latest failure's message is said once, at the lead's status; its row points there.
    render: (r) =>
      !r.error
        ? html`<span class="muted">—</span>`
        : r === latest && r.error === shownError
          ? html`<span class="muted">see above</span>`
          : html`<span class="text-danger">${r.error}</span>`,
  },
  { key: 'createdAt', label: 'When', render: (r) => html`<span title=${r.createdAt}>${formatAgo(r.createdAt)}</span>` },
];

/**
 * Enrich on demand with a chosen provider, and every earlier enrichment.
 * Starting one moves to ?job=<id>, where the page's job watch takes over and
 * reloads the lead until the job is done.
 */
export function EnrichCard({ lead, busy, shownError }) {
  const [provider, setProvider] = useState('sandbox');
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState(null);
  const history = finishedEnrichments(lead.enrichmentHistory);
  // A provider whose key is not set is shown as not set up, not offered (it would be refused with a 503).
  const providers = providerOptions(PROVIDERS, useProviderKeys());
  const canEdit = useCanChange();

  async function onEnrich() {
    setStarting(true);
    setError(null);
    try {
      const { jobId } = await api.post(`/v1/leads/${encodeURIComponent(lead.id)}/enrich`, { provider });
      navigate(`/leads/${encodeURIComponent(lead.id)}?job=${encodeURIComponent(jobId)}`);
    } catch (err) {
      setError(err);
      setStarting(false);
    }
  }

  return html`<article class="card" aria-label="Enrichment">
    <header class="card-head">
      <h2 class="card-subtitle">Enrichment runs</h2>
      <div class="inline-controls">
        <label class="inline-label" for="lead-enrich-provider">Provider</label>
        <select
          id="lead-enrich-provider"
          data-testid="lead-enrich-provider"
          ...${changeProps(canEdit)}
          value=${provider}
          onChange=${(e) => setProvider(e.currentTarget.value)}
        >
          ${providers.map((p) => html`<option key=${p.value} value=${p.value} disabled=${p.disabled}>${p.label}</option>`)}
        </select>
        <button type="button" class="btn btn-primary" data-testid="lead-enrich" ...${changeProps(canEdit, starting || busy)} onClick=${onEnrich}>
          ${starting ? 'Starting…' : busy ? 'Enriching…' : 'Enrich'}
        </button>
      </div>
    </header>
    ${anyNotSetUp(providers) && html`<p class="field-hint">${html`<${NotSetUpHint} testid="lead-enrich-not-set-up" />`}</p>`}
    <${ProblemAlert} error=${error} testid="lead-enrich-error" />
    <${DataTable}
      label="Enrichment history"
      columns=${columns(shownError, history[0])}
      rows=${history}
      rowKey=${(r, i) => r.id || i}
      rowTestId="enrichment-row"
      empty="Not enriched yet."
      compact
    />
  </article>`;
}
