import { html } from 'htm/preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { useLoad } from '../hooks.js';
import { navigate } from '../router.js';
import { formatAgo, importState, personName } from '../format.js';
import { datedFilename, saveBlob } from '../download.js';
import { keepPlace, placeOf, refreshLimit } from '../listPlace.js';
import {
  FILTERED_OPTIONS,
  HAS_EMAIL_OPTIONS,
  LEAD_STATUSES,
  SORT_OPTIONS,
  activeFilterCount,
  cleanScore,
  headerSort,
  headerSortState,
  filtersFromQuery,
  filtersToApiQuery,
  leadsPath,
} from '../leadFilters.js';
import { EXPORT_PART, bulkWords, csvRowCount, joinCsv, parts, selectionInOrder, totalWords } from '../leadBulk.js';
import { LEAD_COLUMNS, applyView, currentView, readColumns, toggleColumn, viewBody, writeColumns } from '../leadViews.js';
import { ColumnsMenu } from '../components/ColumnsMenu.js';
import { DataTable } from '../components/DataTable.js';
import { SavedViews } from '../components/SavedViews.js';
import { ProblemAlert } from '../components/ProblemAlert.js';
import { ScoreBadge } from '../components/ScoreBadge.js';
import { Select } from '../components/Select.js';
import { Spinner } from '../components/Spinner.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { ImportResult } from './lead/ImportResult.js';
import { EnrollPanel } from './sequences/EnrollPanel.js';
import { LinkIcpPanel } from './lead/LinkIcpPanel.js';
import { useLiveRefresh } from '../live.js';
import { sizeWords } from '../words.js';
import { canChange, changeProps } from '../roles.js';

const DEBOUNCE_MS = 300;
// Typed filters: the URL follows them DEBOUNCE_MS after the last keystroke.
const TYPED = ['q', 'minScore', 'maxScore'];
const cleanTyped = { q: (v) => v.trim(), minScore: cleanScore, maxScore: cleanScore };

const leadHref = (lead) => `#/leads/${encodeURIComponent(lead.id)}`;

const COLUMNS = [
  {
    key: 'name',
    label: 'Name',
    render: (l) => html`<a class="strong-link" href=${leadHref(l)}>${personName(l)}</a>`,
  },
  {
    key: 'email',
    label: 'Email',
    render: (l) => (l.email ? html`<span class="cell-clip" title=${l.email}>${l.email}</span>` : html`<span class="flag-muted">no email</span>`),
  },
  { key: 'companyName', label: 'Company', render: (l) => l.companyName || html`<span class="muted">—</span>` },
  { key: 'title', label: 'Title', render: (l) => l.title || html`<span class="muted">—</span>` },
  { key: 'phone', label: 'Phone', className: 'nowrap', render: (l) => l.phone || html`<span class="muted">—</span>` },
  { key: 'location', label: 'Location', render: (l) => l.location || html`<span class="muted">—</span>` },
  { key: 'industry', label: 'Industry', render: (l) => l.industry || html`<span class="muted">—</span>` },
  // In words, as the lead page says it: "1,001–5,000 employees" (a provider's range), "120 employees".
  { key: 'companySize', label: 'Company size', className: 'nowrap', render: (l) => sizeWords(l.companySize, l.companySizeMax) || html`<span class="muted">—</span>` },
  { key: 'source', label: 'Source', render: (l) => l.source || html`<span class="muted">—</span>` },
  {
    key: 'score',
    label: 'Score',
    align: 'right',
    render: (l) => html`<${ScoreBadge} score=${l.score} filtered=${l.filtered} testid="lead-row-score" />`,
  },
  // The lead's enrichment, not its sales: said in the header so "new" is not read as a lead nobody contacted.
  { key: 'status', label: 'Enrichment', render: (l) => html`<${StatusBadge} status=${l.status} testid="lead-row-status" />` },
  {
    key: 'createdAt',
    label: 'Created',
    className: 'nowrap',
    render: (l) => html`<span title=${l.createdAt}>${formatAgo(l.createdAt)}</span>`,
  },
];

