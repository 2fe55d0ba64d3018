// Leads as the sequence pages need them: found by a search of the lead list, and named by id.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
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

// Leads already fetched, by id (null: not found), and those being fetched: a lead named on one page is
// named at once on the next, and never asked for twice at the same time.
const known = new Map();
const pending = new Map();

function fetchLead(id) {
  if (!pending.has(id)) {
    const asked = api.get(`/v1/leads/${encodeURIComponent(id)}`).then(
      (lead) => known.set(id, lead),
      (error) => error.status === 404 && known.set(id, null), // anything else: asked again next time
    );
    pending.set(id, asked.finally(() => pending.delete(id)));
  }
  return pending.get(id);
}

/** { [leadId]: the lead, null when it does not exist, undefined until it is known } for these ids. */
export function useLeadsById(ids) {
  const [, setVersion] = useState(0);
  const missing = [...new Set(ids)].filter((id) => !known.has(id));
  const key = missing.join(',');
  useEffect(() => {
    if (!missing.length) return undefined;
    let live = true;
    Promise.all(missing.map(fetchLead)).then(() => live && setVersion((v) => v + 1));
    return () => {
      live = false;
    };
  }, [key]);
  return Object.fromEntries(ids.map((id) => [id, known.get(id)]));
}

/** Remember leads the page already has (a search's results), so they need no fetch to be named. */
export function rememberLeads(leads) {
  for (const lead of leads) known.set(lead.id, lead);
}

/** A lead's name as a link to its page; "deleted lead" for one that is gone. */
export function LeadName({ id, lead }) {
  if (lead === null) return html`<span class="muted">deleted lead</span>`;
  return html`<a class="strong-link" href=${`#/leads/${encodeURIComponent(id)}`}>${lead ? personName(lead) : `${id.slice(0, 8)}…`}</a>`;
}
