import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { usePagedList } from '../../pagedList.js';
import { formatAgo, formatTime } from '../../format.js';
import { DataTable } from '../../components/DataTable.js';
import { ListTotal, LoadMore } from '../../components/ListTotal.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { ProgressBar } from '../../components/ProgressBar.js';
import { Spinner } from '../../components/Spinner.js';
import { NewRunForm } from './NewRunForm.js';
import { QuotaGauges } from './QuotaGauges.js';
import { RunStateBadge } from './RunStateBadge.js';
import { useRefreshWhile } from './refresh.js';
import { canCancel, isRunning, runPlan, runProgress } from './model.js';
import { countWords } from '../../counts.js';
import { changeProps, useCanChange } from '../../roles.js';

/** A run's progress bar and its caption, from `run.progress` alone. */
export function RunProgressBar({ run, testid = 'run-progress' }) {
  const p = runProgress(run);
  return html`<div class="run-progress">
    <${ProgressBar} label="Leads settled" value=${p.settled} max=${p.total} percent=${p.percent} active=${isRunning(run)} testid=${testid} />
    <span class="muted small" data-testid=${`${testid}-caption`}>${p.caption}</span>
  </div>`;
}

/** Start (a created run) or cancel (a created or running one): the row's and the run page's buttons. */
export function useRunActions(onChanged) {
  const [acting, setActing] = useState({ id: null, error: null, runId: null });
  async function act(run, verb) {
    if (verb === 'cancel' && !window.confirm('Cancel this run? Leads already worked keep what was done.')) return;
    setActing({ id: run.id, error: null, runId: null });
    try {
      const path = `/v1/lead-runs/${encodeURIComponent(run.id)}/${verb === 'start' ? 'jobs' : 'cancel'}`;
      onChanged(await api.post(path));
      setActing({ id: null, error: null, runId: null });
    } catch (error) {
      setActing({ id: null, error, runId: run.id });
    }
  }
  return { acting, act };
}

export function RunActions({ run, acting, act }) {
  const busy = acting.id === run.id;
  const canEdit = useCanChange();
  return html`<span class="row-actions">
    ${run.state === 'created' &&
    html`<button type="button" class="btn btn-secondary btn-sm" data-testid="run-row-start" ...${changeProps(canEdit, busy)} onClick=${() => act(run, 'start')}>
      Start
    </button>`}
    ${canCancel(run) &&
    html`<button type="button" class="btn btn-danger-ghost btn-sm" data-testid="run-cancel" ...${changeProps(canEdit, busy)} onClick=${() => act(run, 'cancel')}>
      ${busy ? '…' : 'Cancel'}
    </button>`}
  </span>`;
}

/** #/runs: the org's quota, a new run, and its runs with live progress (polled while any is running). */
export function RunsPage() {
  // Newest first, a page at a time, with the org's count of runs from the server.
  const runs = usePagedList('/v1/lead-runs', { items: 'runs' });
  const quota = useLoad(() => api.get('/v1/lead-runs/quota'), []);
  const icps = useLoad(() => api.get('/v1/icps'), []);
  const items = runs.items;
  const icpList = icps.data?.items || [];
  const icpNames = Object.fromEntries(icpList.map((i) => [i.id, i.name]));
  const runsById = Object.fromEntries(items.map((r) => [r.id, r]));

  const refresh = () => Promise.all([runs.reload(), quota.reload()]);
  useRefreshWhile(items.some(isRunning), runs.loaded || runs.error, refresh);
  // A run that changed here (created, started, cancelled) shows at once; the reload confirms it (and counts it).
  const changed = (run) => {
    runs.setItems((list) => {
      const known = list.some((r) => r.id === run.id);
      return known ? list.map((r) => (r.id === run.id ? { ...r, ...run } : r)) : [run, ...list];
    });
    refresh();
  };
  const { acting, act } = useRunActions(changed);

  const columns = [
    {
      key: 'run',
      label: 'Run',
      render: (r) => html`<a class="strong-link" href=${`#/runs/${encodeURIComponent(r.id)}`}>${icpNames[r.icpId] || 'Deleted ICP'}</a>
        ${r.dryRun && html` <span class="badge badge-neutral" data-testid="run-row-dry">dry run</span>`}
        <div class="muted small">${formatTime(r.createdAt)} · ${countWords(r.limit, false, 'lead', 'leads')} · ${runPlan(r)}</div>`,
    },
    { key: 'state', label: 'State', render: (r) => html`<${RunStateBadge} state=${r.state} testid="run-row-state" />` },
    { key: 'progress', label: 'Progress', className: 'progress-cell span-row', render: (r) => html`<${RunProgressBar} run=${r} testid="run-row-progress" />` },
    {
      key: 'createdAt',
      label: 'Created',
      className: 'nowrap',
      render: (r) => html`<span title=${formatTime(r.createdAt)}>${formatAgo(r.createdAt)}</span>`,
    },
    { key: 'actions', label: html`<span class="visually-hidden">Actions</span>`, align: 'right', render: (r) => html`<${RunActions} run=${r} acting=${acting} act=${act} />` },
  ];

  return html`<section class="wide">
    <header class="page-head">
      <h1>Lead runs</h1>
      <p class="muted">Each run sources leads for a profile and works them: a meeting, an email, a text, a call task, with a receipt for each.</p>
    </header>
    <${ProblemAlert} error=${quota.error} testid="quota-error" />
    <${QuotaGauges} quota=${quota.data} icpNames=${icpNames} runsById=${runsById} />
    ${icps.data && html`<${NewRunForm} icps=${icpList} onChanged=${changed} />`}
    <${ProblemAlert} error=${icps.error} testid="run-icps-error" />
    <section class="card card-flush scroll-table stack-rows" aria-label="Runs">
      <header class="card-head card-head-pad">
        <div>
          <h2 class="card-heading">Runs</h2>
          <${ListTotal} list=${runs} one="run" many="runs" testid="runs-total" />
        </div>
        ${items.some(isRunning) && html`<${Spinner} label="Live" />`}
      </header>
      ${acting.error &&
      html`<div class="alert ${acting.error.status === 429 ? 'alert-warn' : 'alert-error'}" role="alert" data-testid="run-action-error">
        <strong class="alert-title">${acting.error.status === 429 ? 'Not started' : acting.error.title}</strong>
        <p class="alert-detail">${acting.error.detail}</p>
      </div>`}
      <${ProblemAlert} error=${runs.error} testid="runs-error" />
      ${!runs.loaded && !runs.error && html`<div class="card-pad"><${Spinner} label="Loading runs…" /></div>`}
      ${runs.loaded &&
      html`<${DataTable} label="Lead runs" columns=${columns} rows=${items} rowTestId="run-row" empty="No runs yet: start one above." />`}
      <${LoadMore} list=${runs} testid="runs-load-more" />
    </section>
  </section>`;
}