// "Columns" names each column as its header does.
const MENU_COLUMNS = LEAD_COLUMNS.map((c) => ({ ...c, label: COLUMNS.find((k) => k.key === c.key)?.label || c.label }));

/**
 * The first column: a box per lead to select it (kept by id, with the lead, for the bulk actions),
 * and one in the header for every lead shown.
 */
function selectColumn(rows, selected, setSelected) {
  const all = rows.length > 0 && rows.every((l) => selected.has(l.id));
  const some = rows.some((l) => selected.has(l.id));
  const toggle = (lead, on) =>
    setSelected((now) => {
      const next = new Map(now);
      if (on) next.set(lead.id, lead);
      else next.delete(lead.id);
      return next;
    });
  return {
    key: 'select',
    className: 'select-cell',
    label: html`<input
      type="checkbox"
      aria-label="Select every lead shown"
      data-testid="leads-select-all"
      checked=${all}
      indeterminate=${some && !all}
      onChange=${(e) => setSelected(e.currentTarget.checked ? new Map(rows.map((l) => [l.id, l])) : new Map())}
    />`,
    // The label fills the cell, so a click beside the box selects too, and never opens the lead.
    render: (l) => html`<label class="row-check">
      <input
        type="checkbox"
        aria-label=${`Select ${personName(l)}`}
        data-testid="lead-select"
        checked=${selected.has(l.id)}
        onChange=${(e) => toggle(l, e.currentTarget.checked)}
      />
    </label>`,
  };
}

/**
 * #/leads: every lead, filtered by the URL query. The route keeps this page
 * mounted while the query changes, so typing in the search box keeps focus.
 */
