import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { formatTime } from '../../format.js';
import { CounterTile } from '../../components/CounterTile.js';
import { DataTable } from '../../components/DataTable.js';
import { ListTotal } from '../../components/ListTotal.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { ReceiptsDrawer } from './Receipts.js';
import { RunActions, RunProgressBar, useRunActions } from './RunsPage.js';
import { RunStateBadge } from './RunStateBadge.js';
import { useRefreshWhile } from './refresh.js';
import { DIAGNOSTICS, canTryAgain, formatCount, formatSeconds, isRunning, outcomeChip, runPlan, runTitle, shortOfLimit } from './model.js';
import { countWords } from '../../counts.js';
import { changeProps, useCanChange } from '../../roles.js';

// Leads read at a time (the API's largest page); a run can hold more (LEAD_RUNS_MAX_LEADS_PER_DAY is 400).
const LEADS_PAGE = 200;

/** #/runs/:id: one run's state, diagnostics and progress, and its leads' journeys with their receipts. */
export function RunPage({ params }) {
  const base = `/v1/lead-runs/${encodeURIComponent(params.id)}`;
  const run = useLoad(() => api.get(base), [base]);
  const leads = useLoad(() => api.get(`${base}/leads?limit=${LEADS_PAGE}`), [base]);
  const later = useLaterLeads(base, leads.data);
  const icp = useLoad(() => (run.data?.icpId ? api.get(`/v1/icps/${encodeURIComponent(run.data.icpId)}`).catch(() => null) : Promise.resolve(null)), [run.data?.icpId]);
  const [open, setOpen] = useState(null);
  const r = run.data;

  useRefreshWhile(isRunning(r), run.data || run.error, () => Promise.all([run.reload(), leads.reload()]), params.id);
  // A new state (sourced, finished): the leads as it left them, once more.
  const seenState = useRef(null);
  useEffect(() => {
    if (seenState.current && r?.state !== seenState.current) leads.reload();
    seenState.current = r?.state || null;
  }, [r?.state]);
  const { acting, act } = useRunActions((changed) => run.setData((d) => ({ ...d, ...changed })));
  // A failed lead tried again: what it did before is not done again (the service keys every side effect).
  const [retrying, setRetrying] = useState(null);
  const canEdit = useCanChange();
  const [retryError, setRetryError] = useState(null);
  const retry = async (lead) => {
    setRetrying(lead.leadId);
    setRetryError(null);
    try {
      const changed = await api.post(`${base}/leads/${encodeURIComponent(lead.leadId)}/retry`);
      run.setData((d) => ({ ...d, ...changed }));
      leads.reload();
    } catch (err) {
      setRetryError(err);
    } finally {
      setRetrying(null);
    }
  };

  if (!r) {
    return html`<section class="wide">
      <a class="back-link" href="#/runs">← Runs</a>
      ${run.error ? html`<${ProblemAlert} error=${run.error} testid="run-load-error" />` : html`<div class="card"><${Spinner} label="Loading run…" /></div>`}
    </section>`;
  }
  // The run's own count of its leads (progress.total), read with the run: a run holds at most its limit.
  const p = r.progress || {};
  const columns = [
    {
      key: 'name',
      label: 'Lead',
      render: (l) => html`<button type="button" class="btn-link strong-link" data-testid="run-lead-open" onClick=${() => setOpen(l)}>
          ${l.name || l.email || 'Unnamed lead'}
        </button>
        <div class="muted small">${l.companyName || ''}</div>`,
    },
    { key: 'score', label: 'Score', align: 'right', render: (l) => html`<span data-testid="run-lead-score">${l.score}</span>` },
    { key: 'status', label: 'Status', render: (l) => html`<${RunStateBadge} state=${l.status} testid="run-lead-status" />` },
    {
      key: 'outcomes',
      label: 'Outcomes',
      render: (l) => html`<span class="outcomes">
        ${(l.outcomes || []).map((o) => {
          const c = outcomeChip(o);
          return html`<span key=${o} class="badge badge-${c.tone}" data-testid="run-lead-outcome">${c.label}</span>`;
        })}
        ${l.error && html`<span class=${l.status === 'skipped' ? 'muted small' : 'text-danger small'} data-testid="run-lead-why">${l.error}</span>`}
        ${canTryAgain(l) &&
        html`<button type="button" class="btn btn-sm" data-testid="run-lead-retry" ...${changeProps(canEdit, retrying === l.leadId)}
          onClick=${(e) => { e.stopPropagation(); retry(l); }}>Try again</button>`}
      </span>`,
    },
  ];

  return html`<section class="wide">
    <a class="back-link" href="#/runs">← Runs</a>
    <header class="page-head page-head-row">
      <div>
        <h1>
          <span data-testid="run-title">${runTitle(r, icp.data?.name)}</span>
          <${RunStateBadge} state=${r.state} testid="run-state" />
          ${r.dryRun && html`<span class="badge badge-warn" data-testid="run-dry-run">dry run</span>`}
        </h1>
        <p class="muted">${countWords(r.limit, false, 'lead', 'leads')} · ${runPlan(r)} · skips leads in a sequence or contacted in the last ${formatCount(r.recentContactDays || 30)} days
          ${r.startedAt && html` · started ${formatTime(r.startedAt)}`}${r.finishedAt && html` · finished ${formatTime(r.finishedAt)}`}</p>
        <details class="run-ids">
          <summary>Details</summary>
          <dl class="detail-list small"><div><dt>Run ID</dt><dd class="mono" data-testid="run-id">${r.id}</dd></div>
            ${r.jobId && html`<div><dt>Sourcing job</dt><dd class="mono">${r.jobId}</dd></div>`}</dl>
        </details>
      </div>
      <${RunActions} run=${r} acting=${acting} act=${act} />
    </header>
    ${acting.error && html`<${ProblemAlert} error=${acting.error} testid="run-action-error" />`}
    ${r.error &&
    html`<div class="alert alert-error" role="alert">
      <strong class="alert-title">The run failed</strong>
      <p class="alert-detail" data-testid="run-error">${r.error}</p>
    </div>`}
    ${shortOfLimit(r) && html`<div class="alert alert-info" role="status" data-testid="run-short">${shortOfLimit(r)}</div>`}
    <section class="card" aria-label="Progress">
      <${RunProgressBar} run=${r} testid="run-progress" />
      <div class="tiles run-tiles">
        ${DIAGNOSTICS.map(
          (d) => html`<${CounterTile} key=${d.key} label=${d.label} value=${p[d.key]} tone=${d.tone} hint=${d.hint} testid=${`diag-run-${d.key}`} />`,
        )}
        <div class="tile" title="How long the oldest due lead of this run has waited for a worker">
          <span class="tile-value" data-testid="diag-run-queueLag">${formatSeconds(p.queueLagS)}</span>
          <span class="tile-label">Queue lag</span>
        </div>
      </div>
      <${ProblemAlert} error=${run.error} testid="run-poll-error" />
    </section>
    <section class="card card-flush scroll-table stack-rows" aria-label="Leads">
      <header class="card-head card-head-pad">
        <div>
          <h2 class="card-heading">Leads</h2>
          <${ListTotal} list=${{ total: p.total ?? null, totalCapped: false }} one="lead worked" many="leads worked" testid="run-leads-total" />
          ${Number(p.skipped) > 0 && html`<p class="muted small" data-testid="run-leads-skipped">and ${countWords(p.skipped, false, 'lead', 'leads')} skipped as already in touch, listed with them</p>`}
        </div>
        <span class="muted small">Best score first · open one for its receipts</span>
      </header>
      <${ProblemAlert} error=${leads.error} testid="run-leads-error" />
      <${ProblemAlert} error=${retryError} testid="run-lead-retry-error" />
      ${leads.data &&
      html`<${DataTable}
        label="Run leads"
        columns=${columns}
        rows=${later.rows}
        rowKey=${(l) => l.leadId}
        rowTestId="run-lead-row"
        onRowClick=${setOpen}
        empty=${r.state === 'created' ? 'Not started yet: no lead sourced.' : 'No lead in this run.'}
      />`}
      <${ProblemAlert} error=${later.error} testid="run-leads-more-error" />
      ${later.cursor &&
      html`<div class="card-foot">
        <button type="button" class="btn btn-ghost" data-testid="run-leads-more" disabled=${later.loading} onClick=${later.load}>
          ${later.loading ? 'Loading…' : `Show the next ${LEADS_PAGE} leads`}
        </button>
        <span class="muted small" data-testid="run-leads-shown">${later.rows.length} shown</span>
      </div>`}
    </section>
    ${open && html`<${ReceiptsDrawer} runId=${r.id} lead=${open} onClose=${() => setOpen(null)} />`}
  </section>`;
}

