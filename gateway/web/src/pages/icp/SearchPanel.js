import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { usePoll } from '../../hooks.js';
import { usePagedList } from '../../pagedList.js';
import { navigate } from '../../router.js';
import { formatAgo, formatTime } from '../../format.js';
import { leadsPath } from '../../leadFilters.js';
import {
  COUNTERS,
  DEFAULT_LIMIT,
  MAX_LIMIT,
  SOURCES,
  countersSummary,
  isRunDone,
  progressPercent,
  runAccount,
} from '../../searchRun.js';
import { CounterTile } from '../../components/CounterTile.js';
import { DataTable } from '../../components/DataTable.js';
import { ListTotal, LoadMore } from '../../components/ListTotal.js';
import { Field } from '../../components/Field.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { ProgressBar } from '../../components/ProgressBar.js';
import { Select } from '../../components/Select.js';
import { Spinner } from '../../components/Spinner.js';
import { StatusBadge } from '../../components/StatusBadge.js';
import { NotSetUpHint } from '../../components/NotSetUp.js';
import { anyNotSetUp, providerOptions, useProviderKeys } from '../../providers.js';
import { changeProps, useCanChange } from '../../roles.js';

const SEARCH_FIELDS = ['source', 'limit', 'force'];

/**
 * Search for an (saved) ICP: start a run, watch the selected run's progress,
 * list earlier runs. The selected run lives in the URL (?run=) so a reload
 * keeps watching it; without one, the newest run is shown.
 */
/** A live event about the watched search run: its own status and pages, or leads it sourced. */
const searchRunChanged = (e, runId) => (e.data.runId || e.data.searchRunId) === runId;

export function SearchPanel({ icp, query, dirty }) {
  const base = `/v1/icps/${encodeURIComponent(icp.id)}/search-runs`;
  // Newest first, a page at a time, with the ICP's count of runs from the server.
  const runs = usePagedList(base, { items: 'items' });
  const items = runs.items;

  const [source, setSource] = useState('sandbox');
  const [limit, setLimit] = useState(String(DEFAULT_LIMIT));
  const [force, setForce] = useState(false);
  const [busy, setBusy] = useState(false);
  const [startError, setStartError] = useState(null);
  const [reused, setReused] = useState(false);

  // A source whose key is not set is shown as not set up, not offered (it would be refused with a 503).
  const sources = providerOptions(SOURCES, useProviderKeys());
  const canEdit = useCanChange(); // a viewer sees the runs but starts none

  const runId = query.get('run') || items[0]?.id || null;
  const listed = items.find((r) => r.id === runId) || null;

  // Keep the list's copy of the watched run current too.
  const mergeIntoList = (run) => runs.setItems((list) => list.map((r) => (r.id === run.id ? run : r)));
  const poll = usePoll(runId, (id) => api.get(`${base}/${encodeURIComponent(id)}`), isRunDone, mergeIntoList, searchRunChanged);
  // The cancel's answer until a read says the run is done (the event that follows it ends the watch).
  const [cancelled, setCancelled] = useState(null);
  const read = poll.data?.id === runId ? poll.data : listed;
  const run = cancelled?.id === runId && !isRunDone(read) ? cancelled : read;

  const select = (id) => {
    setReused(false);
    setStartError(null);
    navigate(`/icps/${encodeURIComponent(icp.id)}?run=${encodeURIComponent(id)}`, { replace: true });
  };

  async function onStart(e) {
    e.preventDefault();
    setBusy(true);
    setStartError(null);
    setReused(false);
    const n = Number(limit);
    try {
      const res = await api.post(`/v1/icps/${encodeURIComponent(icp.id)}/search`, {
        source,
        limit: limit.trim() === '' || !Number.isInteger(n) ? limit : n,
        force,
      });
      const started = res.run || { id: res.runId, icpId: icp.id, source, limit: n, status: 'queued', jobId: res.jobId };
      runs.setItems((list) => (list.some((r) => r.id === started.id) ? list : [started, ...list]));
      if (!res.existing) runs.reload(); // counted again: one run more
      select(res.runId || started.id);
      setReused(Boolean(res.existing));
    } catch (err) {
      setStartError(err);
    } finally {
      setBusy(false);
    }
  }

  return html`<div class="search-col">
    <form class="card" onSubmit=${onStart} noValidate aria-label="Search">
      <fieldset class="form search-form plain-fieldset" disabled=${!canEdit}>
      <h2 class="card-heading">Search for leads</h2>
      <p class="muted card-intro">
        Fetch people matching this profile, deduplicate them against your leads and score each one.
      </p>
      ${dirty && html`<div class="alert alert-info">You have unsaved changes: the search uses the saved profile.</div>`}
      <div class="search-controls">
        <${Select}
          id="search-source"
          label="Source"
          name="source"
          testid="search-source"
          value=${source}
          options=${sources}
          error=${startError}
          hint=${anyNotSetUp(sources) && html`<${NotSetUpHint} testid="search-source-not-set-up" />`}
          onChange=${setSource}
        />
        <${Field}
          id="search-limit"
          label="Limit"
          name="limit"
          type="number"
          min="1"
          max=${MAX_LIMIT}
          inputmode="numeric"
          testid="search-limit"
          error=${startError}
          value=${limit}
          hint=${`Up to ${MAX_LIMIT.toLocaleString('en')} people.`}
          onInput=${(e) => setLimit(e.currentTarget.value)}
        />
      </div>
      <div class="search-actions">
        <label class="check" title="Start a new run even if one with the same parameters ran today">
          <input
            type="checkbox"
            data-testid="search-force"
            checked=${force}
            onChange=${(e) => setForce(e.currentTarget.checked)}
          />
          <span>Force new run</span>
        </label>
        <button type="submit" class="btn btn-primary" data-testid="search-run" ...${changeProps(canEdit, busy)}>
          ${busy ? 'Starting…' : 'Run search'}
        </button>
      </div>
      <${ProblemAlert} error=${startError} testid="search-error" fields=${SEARCH_FIELDS} />
      ${reused &&
      html`<div class="alert alert-info" role="status" data-testid="search-reused">
        Today’s run with the same parameters was reused. Tick “Force new run” to start a fresh one.
      </div>`}
      </fieldset>
    </form>

    ${!startError &&
    runId &&
    html`<${RunProgress}
      run=${run}
      polling=${poll.polling}
      error=${poll.error}
      icp=${icp}
      cancelPath=${`${base}/${encodeURIComponent(runId)}/cancel`}
      onCancelled=${(r) => {
        setCancelled(r);
        mergeIntoList(r);
      }}
    />`}
    <${RunList} runs=${runs} current=${run} selectedId=${runId} onSelect=${select} />
  </div>`;
}

