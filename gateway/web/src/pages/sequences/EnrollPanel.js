// Enrolling chosen leads in a sequence: from the lead table's selection (EnrollPanel) and from a
// sequence's page (which chooses the sequence itself); both show what became of each lead (EnrollResult).
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { readAll } from '../../pagedList.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Select } from '../../components/Select.js';
import { Spinner } from '../../components/Spinner.js';
import { chunks } from './model.js';

// Leads per call: the service looks each one up before it enrolls any (a second or so for 250).
const PER_CALL = 250;

/**
 * Enrolls the leads, PER_CALL a call, onProgress(done) after each: { enrolled: [...], skipped:
 * [{ leadId, reason }] } over all calls. A call that fails stops there; those before it stay enrolled
 * (enrolling them again skips them as already enrolled).
 */
export async function enrollLeads(sequenceId, leadIds, onProgress) {
  const total = { enrolled: [], skipped: [] };
  for (const part of chunks(leadIds, PER_CALL)) {
    const reply = await api.post(`/v1/sequences/${encodeURIComponent(sequenceId)}/enrollments`, { leadIds: part });
    total.enrolled.push(...reply.enrolled);
    total.skipped.push(...reply.skipped);
    onProgress?.(total.enrolled.length + total.skipped.length);
  }
  return total;
}

/** "2 enrolled · 1 skipped", and each skipped lead with its reason. */
export function EnrollResult({ result, nameOf = (id) => id, sequenceId }) {
  if (!result) return null;
  const { enrolled, skipped } = result;
  return html`<div class=${skipped.length ? 'alert alert-warn' : 'alert alert-info'} role="status" data-testid="enroll-result">
    <strong class="alert-title">
      ${enrolled.length} enrolled${skipped.length ? ` · ${skipped.length} skipped` : ''}
    </strong>
    ${skipped.length > 0 &&
    html`<ul class="alert-list">
      ${skipped.map((s) => html`<li key=${s.leadId} data-testid="enroll-skipped">${nameOf(s.leadId)}: ${s.reason}</li>`)}
    </ul>`}
    ${sequenceId && html`<p class="alert-detail"><a href=${`#/sequences/${encodeURIComponent(sequenceId)}`}>Open the sequence</a></p>`}
  </div>`;
}

const POLL_MS = 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Every lead the lead list's filter matches (`filterQuery`, GET /v1/leads's query), enrolled in the
 * background: the job's progress ({ seen, enrolled, skipped }) through onProgress until it ends.
 */
export async function enrollMatching(sequenceId, filterQuery, onProgress) {
  const path = `/v1/sequences/${encodeURIComponent(sequenceId)}/enrollments/matching?${filterQuery}`;
  const { jobId } = await api.post(path);
  for (;;) {
    const job = await api.get(`/v1/jobs/${encodeURIComponent(jobId)}`);
    if (job.result) onProgress?.(job.result);
    if (job.status === 'completed') return job.result;
    if (job.status === 'failed') throw Object.assign(new Error(job.error), { title: 'Not every lead was enrolled', detail: job.error });
    await sleep(POLL_MS);
  }
}

/**
 * The lead table's bulk action: choose an active or draft sequence, enroll the selected leads, or (with
 * `filterQuery`) every lead the list's filter matches. onEnrolled(result) after a call that answered;
 * onClose() to put it away.
 */
export function EnrollPanel({ leadIds = [], filterQuery = '', nameOf, onEnrolled, onClose }) {
  // Every sequence, however many pages the server gives them in: any of them can be chosen.
  const list = useLoad(() => readAll('/v1/sequences', { items: 'sequences' }).then((sequences) => ({ sequences })), []);
  const usable = (list.data?.sequences || []).filter((s) => s.state === 'active' || s.state === 'draft');
  const [chosen, setChosen] = useState('');
  const [state, setState] = useState({ busy: false, error: null, result: null, sequenceId: '', done: 0 });
  const sequenceId = chosen || usable[0]?.id || '';
  const sequence = usable.find((s) => s.id === sequenceId);

  async function onSubmit(e) {
    e.preventDefault();
    setState({ busy: true, error: null, result: null, sequenceId, done: 0 });
    if (filterQuery) {
      try {
        const counts = await enrollMatching(sequenceId, filterQuery, (p) => setState((s) => ({ ...s, done: p.seen, counts: p })));
        setState({ busy: false, error: null, result: null, counts, sequenceId, done: 0 });
      } catch (error) {
        setState({ busy: false, error, result: null, sequenceId, done: 0 });
      }
      return;
    }
    try {
      const result = await enrollLeads(sequenceId, leadIds, (done) => setState((p) => ({ ...p, done })));
      setState({ busy: false, error: null, result, sequenceId, done: 0 });
      onEnrolled?.(result);
    } catch (error) {
      setState({ busy: false, error, result: null, sequenceId, done: 0 });
    }
  }

  const n = leadIds.length;
  const what = filterQuery ? 'every lead matching the filter' : `${n} ${n === 1 ? 'lead' : 'leads'}`;
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
      <button type="submit" class="btn btn-primary" data-testid="enroll-confirm" disabled=${state.busy || !sequenceId}>
        ${state.busy
          ? filterQuery ? `Enrolling… ${state.done} leads so far` : `Enrolling… ${state.done} of ${n}`
          : `Enroll ${what}`}
      </button>
    </div>
    ${sequence?.state === 'draft' && html`<p class="field-hint">A draft sends nothing: its leads wait until you activate it.</p>`}`}
    <${ProblemAlert} error=${state.error} testid="enroll-error" />
    <${EnrollResult} result=${state.result} nameOf=${nameOf} sequenceId=${state.sequenceId} />
    ${state.counts && !state.busy &&
    html`<div class="alert alert-info" role="status" data-testid="enroll-matching-result">
      <strong class="alert-title">${state.counts.enrolled} enrolled · ${state.counts.skipped} skipped (already enrolled)</strong>
      <p class="alert-detail"><a href=${`#/sequences/${encodeURIComponent(state.sequenceId)}`}>Open the sequence</a></p>
    </div>`}
  </form>`;
}