/**
 * The run's leads past the first page, read when asked ("Show the next 200 leads"). The first page keeps
 * refreshing while the run works; the pages read later are added after it (a lead on both shows once).
 */
function useLaterLeads(base, firstPage) {
  const [later, setLater] = useState({ rows: [], cursor: undefined, loading: false, error: null });
  useEffect(() => setLater({ rows: [], cursor: undefined, loading: false, error: null }), [base]);
  const first = firstPage?.leads || [];
  const onFirst = new Set(first.map((l) => l.leadId));
  const rows = [...first, ...later.rows.filter((l) => !onFirst.has(l.leadId))];
  // Before any later page is read, the first page says where the next starts.
  const cursor = later.cursor === undefined ? firstPage?.nextCursor || null : later.cursor;
  const load = async () => {
    setLater((l) => ({ ...l, loading: true, error: null }));
    try {
      const page = await api.get(`${base}/leads?limit=${LEADS_PAGE}&cursor=${encodeURIComponent(cursor)}`);
      setLater((l) => ({ rows: [...l.rows, ...page.leads], cursor: page.nextCursor || null, loading: false, error: null }));
    } catch (error) {
      setLater((l) => ({ ...l, loading: false, error }));
    }
  };
  return { rows, cursor, load, loading: later.loading, error: later.error };
}
