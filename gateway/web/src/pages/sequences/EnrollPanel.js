// Enrolling chosen leads in a sequence: from the lead table's selection (EnrollPanel) and from a
// sequence's page (which chooses the sequence itself); both show what became of each lead (EnrollResult).
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { listPreview } from '../../format.js';
import { readAll } from '../../pagedList.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Select } from '../../components/Select.js';
import { Spinner } from '../../components/Spinner.js';
import { chunks } from './model.js';
import { formatCount } from '../runs/model.js';
import { changeProps, useCanChange } from '../../roles.js';

// Leads per call: the service looks each one up before it enrolls any (a second or so for 250).
const PER_CALL = 250;
// The service's words for a lead that has been through the sequence before (its enrollment ended).
const WENT_THROUGH = 'already went through this sequence';

/**
 * Enrolls the leads, PER_CALL a call, onProgress(done) after each: { enrolled: [...], skipped:
 * [{ leadId, reason }] } over all calls. A call that fails stops there; those before it stay enrolled
 * (enrolling them again skips them as already enrolled). With `reenroll`, leads that went through the
 * sequence before start it again.
 */
export async function enrollLeads(sequenceId, leadIds, onProgress, { reenroll = false } = {}) {
  const total = { enrolled: [], skipped: [] };
  for (const part of chunks(leadIds, PER_CALL)) {
    const body = { leadIds: part, ...(reenroll ? { reenroll: true } : {}) };
    const reply = await api.post(`/v1/sequences/${encodeURIComponent(sequenceId)}/enrollments`, body);
    total.enrolled.push(...reply.enrolled);
    total.skipped.push(...reply.skipped);
    onProgress?.(total.enrolled.length + total.skipped.length);
  }
  return total;
}

/** The skipped leads by reason, in the order the reasons came: [{ reason, leadIds }]. */
export function skippedByReason(skipped) {
  const groups = new Map();
  for (const { leadId, reason } of skipped) {
    if (!groups.has(reason)) groups.set(reason, []);
    groups.get(reason).push(leadId);
  }
  return [...groups].map(([reason, leadIds]) => ({ reason, leadIds }));
}

/** "2 enrolled · 3 skipped", then how many were skipped for each reason, naming them. */
export function EnrollResult({ result, nameOf = (id) => id, sequenceId }) {
  if (!result) return null;
  const { enrolled, skipped } = result;
  const groups = skippedByReason(skipped);
  return html`<div class=${skipped.length ? 'alert alert-warn' : 'alert alert-info'} role="status" data-testid="enroll-result">
    <strong class="alert-title">
      ${formatCount(enrolled.length)} enrolled${skipped.length ? ` · ${formatCount(skipped.length)} skipped` : ''}
    </strong>
    ${groups.length > 0 &&
    html`<ul class="alert-list">
      ${groups.map(
        (g) => html`<li key=${g.reason} data-testid="enroll-skipped">
          <strong>${formatCount(g.leadIds.length)} ${g.reason}</strong>: ${listPreview(g.leadIds.map(nameOf), 5)}
        </li>`,
      )}
    </ul>`}
    ${groups.some((g) => g.reason.startsWith(WENT_THROUGH)) &&
    html`<p class="alert-detail" data-testid="enroll-again-hint">To send them the sequence once more, tick “Enroll again” and enroll them.</p>`}
    ${sequenceId && html`<p class="alert-detail"><a href=${`#/sequences/${encodeURIComponent(sequenceId)}`}>Open the sequence</a></p>`}
  </div>`;
}

/** The "Enroll again" choice: off, leads that went through the sequence are skipped. */
export function ReenrollChoice({ checked, onChange }) {
  return html`<label class="check" title="Leads that went through this sequence before (completed, replied, stopped…) start it over and are sent its steps again">
    <input type="checkbox" data-testid="enroll-again" checked=${checked} onChange=${(e) => onChange(e.currentTarget.checked)} />
    <span>Enroll again leads that already went through it</span>
  </label>`;
}

/**
 * What an enroll form needs to refuse a second press: `done` once the leads (and sequence, and choices)
 * named by `key` were enrolled, false again as soon as any of them changes.
 */
export function useEnrolledOnce(key) {
  const [doneFor, setDoneFor] = useState(null);
  return { done: doneFor === key, markDone: (asked) => setDoneFor(asked) };
}

const POLL_MS = 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Every lead the lead list's filter matches (`filterQuery`, GET /v1/leads's query), enrolled in the
 * background: the job's progress ({ seen, enrolled, skipped }) through onProgress until it ends.
 */
export async function enrollMatching(sequenceId, filterQuery, onProgress, { reenroll = false } = {}) {
  const again = reenroll ? `${filterQuery ? '&' : ''}reenroll=true` : '';
  const path = `/v1/sequences/${encodeURIComponent(sequenceId)}/enrollments/matching?${filterQuery}${again}`;
  const { jobId } = await api.post(path);
  for (;;) {
    const job = await api.get(`/v1/jobs/${encodeURIComponent(jobId)}`);
    if (job.result) onProgress?.(job.result);
    if (job.status === 'completed') return job.result;
    if (job.status === 'failed') throw Object.assign(new Error(job.error), { title: 'Not every lead was enrolled', detail: job.error });
    await sleep(POLL_MS);
  }
}

/** "12 enrolled · 5 skipped: 3 already enrolled, 2 already went through this sequence" for a filter's job. */
function matchingWords(counts) {
  const why = [
    counts.alreadyEnrolled && `${formatCount(counts.alreadyEnrolled)} already enrolled`,
    counts.wentThrough && `${formatCount(counts.wentThrough)} ${WENT_THROUGH}`,
  ].filter(Boolean);
  const skipped = counts.skipped ? ` · ${formatCount(counts.skipped)} skipped${why.length ? `: ${why.join(', ')}` : ''}` : '';
  return `${formatCount(counts.enrolled)} enrolled${skipped}`;
}

