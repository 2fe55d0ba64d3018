import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { isHttpUrl } from '../../format.js';
import { appliedWords, leadFieldWords, leadValueWords, sizeWords } from '../../words.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { changeProps, useCanChange } from '../../roles.js';

// What a row's state says about which value holds, and how it looks.
const HOLDS = {
  same: { word: 'Same', tone: 'success', help: 'The lead already holds the provider’s value.' },
  offered: { word: 'The lead’s own', tone: 'neutral', help: 'The provider’s value is not used until you apply it.' },
  edited: { word: 'Your edit', tone: 'active', help: 'You edited this by hand: a hand edit always holds.' },
};
// Enrichment fields that are facts about the lead's email address, not values of its fields.
const OTHER = ['emailScore', 'emailStatus', 'suggestedEmail'];

/** The lead's own value of a field, in words. */
export function ownWords(lead, field) {
  if (field === 'companySize') return sizeWords(lead.companySize, lead.companySizeMax);
  return leadValueWords(field, lead[field]);
}

const shown = (field, text) =>
  field === 'linkedinUrl' && isHttpUrl(text) ? html`<a href=${text} target="_blank" rel="noopener noreferrer">${text}</a>` : text;

/**
 * What enrichment found for the lead's own fields, beside the lead's values, with which one holds; the provider's
 * values can be applied all at once or field by field (never over a hand edit), and the lead is scored again.
 * onApplied(lead) with the lead as it now is.
 */
export function ProviderCard({ lead, onApplied }) {
  const canEdit = useCanChange(); // a viewer sees what enrichment found; applying it is a change
  const [busy, setBusy] = useState(null); // the field being applied, or 'all'
  const [said, setSaid] = useState(null);
  const [error, setError] = useState(null);
  const rows = lead.providerValues || [];
  const offered = rows.filter((r) => r.state === 'offered');
  const others = OTHER.filter((key) => lead.enrichment?.[key] !== undefined && lead.enrichment[key] !== '');
  if (!rows.length && !others.length) return null;

  async function apply(field) {
    setBusy(field || 'all');
    setError(null);
    setSaid(null);
    try {
      const body = field ? { fields: [field] } : {};
      const result = await api.post(`/v1/leads/${encodeURIComponent(lead.id)}/apply-enrichment`, body);
      const before = lead.icpId ? lead.score : undefined;
      setSaid(appliedWords(result.applied, result.kept, before, result.rescored ? result.lead.score : undefined));
      onApplied(result.lead);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  }

  return html`<article class="card" aria-label="What enrichment found" data-testid="lead-enrichment">
    <header class="card-head">
      <div>
        <h2 class="card-subtitle">What enrichment found</h2>
        <p class="muted small">
          The lead’s own values hold until you apply the provider’s; the score is worked out from the lead’s own.
          ${!lead.icpId && ' Link the lead to an ICP (under Score) to score it.'}
        </p>
      </div>
      ${offered.length > 0 &&
      html`<button type="button" class="btn btn-primary" data-testid="provider-apply-all" ...${changeProps(canEdit, busy !== null)} onClick=${() => apply(null)}>
        ${busy === 'all' ? 'Applying…' : `Apply all the provider’s values (${offered.length})`}
      </button>`}
    </header>
    ${said && html`<p class="bulk-result" role="status" data-testid="provider-apply-result">${said}</p>`}
    <${ProblemAlert} error=${error} testid="provider-apply-error" />
    ${rows.length > 0 &&
    html`<div class="table-wrap">
      <table class="table table-compact">
        <caption class="visually-hidden">The provider’s values beside the lead’s, and which holds</caption>
        <thead>
          <tr><th scope="col">Field</th><th scope="col">The lead’s</th><th scope="col">The provider’s</th><th scope="col">Which holds</th><th scope="col"><span class="visually-hidden">Action</span></th></tr>
        </thead>
        <tbody>
          ${rows.map((r) => {
            const holds = HOLDS[r.state] || HOLDS.offered;
            return html`<tr key=${r.field} data-testid="provider-value" data-field=${r.field}>
              <th scope="row">${leadFieldWords(r.field)}</th>
              <td data-testid="provider-value-own">${shown(r.field, ownWords(lead, r.field)) || html`<span class="muted">none</span>`}</td>
              <td data-testid="provider-value-theirs">${shown(r.field, leadValueWords(r.field, r.value))}</td>
              <td><span class="badge badge-${holds.tone}" title=${holds.help} data-testid="provider-value-holds">${holds.word}</span></td>
              <td>
                ${r.state === 'offered' &&
                html`<button
                  type="button"
                  class="btn btn-secondary btn-sm"
                  data-testid="provider-apply"
                  aria-label=${`Use the provider’s ${leadFieldWords(r.field).toLowerCase()}`}
                  ...${changeProps(canEdit, busy !== null)}
                  onClick=${() => apply(r.field)}
                >
                  ${busy === r.field ? 'Applying…' : 'Use the provider’s'}
                </button>`}
              </td>
            </tr>`;
          })}
        </tbody>
      </table>
    </div>`}
    ${others.length > 0 &&
    html`<dl class="details" data-testid="provider-other">
      ${others.map(
        (key) => html`<div class="detail" key=${key}><dt>${leadFieldWords(key)}</dt><dd>${leadValueWords(key, lead.enrichment[key])}</dd></div>`,
      )}
    </dl>`}
  </article>`;
}
