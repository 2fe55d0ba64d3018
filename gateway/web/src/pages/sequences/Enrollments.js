import { html } from 'htm/preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../../api.js';
import { formatTime, personName } from '../../format.js';
import { DataTable } from '../../components/DataTable.js';
import { ListTotal } from '../../components/ListTotal.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Select } from '../../components/Select.js';
import { Spinner } from '../../components/Spinner.js';
import { EnrollResult, ReenrollChoice, enrollLeads, useEnrolledOnce } from './EnrollPanel.js';
import { LeadName, LeadSearch } from './leads.js';
import { ENROLLMENT_STATES, isInProgress, waitingText } from './model.js';
import { StateBadge } from './StateBadge.js';
import { useLiveRefresh } from '../../live.js';
import { changeProps, useCanChange } from '../../roles.js';

// Sends and stops happen in the background: the list keeps itself current. Each enrollment carries its
// lead's name and email (the gateway reads them once per page), so no lead is fetched on its own.
const PAGE = 100;

/** A sequence's enrollments (state, step, next due time, why waiting; stop one), and enrolling more. */
export function Enrollments({ sequence }) {
  const [filter, setFilter] = useState('');
  const list = useEnrollmentList(sequence.id, filter);
  const [picking, setPicking] = useState(false);
  const [stopping, setStopping] = useState({ id: null, error: null });
  const canEdit = useCanChange(); // a viewer sees every enrollment, enrolls and stops none
  const shownState = useRef(sequence.state);
  useEffect(() => {
    // A pause or an activation changes every enrollment's state at once: show it now, not at the next refresh.
    if (shownState.current !== sequence.state) list.refresh();
    shownState.current = sequence.state;
  }, [sequence.state]);

  async function stop(enrollment) {
    setStopping({ id: enrollment.id, error: null });
    try {
      const url = `/v1/sequences/${encodeURIComponent(sequence.id)}/enrollments/${encodeURIComponent(enrollment.id)}/stop`;
      list.replace(await api.post(url, {}));
      setStopping({ id: null, error: null });
    } catch (error) {
      setStopping({ id: null, error });
    }
  }

  const steps = sequence.steps.length;
  const columns = [
    {
      key: 'lead',
      label: 'Lead',
      render: (e) => html`<${LeadName} id=${e.leadId} lead=${e.lead} />${e.lead?.email && html`<div class="muted small">${e.lead.email}</div>`}`,
    },
    { key: 'state', label: 'State', render: (e) => html`<${StateBadge} state=${e.state} testid="enrollment-state" />` },
    {
      key: 'step',
      label: 'Step',
      className: 'nowrap',
      render: (e) => html`<span data-testid="enrollment-step">${e.currentStep ? `${e.currentStep} of ${steps}` : `${e.stepsDone} done`}</span>`,
    },
    {
      key: 'due',
      label: 'Next due',
      className: 'nowrap',
      render: (e) => html`<span data-testid="enrollment-due">${e.nextDueAt && isInProgress(e) ? formatTime(e.nextDueAt) : '—'}</span>`,
    },
    {
      key: 'why',
      label: 'Why waiting / how it ended',
      render: (e) => html`<span data-testid="enrollment-why">${waitingText(e, { sequenceState: sequence.state, when: formatTime })}</span>`,
    },
    {
      key: 'actions',
      label: html`<span class="visually-hidden">Actions</span>`,
      align: 'right',
      render: (e) =>
        isInProgress(e) &&
        html`<button type="button" class="btn btn-ghost btn-sm" data-testid="enrollment-stop" ...${changeProps(canEdit, stopping.id === e.id)}
          onClick=${() => stop(e)}>${stopping.id === e.id ? 'Stopping…' : 'Stop'}</button>`,
    },
  ];

  return html`<article class="card card-flush" aria-label="Enrollments">
    <header class="card-head card-head-pad enrollments-head">
      <div>
        <h2 class="card-subtitle">Enrollments</h2>
        <${ListTotal} list=${list} one="enrollment" many="enrollments" testid="enrollments-total" />
      </div>
      <div class="inline-controls">
        <${Select}
          id="enrollments-filter"
          label="State"
          testid="enrollments-filter"
          value=${filter}
          options=${[{ value: '', label: 'Every state' }, ...ENROLLMENT_STATES.map((s) => ({ value: s, label: s.replace('_', ' ') }))]}
          onChange=${setFilter}
        />
        ${sequence.state !== 'archived' &&
        html`<button type="button" class="btn btn-secondary" data-testid="enroll-open" aria-expanded=${picking} ...${changeProps(canEdit)}
          onClick=${() => setPicking(!picking)}>${picking ? 'Close' : 'Enroll leads'}</button>`}
      </div>
    </header>
    ${picking && canEdit && html`<${EnrollFromLeads} sequence=${sequence} onEnrolled=${list.refresh} />`}
    <${ProblemAlert} error=${list.error || stopping.error} testid="enrollments-error" />
    ${!list.loaded && !list.error && html`<div class="card-pad"><${Spinner} label="Loading enrollments…" /></div>`}
    ${list.loaded &&
    html`<${DataTable}
      label="Enrollments"
      columns=${columns}
      rows=${list.items}
      rowTestId="enrollment-row"
      empty=${html`<p>${filter ? 'No enrollment in this state.' : 'No lead enrolled yet.'}</p>
        <p class="muted small">Enroll leads here, or select them in the <a href="#/leads">lead list</a>.</p>`}
    />`}
    ${list.nextCursor &&
    html`<div class="load-more">
      <button type="button" class="btn btn-secondary" data-testid="enrollments-load-more" disabled=${list.loadingMore} onClick=${list.loadMore}>
        ${list.loadingMore ? 'Loading…' : 'Load more'}
      </button>
    </div>`}
  </article>`;
}