/**
 * The lead table's bulk action: choose an active or draft sequence, enroll the selected leads, or (with
 * `filterQuery`) every lead the list's filter matches. Once they are enrolled the button stays pressed
 * until the choice changes. onEnrolled(result) after a call that answered; onClose() to put it away.
 */
export function EnrollPanel({ leadIds = [], filterQuery = '', matchingTotal = null, matchingCapped = false, nameOf, onEnrolled, onClose }) {
  // Every sequence, however many pages the server gives them in: any of them can be chosen.
  const list = useLoad(() => readAll('/v1/sequences', { items: 'sequences' }).then((sequences) => ({ sequences })), []);
  const usable = (list.data?.sequences || []).filter((s) => s.state === 'active' || s.state === 'draft');
  const [chosen, setChosen] = useState('');
  const [reenroll, setReenroll] = useState(false);
  const [state, setState] = useState({ busy: false, error: null, result: null, sequenceId: '', done: 0 });
  const sequenceId = chosen || usable[0]?.id || '';
  const sequence = usable.find((s) => s.id === sequenceId);
  const key = JSON.stringify([sequenceId, filterQuery, reenroll, leadIds]);
  const once = useEnrolledOnce(key);
  const canEdit = useCanChange();

  async function onSubmit(e) {
    e.preventDefault();
    if (once.done) return;
    const asked = key;
    setState({ busy: true, error: null, result: null, sequenceId, done: 0 });
    if (filterQuery) {
      try {
        const counts = await enrollMatching(sequenceId, filterQuery, (p) => setState((s) => ({ ...s, done: p.seen, counts: p })), { reenroll });
        setState({ busy: false, error: null, result: null, counts, sequenceId, done: 0 });
        once.markDone(asked);
      } catch (error) {
        setState({ busy: false, error, result: null, sequenceId, done: 0 });
      }
      return;
    }
    try {
      const result = await enrollLeads(sequenceId, leadIds, (done) => setState((p) => ({ ...p, done })), { reenroll });
      setState({ busy: false, error: null, result, sequenceId, done: 0 });
      once.markDone(asked);
      onEnrolled?.(result);
    } catch (error) {
      setState({ busy: false, error, result: null, sequenceId, done: 0 });
    }
  }

  const n = leadIds.length;
  // How many the filter matches, as the list counted them (`matchingTotal`, its `total`), when the list gave it.
  const matching = matchingTotal === null ? 'every lead' : `all ${formatCount(matchingTotal)}${matchingCapped ? '+' : ''} ${matchingTotal === 1 ? 'lead' : 'leads'}`;
  const what = filterQuery ? `${matching} matching the filter` : `${formatCount(n)} ${n === 1 ? 'lead' : 'leads'}`;
  return html`<form class="card enroll-panel" aria-label="Enroll in a sequence" onSubmit=${onSubmit} data-testid="enroll-panel">
    <header class="card-head">
      <h2 class="card-subtitle">Enroll ${what} in a sequence</h2>
      <button type="button" class="btn btn-ghost btn-sm" onClick=${onClose}>Close</button>
    </header>
    <${ProblemAlert} error=${list.error} testid="enroll-sequences-error" />
    ${list.loading && !list.data && html`<${Spinner} label="Loading sequences…" />`}
    ${list.data && !usable.length &&
    html`<p class="muted">No active or draft sequence yet. <a href="#/sequences/new">Build one</a>.</p>`}
    ${usable.length > 0 &&
    html`<div class="inline-controls">
      <${Select}
        id="enroll-sequence"
        label="Sequence"
        testid="enroll-sequence"
        value=${sequenceId}
        options=${usable.map((s) => ({ value: s.id, label: `${s.name} (${s.state})` }))}
        onChange=${setChosen}
      />
      <${ReenrollChoice} checked=${reenroll} onChange=${setReenroll} />
      <button type="submit" class="btn btn-primary" data-testid="enroll-confirm" ...${changeProps(canEdit, state.busy || !sequenceId || once.done)}>
        ${state.busy
          ? filterQuery ? `Enrolling… ${formatCount(state.done)} leads so far` : `Enrolling… ${formatCount(state.done)} of ${formatCount(n)}`
          : once.done ? 'Enrolled' : `Enroll ${what}`}
      </button>
    </div>
    ${once.done && html`<p class="field-hint" data-testid="enroll-done-hint">Enrolled. Choose other leads or another sequence to enroll more.</p>`}
    ${sequence?.state === 'draft' && html`<p class="field-hint">A draft sends nothing: its leads wait until you activate it.</p>`}`}
    <${ProblemAlert} error=${state.error} testid="enroll-error" />
    <${EnrollResult} result=${state.result} nameOf=${nameOf} sequenceId=${state.sequenceId} />
    ${state.counts && !state.busy &&
    html`<div class="alert alert-info" role="status" data-testid="enroll-matching-result">
      <strong class="alert-title">${matchingWords(state.counts)}</strong>
      ${state.counts.wentThrough > 0 && !reenroll &&
      html`<p class="alert-detail">To send those that went through it the sequence once more, tick “Enroll again” and enroll them.</p>`}
      <p class="alert-detail"><a href=${`#/sequences/${encodeURIComponent(state.sequenceId)}`}>Open the sequence</a></p>
    </div>`}
  </form>`;
}