export function Leads({ query, session }) {
  const qs = query.toString();
  const filters = useMemo(() => filtersFromQuery(qs), [qs]);
  const apiQuery = filtersToApiQuery(filters);
  const latest = useRef(filters);
  latest.current = filters;

  const update = (patch) => navigate(leadsPath({ ...latest.current, ...patch }), { replace: true });

  const icps = useLoad(() => api.get('/v1/icps'), []);
  const list = useLeadList(apiQuery);
  useKeptScroll(apiQuery, list.restored, `/leads${qs ? `?${qs}` : ''}`);
  // A lead on screen changed (its enrichment, started here or anywhere, ended; an edit): its row is read again,
  // quietly (the rows loaded kept, no spinner), so a status moves from "new" to "enriched" without a reload.
  const shownIds = new Set(list.items.map((l) => l.id));
  useLiveRefresh(() => list.reload({ quiet: true }), {
    match: (e) => e.type === 'leads.lead.updated' && (e.data.leads || [e.data.lead]).some((l) => shownIds.has(l?.id)),
    active: list.loaded,
    fallbackMs: 30_000,
  });
  const canEdit = canChange(session?.user?.role); // a viewer looks and exports; changes nothing
  const [imported, setImported] = useState(null); // { name, busy, result, error }
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState(null);
  // Leads ticked for a bulk action, by id; a new filter starts a new selection.
  const [selected, setSelected] = useState(() => new Map());
  const [linking, setLinking] = useState(false); // the "Link to ICP" panel is open
  const [enrolling, setEnrolling] = useState(false);
  const [filtersOpen, setFiltersOpen] = useState(false); // on a phone the filters fold behind a button
  const [bulk, setBulk] = useState(null); // { action, busy, words, error }: the last bulk action on the selection
  // The columns shown: the user's choice, remembered in this browser; a saved view carries its own.
  const userId = session?.user?.userId;
  const [columns, setColumnsNow] = useState(() => readColumns(globalThis.localStorage, userId));
  const setColumns = (next) => {
    setColumnsNow(next);
    writeColumns(globalThis.localStorage, userId, next);
  };
  useEffect(() => {
    setSelected(new Map());
    setEnrolling(false);
    setBulk(null);
  }, [apiQuery]);

  /** A bulk action on the selected leads; its result said in words above the table. */
  async function onBulk(action) {
    const ids = selectionInOrder(list.items, [...selected.keys()]);
    if (action === 'delete' && !window.confirm(`Delete ${ids.length === 1 ? 'this lead' : `these ${ids.length} leads`}? This cannot be undone.`)) return;
    setBulk({ action, busy: true });
    try {
      let result;
      if (action === 'delete') result = await api.post('/v1/leads/bulk-delete', { leadIds: ids });
      else if (action === 'enrich') result = await api.post('/v1/leads/bulk-enrich', { leadIds: ids });
      else result = await exportSelection(ids, latest.current.sort);
      setBulk({ action, busy: false, words: bulkWords(action, result) });
      if (action === 'delete') setSelected(new Map());
      if (action !== 'export') list.reload();
    } catch (error) {
      setBulk({ action, busy: false, error });
    }
  }

  async function onExport() {
    setExporting(true);
    setExportError(null);
    try {
      const { blob, filename } = await api.download(
        `/v1/leads/export.csv?${filtersToApiQuery(latest.current, { paging: false })}`,
        'text/csv',
      );
      saveBlob(blob, filename || datedFilename('leads', 'csv'));
    } catch (err) {
      setExportError(err);
    } finally {
      setExporting(false);
    }
  }

  const active = activeFilterCount(filters);
  const icpOptions = [
    { value: '', label: 'All ICPs' },
    ...(icps.data?.items || []).map((i) => ({ value: i.id, label: i.name })),
  ];
  // A deep link to an ICP that is not (yet) in the list still shows as selected. Once the list is in,
  // an ICP missing from it was deleted (its leads stay) or never existed in this org.
  if (filters.icpId && !icpOptions.some((o) => o.value === filters.icpId)) {
    icpOptions.push({ value: filters.icpId, label: icps.data ? 'Deleted ICP' : 'Loading…' });
  }

  return html`<section class="wide">
    <header class="page-head page-head-row">
      <div>
        <h1>Leads</h1>
        <p class="muted">Deduplicated and scored against their ICP.</p>
      </div>
      <div class="head-actions">
        ${canEdit && html`<${ImportButton} busy=${imported?.busy} progress=${imported?.progress} onFile=${(file) => importCsv(file, setImported, list.reload)} />`}
        ${imported?.busy && imported.progress < 1 &&
        html`<button type="button" class="btn btn-ghost" data-testid="leads-import-cancel" onClick=${imported.cancel}>Cancel</button>`}
        <button type="button" class="btn btn-secondary" data-testid="leads-export" disabled=${exporting} onClick=${onExport}>
          ${exporting ? 'Exporting…' : 'Export CSV'}
        </button>
        ${canEdit && html`<a class="btn btn-primary" href="#/leads/new" data-testid="leads-new">New lead</a>`}
      </div>
    </header>
    <${ProblemAlert} error=${exportError} testid="leads-export-error" />
    ${imported && !imported.busy && html`<${ImportResult} ...${imported} onClose=${() => setImported(null)} />`}
    ${linking && selected.size > 0 &&
    html`<${LinkIcpPanel}
      leadIds=${selectionInOrder(list.items, [...selected.keys()])}
      icps=${icps.data?.items}
      onDone=${(words) => {
        setLinking(false);
        setBulk({ action: 'score', busy: false, words });
        list.reload();
      }}
      onClose=${() => setLinking(false)}
    />`}
    ${enrolling === 'selected' && selected.size > 0 &&
    html`<${EnrollPanel}
      leadIds=${[...selected.keys()]}
      nameOf=${(id) => personName(selected.get(id), id)}
      onClose=${() => setEnrolling(false)}
    />`}
    ${enrolling === 'matching' &&
    html`<${EnrollPanel}
      filterQuery=${filtersToApiQuery(filters, { paging: false })}
      onClose=${() => setEnrolling(false)}
    />`}

    <div class="table-tools">
      <${SavedViews}
        page="leads"
        role=${session?.user?.role}
        makeBody=${(name, shared) => viewBody(name, latest.current, columns, shared)}
        matching=${(views) => currentView(views, filters, columns)}
        onApply=${(view) => {
          const applied = applyView(view);
          setColumns(applied.columns);
          navigate(applied.path, { replace: true });
        }}
      />
      <${ColumnsMenu} columns=${MENU_COLUMNS} shown=${columns} onToggle=${(key, on) => setColumns(toggleColumn(columns, key, on))} />
    </div>
    <button
      type="button"
      class="btn btn-secondary filters-toggle"
      data-testid="leads-filters-toggle"
      aria-expanded=${filtersOpen ? 'true' : 'false'}
      aria-controls="leads-filters"
      onClick=${() => setFiltersOpen((open) => !open)}
    >
      ${filtersOpen ? 'Hide filters' : 'Filters'}${active > 0 ? ` (${active})` : ''}
    </button>
    <div
      id="leads-filters"
      class=${filtersOpen ? 'card filters' : 'card filters is-folded'}
      role="search"
      aria-label="Filter leads"
      onpagesearch=${() => setFiltersOpen(true)}
    >
      <${Select}
        id="leads-filter-icp"
        label="ICP"
        testid="leads-filter-icp"
        value=${filters.icpId}
        options=${icpOptions}
        onChange=${(v) => update({ icpId: v })}
      />
      <${Select}
        id="leads-filter-status"
        label="Enrichment"
        testid="leads-filter-status"
        value=${filters.status}
        options=${[{ value: '', label: 'Any' }, ...LEAD_STATUSES]}
        onChange=${(v) => update({ status: v })}
      />
      <${TypedFilters} filters=${filters} update=${update} />
      <${Select}
        id="leads-filter-has-email"
        label="Email"
        testid="leads-filter-has-email"
        value=${filters.hasEmail}
        options=${HAS_EMAIL_OPTIONS}
        onChange=${(v) => update({ hasEmail: v })}
      />
      <${Select}
        id="leads-filter-filtered"
        label="Show filtered (below min score)"
        testid="leads-filter-filtered"
        value=${filters.filtered}
        options=${FILTERED_OPTIONS}
        onChange=${(v) => update({ filtered: v })}
      />
      <${Select}
        id="leads-sort"
        label="Sort"
        testid="leads-sort"
        value=${filters.sort}
        options=${SORT_OPTIONS}
        onChange=${(v) => update({ sort: v })}
      />
    </div>

    ${(filters.searchRunId || active > 0) &&
    html`<div class="chips">
      ${filters.searchRunId &&
      html`<span class="chip">
        From search run <code>${filters.searchRunId.slice(0, 8)}</code>
        <button type="button" class="chip-remove" aria-label="Remove the search run filter" onClick=${() => update({ searchRunId: '' })}>×</button>
      </span>`}
      ${active > 0 &&
      html`<button type="button" class="btn-link small" onClick=${() => navigate(leadsPath({ sort: filters.sort }), { replace: true })}>
        Clear filters
      </button>`}
    </div>`}

    <div class="card card-flush" aria-busy=${list.loading ? 'true' : 'false'}>
      <header class="card-head card-head-pad">
        <p class="table-meta">
          ${list.total !== null && html`<strong data-testid="leads-total">${totalWords(list.total, list.totalCapped)}</strong> · `}
          <span data-testid="leads-count">${list.items.length} shown</span>
          ${list.nextCursor && html`<span class="muted"> · more available</span>`}
          ${list.loaded && list.items.length > 0 && canEdit &&
          html` <button type="button" class="btn btn-ghost btn-sm" data-testid="leads-enroll-matching" onClick=${() => setEnrolling('matching')}>
            Enroll all matching…
          </button>`}
        </p>
        ${selected.size > 0 &&
        html`<div class="bulk-actions" data-testid="leads-bulk">
          <span data-testid="leads-selected-count">${selected.size} selected</span>
          <button type="button" class="btn btn-primary btn-sm" data-testid="leads-enroll" ...${changeProps(canEdit)} onClick=${() => setEnrolling('selected')}>
            Enroll in sequence…
          </button>
          <button type="button" class="btn btn-secondary btn-sm" data-testid="leads-link-icp" ...${changeProps(canEdit, bulk?.busy)} onClick=${() => setLinking(true)}>
            Link to ICP…
          </button>
          <button type="button" class="btn btn-secondary btn-sm" data-testid="leads-bulk-enrich" ...${changeProps(canEdit, bulk?.busy)} onClick=${() => onBulk('enrich')}>
            Enrich
          </button>
          <button type="button" class="btn btn-secondary btn-sm" data-testid="leads-bulk-export" disabled=${bulk?.busy} onClick=${() => onBulk('export')}>
            Export selected
          </button>
          <button type="button" class="btn btn-danger-ghost btn-sm" data-testid="leads-bulk-delete" ...${changeProps(canEdit, bulk?.busy)} onClick=${() => onBulk('delete')}>
            Delete…
          </button>
          <button type="button" class="btn btn-ghost btn-sm" data-testid="leads-select-none" onClick=${() => setSelected(new Map())}>
            Clear selection
          </button>
        </div>`}
        ${list.loading && html`<${Spinner} label="Loading leads…" />`}
      </header>
      ${bulk && (bulk.busy || bulk.words) &&
      html`<p class="bulk-result" role="status" data-testid="leads-bulk-result">${bulk.busy ? 'Working…' : bulk.words}</p>`}
      <${ProblemAlert} error=${bulk?.error} testid="leads-bulk-error" />
      <${ProblemAlert} error=${list.error} testid="leads-error" />
      ${list.loaded &&
      html`<div class=${list.loading ? 'is-stale' : ''}>
        <${DataTable}
          label="Leads"
          columns=${[selectColumn(list.items, selected, setSelected), ...COLUMNS.filter((c) => columns.includes(c.key))]}
          rows=${list.items}
          rowTestId="lead-row"
          sortState=${(key) => headerSortState(filters.sort, key)}
          onSort=${(key) => update({ sort: headerSort(latest.current.sort, key) })}
          rowClass=${(l) => [l.filtered && 'row-filtered', selected.has(l.id) && 'row-selected'].filter(Boolean).join(' ')}
          onRowClick=${(l) => navigate(`/leads/${encodeURIComponent(l.id)}`)}
          empty=${emptyMessage(filters, active)}
        />
      </div>`}
      ${list.nextCursor &&
      html`<div class="load-more">
        <button type="button" class="btn btn-secondary" data-testid="leads-load-more" disabled=${list.loadingMore} onClick=${list.loadMore}>
          ${list.loadingMore ? 'Loading…' : 'Load more'}
        </button>
      </div>`}
    </div>
  </section>`;
}

