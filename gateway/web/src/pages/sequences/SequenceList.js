import { html } from 'htm/preact';
import { usePagedList } from '../../pagedList.js';
import { navigate } from '../../router.js';
import { formatAgo } from '../../format.js';
import { DataTable } from '../../components/DataTable.js';
import { ListTotal, LoadMore } from '../../components/ListTotal.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { useCanChange } from '../../roles.js';
import { StateBadge } from './StateBadge.js';
import { stepsSummary, windowText } from './model.js';

const sequenceHref = (s) => `#/sequences/${encodeURIComponent(s.id)}`;

const COLUMNS = [
  { key: 'name', label: 'Name', render: (s) => html`<a class="strong-link" href=${sequenceHref(s)}>${s.name}</a>` },
  { key: 'state', label: 'State', render: (s) => html`<${StateBadge} state=${s.state} testid="sequence-row-state" />` },
  { key: 'steps', label: 'Steps', render: (s) => html`<span data-testid="sequence-row-steps">${stepsSummary(s.steps)}</span>` },
  { key: 'window', label: 'Sending window', render: (s) => html`<span class="muted small">${windowText(s.window)}</span>` },
  {
    key: 'updatedAt',
    label: 'Updated',
    className: 'nowrap',
    render: (s) => html`<span title=${s.updatedAt}>${formatAgo(s.updatedAt)}</span>`,
  },
];

/** #/sequences: the org's sequences, newest first, a page at a time with the server's count of them; `?state=archived`
 * shows the archived ones. */
export function SequenceList({ query }) {
  const archived = query.get('state') === 'archived';
  const list = usePagedList(`/v1/sequences${archived ? '?state=archived' : ''}`, { items: 'sequences' });
  const { error, loaded, reload } = list;
  const items = list.items;
  const canEdit = useCanChange(); // a viewer is not offered what the gateway would refuse

  return html`<section class="wide">
    <header class="page-head page-head-row">
      <div>
        <h1>Sequences</h1>
        <p class="muted">Outreach plans: each lead gets each step once, in its sending window, until it replies.</p>
      </div>
      <div class="head-actions">
        <a class="btn btn-secondary" href=${archived ? '#/sequences' : '#/sequences?state=archived'} data-testid="sequence-show-archived">
          ${archived ? 'Current sequences' : 'Archived'}
        </a>
        ${canEdit && html`<a class="btn btn-primary" href="#/sequences/new" data-testid="sequence-new">New sequence</a>`}
      </div>
    </header>
    <${ProblemAlert} error=${error} testid="sequence-list-error" />
    ${error && html`<p><button type="button" class="btn btn-secondary" onClick=${reload}>Try again</button></p>`}
    ${!loaded && !error && html`<div class="card"><${Spinner} label="Loading sequences…" /></div>`}
    ${loaded &&
    (items.length || archived
      ? html`<div class="card card-flush">
          <header class="card-head card-head-pad">
            <${ListTotal}
              list=${list}
              one=${archived ? 'archived sequence' : 'sequence'}
              many=${archived ? 'archived sequences' : 'sequences'}
              testid="sequences-total"
            />
          </header>
          <${DataTable}
            label="Sequences"
            columns=${COLUMNS}
            rows=${items}
            rowTestId="sequence-row"
            onRowClick=${(s) => navigate(`/sequences/${encodeURIComponent(s.id)}`)}
            empty=${html`<p>No archived sequence.</p>`}
          />
          <${LoadMore} list=${list} testid="sequences-load-more" />
        </div>`
      : html`<div class="card empty-state">
          <h2>No sequences yet</h2>
          <p class="muted">
            Write the emails, texts and calls that reach a lead over days, choose when they may go out, and enroll leads
            from the lead list. A lead who replies, bounces or unsubscribes is stopped at once.
          </p>
          ${canEdit && html`<a class="btn btn-primary" href="#/sequences/new">Build your first sequence</a>`}
        </div>`)}
  </section>`;
}
