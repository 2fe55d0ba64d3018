import { html } from 'htm/preact';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { navigate } from '../../router.js';
import { formatAgo, listPreview } from '../../format.js';
import { countWords } from '../../counts.js';
import { DataTable } from '../../components/DataTable.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { useCanChange } from '../../roles.js';

const COLUMNS = [
  {
    key: 'name',
    label: 'Name',
    render: (icp) => html`<a class="strong-link" href=${`#/icps/${encodeURIComponent(icp.id)}`}>${icp.name}</a>`,
  },
  {
    key: 'titles',
    label: 'Titles',
    render: (icp) =>
      icp.titles?.length
        ? html`<span title=${icp.titles.join(', ')}>${listPreview(icp.titles)}</span>`
        : html`<span class="muted">any</span>`,
  },
  { key: 'minScore', label: 'Min score', align: 'right' },
  {
    key: 'updatedAt',
    label: 'Updated',
    className: 'nowrap',
    render: (icp) => html`<span title=${icp.updatedAt}>${formatAgo(icp.updatedAt)}</span>`,
  },
];

/** #/icps: every ICP of the organisation (a team's few profiles come whole: their count is the list's length). */
export function IcpList() {
  const { data, error, loading, reload } = useLoad(() => api.get('/v1/icps'), []);
  const canEdit = useCanChange(); // a viewer is not offered what the gateway would refuse
  const items = data?.items || [];

  return html`<section>
    <header class="page-head page-head-row">
      <div>
        <h1>Ideal customer profiles</h1>
        <p class="muted">Who you want to reach. Each ICP scores the leads its searches find.</p>
      </div>
      ${canEdit && html`<a class="btn btn-primary" href="#/icps/new" data-testid="icp-new">New ICP</a>`}
    </header>
    <${ProblemAlert} error=${error} testid="icp-list-error" />
    ${error && html`<p><button type="button" class="btn btn-secondary" onClick=${reload}>Try again</button></p>`}
    ${loading && !data && html`<div class="card"><${Spinner} label="Loading ICPs…" /></div>`}
    ${data &&
    (items.length
      ? html`<div class="card card-flush">
          <header class="card-head card-head-pad">
            <p class="table-meta"><strong data-testid="icps-total">${countWords(items.length, false, 'ICP', 'ICPs')}</strong></p>
          </header>
          <${DataTable}
            label="ICPs"
            columns=${COLUMNS}
            rows=${items}
            rowTestId="icp-row"
            onRowClick=${(icp) => navigate(`/icps/${encodeURIComponent(icp.id)}`)}
          />
        </div>`
      : html`<div class="card empty-state">
          <h2>No ICPs yet</h2>
          <p class="muted">
            Describe the people you want to reach — titles, seniority, industries, company size, locations — and
            Lead Flood will search for them and score every lead against it.
          </p>
          ${canEdit && html`<a class="btn btn-primary" href="#/icps/new">Create your first ICP</a>`}
        </div>`)}
  </section>`;
}