function emptyMessage(filters, active) {
  if (active > 0 || filters.searchRunId) {
    return html`<p>No leads match these filters.</p>
      ${filters.filtered === 'hidden' &&
      html`<p class="muted small">Leads scoring below their ICP’s minimum are hidden; choose “All” under “Show filtered” to include them.</p>`}`;
  }
  return html`<p>No leads yet.</p>
    <p class="muted small">
      Run a search from an <a href="#/icps">ICP</a>, import a CSV, or <a href="#/leads/new">add one by hand</a>.
    </p>`;
}

/**
 * The text search and score bounds: typed into local drafts, copied into the
 * URL once typing pauses. A URL change from elsewhere (Back, a link, "Clear
 * filters") flows back into the boxes, but our own echo never overwrites
 * what the user has typed since.
 */
function TypedFilters({ filters, update }) {
  const pick = (f) => Object.fromEntries(TYPED.map((k) => [k, f[k]]));
  const [draft, setDraft] = useState(() => pick(filters));
  const pushed = useRef(pick(filters));

  useEffect(() => {
    const t = setTimeout(() => {
      const clean = Object.fromEntries(TYPED.map((k) => [k, cleanTyped[k](draft[k])]));
      if (TYPED.every((k) => clean[k] === filters[k].trim())) return;
      pushed.current = clean;
      update(clean);
    }, DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [draft.q, draft.minScore, draft.maxScore]);

  const draftRef = useRef(draft);
  draftRef.current = draft;
  useEffect(() => {
    const d = draftRef.current;
    const incoming = TYPED.filter((k) => filters[k] !== pushed.current[k] && filters[k] !== cleanTyped[k](d[k]));
    pushed.current = pick(filters);
    if (incoming.length) setDraft({ ...d, ...Object.fromEntries(incoming.map((k) => [k, filters[k]])) });
  }, [filters.q, filters.minScore, filters.maxScore]);

  const set = (k) => (e) => {
    const value = e.currentTarget.value;
    setDraft((d) => ({ ...d, [k]: value }));
  };

  return html`<div class="field filter-q">
      <label for="leads-filter-q">Search</label>
      <input
        id="leads-filter-q"
        type="search"
        data-page-search
        aria-keyshortcuts="/"
        data-testid="leads-filter-q"
        placeholder="Name, company or email"
        value=${draft.q}
        onInput=${set('q')}
      />
    </div>
    <div class="field filter-score">
      <label for="leads-filter-min-score">Score</label>
      <div class="range-pair">
        <input
          id="leads-filter-min-score"
          type="number"
          min="0"
          max="100"
          inputmode="numeric"
          placeholder="min"
          aria-label="Minimum score"
          data-testid="leads-filter-min-score"
          value=${draft.minScore}
          onInput=${set('minScore')}
        />
        <span aria-hidden="true">–</span>
        <input
          type="number"
          min="0"
          max="100"
          inputmode="numeric"
          placeholder="max"
          aria-label="Maximum score"
          data-testid="leads-filter-max-score"
          value=${draft.maxScore}
          onInput=${set('maxScore')}
        />
      </div>
    </div>`;
}

/**
 * The list for one API query: the first page whenever the query changes,
 * then "Load more" appends the next page by cursor. Answers for a query
 * that is no longer current are dropped.
 */
function useLeadList(apiQuery) {
  // Back from a lead: the rows that were loaded show at once, where they were, and are read again fresh
  // (as many as there were, in one request) rather than dropped to the first page.
  const [s, setS] = useState(() => {
    const kept = placeOf(apiQuery);
    const empty = { items: [], nextCursor: null, total: null, totalCapped: false, loading: true, loadingMore: false, loaded: false, error: null };
    return kept?.items
      ? { ...empty, items: kept.items, nextCursor: kept.nextCursor, total: kept.total ?? null, totalCapped: !!kept.totalCapped, loaded: true, restored: true }
      : empty;
  });
  const current = useRef(apiQuery);
  const [reloads, setReloads] = useState(0);
  const quietNext = useRef(false); // the next read is a live update's: no spinner
  useEffect(() => {
    if (s.loaded) keepPlace(apiQuery, { items: s.items, nextCursor: s.nextCursor, total: s.total, totalCapped: s.totalCapped });
  }, [s.items, s.nextCursor, s.total]);

  useEffect(() => {
    current.current = apiQuery;
    const quiet = quietNext.current;
    quietNext.current = false;
    if (!quiet) setS((p) => ({ ...p, loading: true, error: null }));
    const kept = placeOf(apiQuery);
    const query = new URLSearchParams(apiQuery);
    if (kept?.items?.length) query.set('limit', String(refreshLimit(kept.items.length)));
    api.get(`/v1/leads?${query}`).then(
      (page) => {
        if (current.current !== apiQuery) return;
        setS((p) => ({
          ...p,
          items: page?.items || [],
          nextCursor: page?.nextCursor || null,
          total: page?.total ?? null, // counted on the first page; "Load more" keeps it
          totalCapped: !!page?.totalCapped,
          loading: false,
          loadingMore: false,
          loaded: true,
          error: null,
        }));
      },
      (error) => {
        if (current.current !== apiQuery) return;
        setS((p) => ({ ...p, loading: false, error }));
      },
    );
  }, [apiQuery, reloads]);

  function loadMore() {
    const q = apiQuery;
    const cursor = s.nextCursor;
    if (!cursor || s.loadingMore) return;
    setS((p) => ({ ...p, loadingMore: true, error: null }));
    api.get(`/v1/leads?${filtersToApiQueryWithCursor(q, cursor)}`).then(
      (page) => {
        if (current.current !== q) return;
        setS((p) => {
          // A lead created meanwhile can shift pages: never show one twice.
          const seen = new Set(p.items.map((l) => l.id));
          const more = (page?.items || []).filter((l) => !seen.has(l.id));
          return { ...p, items: [...p.items, ...more], nextCursor: page?.nextCursor || null, loadingMore: false };
        });
      },
      (error) => {
        if (current.current !== q) return;
        setS((p) => ({ ...p, loadingMore: false, error }));
      },
    );
  }

  /** Read the list again (as many rows as are loaded); `quiet`: no spinner, for a live update. */
  const reload = ({ quiet = false } = {}) => {
    quietNext.current = quiet;
    setReloads((n) => n + 1);
  };
  return { ...s, loadMore, reload };
}

/**
 * The list's scroll, kept with its rows while the user is on a lead, and given back when the same list
 * shows its kept rows again (`restored`). `path` is the list's URL, for the lead page's "← Leads".
 *
 * The scroll is read as the page goes, however the user scrolled (wheel, keys, the scroll bar): in a layout
 * effect's cleanup, which runs in the commit that removes the page, while its rows are still in the document.
 * A scroll listener kept until a plain effect's cleanup was not enough: Preact runs those after the next paint,
 * by when the rows are gone, the browser has clamped the scroll to the shorter page and told the listener 0.
 */
function useKeptScroll(key, restored, path) {
  useLayoutEffect(() => {
    if (restored) window.scrollTo(0, placeOf(key)?.scrollY || 0);
  }, []);
  useEffect(() => {
    keepPlace(key, { path });
  }, [key, path]);
  useLayoutEffect(() => () => keepPlace(key, { scrollY: window.scrollY }), [key]);
}

/**
 * The selected leads as one CSV file, whatever the filters now say: read in parts of EXPORT_PART ids (one
 * URL each), in the table's sort, joined under one header. Resolves to { exported }.
 */
async function exportSelection(ids, sort) {
  const texts = [];
  for (const part of parts(ids, EXPORT_PART)) {
    const query = new URLSearchParams({ filtered: 'all', sort, ids: part.join(',') });
    const { blob } = await api.download(`/v1/leads/export.csv?${query}`, 'text/csv');
    texts.push(await blob.text());
  }
  const csv = joinCsv(texts);
  saveBlob(new Blob([csv], { type: 'text/csv' }), datedFilename('leads-selected', 'csv'));
  return { exported: csvRowCount(csv) };
}

function filtersToApiQueryWithCursor(apiQuery, cursor) {
  const p = new URLSearchParams(apiQuery);
  p.set('cursor', cursor);
  return p.toString();
}

async function importCsv(file, setImported, onDone) {
  // Cancelling is offered while the file uploads: the service writes nothing until all of it is in.
  // Once uploaded, the file is being written in one transaction and is no longer the browser's to stop.
  const upload = new AbortController();
  const cancel = () => upload.abort();
  setImported({ name: file.name, busy: true, progress: 0, cancel, result: null, error: null });
  // The gateway reads the file as it arrives, so the upload's progress is the import's; at 100% the
  // leads service is writing the whole file at once.
  const onProgress = (progress) => setImported((now) => (now?.busy ? { ...now, progress } : now));
  try {
    const result = await api.upload('/v1/leads/import', file, 'text/csv', onProgress, upload.signal);
    setImported({ name: file.name, busy: false, result, error: null });
    onDone();
  } catch (error) {
    if (error.name === 'AbortError') {
      setImported({ name: file.name, busy: false, cancelled: true, result: null, error: null });
      onDone(); // in the rare case the whole file had already arrived, its leads show
    } else {
      setImported({ name: file.name, busy: false, result: null, error });
    }
  }
}

/** "Import CSV": a button-looking label around a hidden file picker. */
function ImportButton({ busy, progress = 0, onFile }) {
  function onChange(e) {
    const input = e.currentTarget;
    const file = input.files?.[0];
    input.value = ''; // choosing the same file again still fires "change"
    if (file) onFile(file);
  }
  return html`<label class=${busy ? 'btn btn-secondary file-btn is-busy' : 'btn btn-secondary file-btn'}>
    <span data-testid="leads-import-state" aria-live="polite">${busy ? importState(progress) : 'Import CSV'}</span>
    <input
      type="file"
      accept=".csv,text/csv"
      class="visually-hidden"
      data-testid="leads-import-file"
      disabled=${busy}
      onChange=${onChange}
    />
  </label>`;
}