/**
 * Pick leads from the lead list (search, tick) and enroll them in this sequence. Once they are enrolled the
 * button stays pressed until another choice is made.
 */
function EnrollFromLeads({ sequence, onEnrolled }) {
  const [chosen, setChosen] = useState(() => new Map());
  const [reenroll, setReenroll] = useState(false);
  const [state, setState] = useState({ busy: false, error: null, result: null });
  const key = JSON.stringify([[...chosen.keys()], reenroll]);
  const once = useEnrolledOnce(key);
  const toggle = (lead, on) =>
    setChosen((c) => {
      const next = new Map(c);
      if (on) next.set(lead.id, lead);
      else next.delete(lead.id);
      return next;
    });

  async function onSubmit(e) {
    e.preventDefault();
    if (once.done) return;
    const asked = key;
    setState({ busy: true, error: null, result: null });
    try {
      const result = await enrollLeads(sequence.id, [...chosen.keys()], undefined, { reenroll });
      setState({ busy: false, error: null, result });
      // The ticks are cleared: a lead enrolled now is not sent along with the next leads ticked (it would come back
      // "already enrolled"). The button reads "Enrolled" until another lead is ticked.
      if (asked === key) {
        setChosen(new Map());
        once.markDone(JSON.stringify([[], reenroll]));
      }
      onEnrolled();
    } catch (error) {
      setState({ busy: false, error, result: null });
    }
  }

  const names = useRef(new Map());
  for (const [id, lead] of chosen) names.current.set(id, personName(lead));
  const n = chosen.size;
  return html`<form class="enroll-picker card-pad" onSubmit=${onSubmit} aria-label="Enroll leads">
    <${LeadSearch} idPrefix="enroll-lead" selected=${new Set(chosen.keys())} onToggle=${toggle} label="Find leads to enroll" />
    ${sequence.state !== 'active' &&
    html`<p class="field-hint">The sequence is ${sequence.state}: leads enrolled now wait until it is active.</p>`}
    <div class="button-row">
      <${ReenrollChoice} checked=${reenroll} onChange=${setReenroll} />
      <button type="submit" class="btn btn-primary" data-testid="enroll-submit" disabled=${state.busy || n === 0 || once.done}>
        ${state.busy ? 'Enrolling…' : once.done ? 'Enrolled' : `Enroll ${n} ${n === 1 ? 'lead' : 'leads'}`}
      </button>
    </div>
    ${once.done && html`<p class="field-hint" data-testid="enroll-done-hint">Enrolled. Tick other leads to enroll more.</p>`}
    <${ProblemAlert} error=${state.error} testid="enroll-error" />
    <${EnrollResult} result=${state.result} nameOf=${(id) => names.current.get(id) || id} />
  </form>`;
}

/**
 * The enrollments for a state filter: the first page, refreshed on its sequence's live events; "Load more"
 * appends pages by cursor, which a refresh keeps (updating the rows it sees again).
 */
function useEnrollmentList(sequenceId, filter) {
  const [s, setS] = useState({ items: [], nextCursor: null, total: null, totalCapped: false, loaded: false, error: null, loadingMore: false, more: false });
  const current = useRef(filter);
  const path = (cursor) =>
    `/v1/sequences/${encodeURIComponent(sequenceId)}/enrollments?${new URLSearchParams({
      limit: String(PAGE),
      ...(filter ? { state: filter } : {}),
      ...(cursor ? { cursor } : {}),
    })}`;

  const refresh = useCallback(() => {
    const asked = filter;
    return api.get(path()).then(
      (page) => {
        if (current.current !== asked) return;
        setS((p) => {
          // The first page carries the server's count of the enrollments matching the filter.
          const counted = { total: page.total ?? null, totalCapped: !!page.totalCapped };
          if (!p.more) return { ...p, ...counted, items: page.enrollments, nextCursor: page.nextCursor, loaded: true, error: null };
          const fresh = new Map(page.enrollments.map((e) => [e.id, e]));
          const kept = p.items.map((e) => fresh.get(e.id) || e);
          const seen = new Set(kept.map((e) => e.id));
          return { ...p, ...counted, items: [...kept, ...page.enrollments.filter((e) => !seen.has(e.id))], error: null };
        });
      },
      (error) => current.current === asked && setS((p) => ({ ...p, error, loaded: p.loaded })),
    );
  }, [sequenceId, filter]);

  useEffect(() => {
    current.current = filter;
    setS({ items: [], nextCursor: null, total: null, totalCapped: false, loaded: false, error: null, loadingMore: false, more: false });
    refresh();
  }, [refresh]);
  useLiveRefresh(refresh, { match: (e) => e.type.startsWith('sequences.') && e.data.sequenceId === sequenceId });

  function loadMore() {
    const asked = filter;
    setS((p) => ({ ...p, loadingMore: true }));
    api.get(path(s.nextCursor)).then(
      (page) => {
        if (current.current !== asked) return;
        setS((p) => {
          const seen = new Set(p.items.map((e) => e.id));
          const items = [...p.items, ...page.enrollments.filter((e) => !seen.has(e.id))];
          return { ...p, items, nextCursor: page.nextCursor, loadingMore: false, more: true };
        });
      },
      (error) => setS((p) => ({ ...p, error, loadingMore: false })),
    );
  }

  /** One enrollment as an action answered it, shown at once. */
  const replace = (enrollment) => setS((p) => ({ ...p, items: p.items.map((e) => (e.id === enrollment.id ? enrollment : e)) }));
  return { ...s, hasMore: Boolean(s.nextCursor), refresh, loadMore, replace };
}