/** The selected run: status, progress, counters and a plain account of them. */
function RunProgress({ run, polling, error, icp, cancelPath, onCancelled }) {
  const canEdit = useCanChange();
  const [cancelling, setCancelling] = useState(false);
  const [cancelError, setCancelError] = useState(null);
  if (!run) {
    return html`<section class="card">
      ${error ? html`<${ProblemAlert} error=${error} testid="search-load-error" />` : html`<${Spinner} label="Loading run…" />`}
    </section>`;
  }
  const d = run.diagnostics || {};
  const done = isRunDone(run);
  const people = Number(run.peopleFetched) || 0;
  async function onCancel() {
    setCancelling(true);
    setCancelError(null);
    try {
      onCancelled(await api.post(cancelPath, {}));
    } catch (err) {
      setCancelError(err);
    } finally {
      setCancelling(false);
    }
  }
  return html`<section class="card run-card" aria-label="Search run" aria-busy=${done ? 'false' : 'true'}>
    <header class="card-head">
      <div>
        <h2 class="card-heading">Run <span class="muted mono">${shortId(run.id)}</span></h2>
        <p class="muted small">
          ${run.source} · limit ${run.limit} · started ${formatTime(run.startedAt || run.createdAt)}
          ${run.finishedAt && html` · finished ${formatTime(run.finishedAt)}`}
        </p>
      </div>
      <div class="status-line">
        ${polling && !done && html`<${Spinner} label="Searching…" />`}
        <${StatusBadge} status=${run.status} testid="search-status" />
        ${!done &&
        html`<button type="button" class="btn btn-secondary" data-testid="search-cancel" ...${changeProps(canEdit, cancelling)} onClick=${onCancel}>
          ${cancelling ? 'Cancelling…' : 'Cancel search'}
        </button>`}
      </div>
    </header>

    <${ProgressBar}
      label="People fetched"
      value=${people}
      max=${Number(run.limit) || 0}
      percent=${progressPercent(run)}
      active=${!done}
      testid="search-progress"
    />
    <p class="progress-caption">
      <span><strong>${people}</strong> of ${run.limit} people</span>
      <span><strong data-testid="search-pages">${Number(run.pagesFetched) || 0}</strong> ${Number(run.pagesFetched) === 1 ? 'page' : 'pages'} fetched</span>
    </p>

    <div class="tiles">
      ${COUNTERS.map(
        (c) => html`<${CounterTile}
          key=${c.key}
          label=${c.label}
          value=${d[c.key]}
          testid=${c.testid}
          tone=${c.tone}
          hint=${c.hint}
        />`,
      )}
    </div>

    ${run.status === 'failed' &&
    html`<div class="alert alert-error" role="alert" data-testid="search-error">
      <strong class="alert-title">The search failed</strong>
      <p class="alert-detail">${run.error || 'No error message was recorded.'}</p>
    </div>`}
    ${run.status === 'cancelled' &&
    html`<div class="alert alert-info" role="status" data-testid="search-cancelled">
      You cancelled this search: no more people are fetched. The leads it found before stay.
    </div>`}
    <${ProblemAlert} error=${cancelError} testid="search-cancel-error" />
    ${error && html`<${ProblemAlert} error=${error} testid="search-poll-error" />`}

    ${done &&
    html`<ul class="run-account">
      ${runAccount(run, icp.minScore).map((line) => html`<li>${line}</li>`)}
    </ul>`}

    <div class="run-links">
      <a class="btn btn-secondary" data-testid="search-view-leads" href=${`#${leadsPath({ searchRunId: run.id })}`}>
        View leads from this run
      </a>
      ${Number(d.filtered) > 0 &&
      html`<a class="btn-link small" href=${`#${leadsPath({ searchRunId: run.id, filtered: 'only' })}`}>
        See the ${d.filtered} filtered
      </a>`}
    </div>
  </section>`;
}

const RUN_COLUMNS = [
  { key: 'status', label: 'Status', render: (r) => html`<${StatusBadge} status=${r.status} />` },
  {
    key: 'run',
    label: 'Run',
    render: (r) => html`<div class="nowrap">${r.source} · ${r.limit}</div>
      <div class="muted small nowrap" title=${r.createdAt}>${formatAgo(r.createdAt)}</div>`,
  },
  {
    key: 'summary',
    label: 'Counters',
    render: (r) => html`<span class="small" data-testid="search-run-row-summary">${countersSummary(r.diagnostics)}</span>`,
  },
  {
    key: 'leads',
    label: '',
    className: 'nowrap',
    render: (r) => html`<a class="small" href=${`#${leadsPath({ searchRunId: r.id })}`}>Leads →</a>`,
  },
];

function RunList({ runs, current, selectedId, onSelect }) {
  // The watched run's row is the very object the card above shows: the two cannot disagree.
  const items = runs.items.map((r) => (current && r.id === current.id ? current : r));
  return html`<section class="card card-flush">
    <header class="card-head card-head-pad">
      <div>
        <h2 class="card-heading">Runs</h2>
        <${ListTotal} list=${runs} one="run" many="runs" testid="search-runs-total" />
      </div>
      ${runs.loading && runs.loaded && html`<${Spinner} label="Refreshing…" />`}
    </header>
    <${ProblemAlert} error=${runs.error} testid="search-runs-error" />
    ${!runs.loaded && !runs.error && html`<div class="card-pad"><${Spinner} label="Loading runs…" /></div>`}
    ${runs.loaded &&
    html`<${DataTable}
      label="Search runs"
      columns=${RUN_COLUMNS}
      rows=${items}
      rowTestId="search-run-row"
      rowClass=${(r) => (r.id === selectedId ? 'row-selected' : '')}
      onRowClick=${(r) => onSelect(r.id)}
      empty="No searches yet. Run one above to find leads for this profile."
      compact
    />`}
    <${LoadMore} list=${runs} testid="search-runs-load-more" />
  </section>`;
}

const shortId = (id) => String(id || '').slice(0, 8);
