// Leads as the sequence pages need them: found by a search of the lead list, and named as their lists carry them.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useDebounced, useLoad } from '../../hooks.js';
import { personName } from '../../format.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';

/**
 * A search of the lead list with a checkbox (or, with `single`, a radio) per lead found.
 * `selected` holds the chosen leads by id; onToggle(lead, on) changes it.
 */
export function LeadSearch({ idPrefix, selected, onToggle, single = false, label = 'Find leads', limit = 20 }) {
  const [q, setQ] = useState('');
  const query = useDebounced(q.trim(), 250);
  const found = useLoad(
    () => api.get(`/v1/leads?${new URLSearchParams({ q: query, limit: String(limit), sort: '-createdAt' })}`),
    [query],
  );
  const leads = found.data?.items || [];
  return html`<div class="lead-search">
    <div class="field">
      <label for=${`${idPrefix}-q`}>${label}</label>
      <input
        id=${`${idPrefix}-q`}
        type="search"
        data-testid=${`${idPrefix}-search`}
        placeholder="Name, company or email"
        value=${q}
        onInput=${(e) => setQ(e.currentTarget.value)}
      />
    </div>
    <${ProblemAlert} error=${found.error} testid=${`${idPrefix}-error`} />
    ${found.loading && !found.data && html`<${Spinner} label="Finding leads…" />`}
    ${found.data && !leads.length && html`<p class="muted small">No lead matches.</p>`}
    <ul class=${found.loading ? 'pick-list is-stale' : 'pick-list'} aria-label="Leads found">
      ${leads.map(
        (lead) => html`<li key=${lead.id}>
          <label class="pick" data-testid=${`${idPrefix}-option`}>
            <input
              type=${single ? 'radio' : 'checkbox'}
              name=${`${idPrefix}-pick`}
              checked=${selected.has(lead.id)}
              onChange=${(e) => onToggle(lead, e.currentTarget.checked)}
            />
            <span class="pick-name">${personName(lead)}</span>
            <span class="muted small">${lead.email || 'no email'}${lead.companyName ? ` · ${lead.companyName}` : ''}</span>
          </label>
        </li>`,
      )}
    </ul>
  </div>`;
}

/**
 * A lead's name as a link to its page, from the brief the list carries (`{ name, email }`, read by the
 * gateway once per page): "deleted lead" for one that is gone (null); its id's start until a brief is given.
 */
export function LeadName({ id, lead }) {
  if (lead === null) return html`<span class="muted" data-testid="lead-deleted">deleted lead</span>`;
  const shown = lead ? lead.name || lead.email || 'Unnamed lead' : `${id.slice(0, 8)}…`;
  return html`<a class="strong-link" href=${`#/leads/${encodeURIComponent(id)}`}>${shown}</a>`;
}
