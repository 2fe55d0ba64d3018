import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { readAll, usePagedList } from '../../pagedList.js';
import { navigate } from '../../router.js';
import { formatAgo, formatTime } from '../../format.js';
import { DataTable } from '../../components/DataTable.js';
import { ListTotal, LoadMore } from '../../components/ListTotal.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { LeadName } from './leads.js';
import { useLiveRefresh } from '../../live.js';
import { changeProps, useCanChange } from '../../roles.js';

// Call steps make tasks as their leads reach them (announced with the step), lead runs' call-task actions as they
// work each lead (a run's lead settles after its task is made): the list keeps itself current.
const MADE = (e) =>
  (e.type === 'sequences.step.sent' && Boolean(e.data.taskId)) || (e.type === 'runs.run.progressed' && Boolean(e.data.leadId));
const TABS = [
  { key: 'open', label: 'To do' },
  { key: 'done', label: 'Done' },
];

/** #/tasks: every call to make, whether a sequence or a lead run asked for it (`?state=done` for those completed);
 * complete one when it is made. */
export function Tasks({ query }) {
  const state = query.get('state') === 'done' ? 'done' : 'open';
  // Newest first, a page at a time, with the server's count of the tasks in this tab.
  const list = usePagedList(`/v1/tasks?state=${state}`, { items: 'tasks' });
  // Each task names its sequence: every one is read, however many pages the server gives them in.
  const sequences = useLoad(() => readAll('/v1/sequences', { items: 'sequences' }).then((sequences) => ({ sequences })), []);
  useLiveRefresh(list.reload, { match: MADE });
  const canEdit = useCanChange(); // a viewer sees the calls to make, marks none done
  // Each task carries its lead's name, phone (the number to dial) and email, read by the gateway once per page: no
  // lead is fetched alone.
  const tasks = list.items;
  const names = Object.fromEntries((sequences.data?.sequences || []).map((s) => [s.id, s.name]));
  const [acting, setActing] = useState({ id: null, error: null });

  async function complete(task) {
    setActing({ id: task.id, error: null });
    try {
      await api.post(`/v1/tasks/${encodeURIComponent(task.id)}/complete`);
      list.setItems((items) => items.filter((t) => t.id !== task.id));
      list.reload(); // counted again: one task fewer to do
      setActing({ id: null, error: null });
    } catch (error) {
      setActing({ id: null, error });
    }
  }

  const columns = [
    {
      key: 'title',
      label: 'Task',
      render: (t) => html`<strong data-testid="task-title">${t.title}</strong>${t.notes && html`<div class="muted small task-notes">${t.notes}</div>`}`,
    },
    {
      key: 'lead',
      label: 'Lead',
      render: (t) => html`<${LeadName} id=${t.leadId} lead=${t.lead} />
        ${t.lead?.phone && html`<div><a class="mono" href=${`tel:${t.lead.phone}`} data-testid="task-phone">${t.lead.phone}</a></div>`}
        ${t.lead?.email && html`<div class="muted small">${t.lead.email}</div>`}`,
    },
    { key: 'from', label: 'From', render: (t) => html`<${TaskOrigin} task=${t} names=${names} />` },
    {
      key: 'when',
      label: state === 'done' ? 'Completed' : 'Since',
      className: 'nowrap',
      render: (t) => {
        const at = state === 'done' ? t.completedAt : t.createdAt;
        return html`<span title=${formatTime(at)}>${formatAgo(at)}</span>`;
      },
    },
    {
      key: 'actions',
      label: html`<span class="visually-hidden">Actions</span>`,
      align: 'right',
      render: (t) =>
        t.state === 'open' &&
        html`<button type="button" class="btn btn-primary btn-sm" data-testid="task-complete" ...${changeProps(canEdit, acting.id === t.id)}
          onClick=${() => complete(t)}>${acting.id === t.id ? 'Completing…' : 'Done'}</button>`,
    },
  ];

  return html`<section class="wide">
    <header class="page-head">
      <h1>Tasks</h1>
      <p class="muted">Every call to make: those your sequences ask for as each lead reaches its call step, and those your lead runs ask for.</p>
    </header>
    <nav class="tabs" aria-label="Tasks">
      ${TABS.map(
        (t) => html`<button type="button" key=${t.key} class=${t.key === state ? 'tab active' : 'tab'} data-testid=${`tasks-tab-${t.key}`}
          aria-pressed=${t.key === state} onClick=${() => navigate(t.key === 'open' ? '/tasks' : `/tasks?state=${t.key}`)}>${t.label}</button>`,
      )}
    </nav>
    <${ProblemAlert} error=${list.error || acting.error} testid="tasks-error" />
    ${list.loading && !list.loaded && html`<div class="card"><${Spinner} label="Loading tasks…" /></div>`}
    ${list.loaded &&
    html`<div class="card card-flush">
      <header class="card-head card-head-pad">
        <${ListTotal} list=${list} one=${state === 'done' ? 'task done' : 'task to do'} many=${state === 'done' ? 'tasks done' : 'tasks to do'} testid="tasks-total" />
      </header>
      <${DataTable}
        label="Tasks"
        columns=${columns}
        rows=${tasks}
        rowTestId="task-row"
        empty=${html`<p>${state === 'done' ? 'No task done yet.' : 'Nothing to do.'}</p>
          <p class="muted small">A sequence’s call step makes a task here when a lead reaches it, and so does a lead run with “Call task” ticked: only for a lead with a phone number (add one on the lead’s page).</p>`}
      />
      <${LoadMore} list=${list} testid="tasks-load-more" />
    </div>`}
  </section>`;
}

/** Who asked for the call: the sequence (its name) or the lead run, each a link to it. */
function TaskOrigin({ task, names }) {
  if (task.runId) {
    return html`<a href=${`#/runs/${encodeURIComponent(task.runId)}`} data-testid="task-run">Lead run</a>`;
  }
  return html`<a href=${`#/sequences/${encodeURIComponent(task.sequenceId)}`} data-testid="task-sequence">${names[task.sequenceId] || 'an archived sequence'}</a>`;
}
