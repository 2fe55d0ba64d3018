import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { formatAgo, formatTime } from '../../format.js';
import { DataTable } from '../../components/DataTable.js';
import { Detail } from '../../components/Detail.js';
import { ListTotal, LoadMore } from '../../components/ListTotal.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { Drawer } from '../runs/Drawer.js';
import { changeProps, useCanChange } from '../../roles.js';

/**
 * Jobs that used all their attempts (GET /v1/jobs?status=failed), every service's, newest first: read one, replay
 * it. `jobs`: a usePagedList of them, its total the services' counts added up (a service not answering is left
 * out of both, and named).
 */
export function DeadLetters({ jobs }) {
  const [open, setOpen] = useState(null);
  const [acting, setActing] = useState({ id: null, error: null, replayed: null });
  const items = jobs.items;
  const unavailable = jobs.firstPage?.unavailable || [];

  const canEdit = useCanChange();
  async function replay(job) {
    setActing({ id: job.id, error: null, replayed: null });
    try {
      await api.post(`/v1/jobs/${encodeURIComponent(job.id)}/replay`);
      jobs.setItems((list) => list.filter((j) => j.id !== job.id));
      jobs.reload(); // counted again: one dead letter fewer
      setActing({ id: null, error: null, replayed: job });
      setOpen(null);
    } catch (error) {
      setActing({ id: null, error, replayed: null });
    }
  }

  const replayButton = (j) => html`<button type="button" class="btn btn-secondary btn-sm" data-testid="dead-letter-replay" ...${changeProps(canEdit, acting.id === j.id)}
    onClick=${() => replay(j)}>${acting.id === j.id ? 'Replaying…' : 'Replay'}</button>`;
  const columns = [
    { key: 'type', label: 'Type', render: (j) => html`<strong class="mono small" data-testid="dead-letter-type">${j.type}</strong>` },
    // A long error wraps, clamped to three lines (the whole of it under Details), so the row's actions stay in view.
    { key: 'error', label: 'Error', className: 'span-row error-cell', render: (j) => html`<span class="small clamp-lines" title=${j.error} data-testid="dead-letter-error">${j.error || '—'}</span>` },
    { key: 'attempts', label: 'Attempts', align: 'right', render: (j) => `${j.attempts}/${j.maxAttempts}` },
    { key: 'when', label: 'When', className: 'nowrap', render: (j) => html`<span title=${formatTime(j.finishedAt || j.createdAt)}>${formatAgo(j.finishedAt || j.createdAt)}</span>` },
    {
      key: 'actions',
      label: html`<span class="visually-hidden">Actions</span>`,
      align: 'right',
      className: 'nowrap',
      render: (j) => html`<span class="row-actions">
        <button type="button" class="btn btn-ghost btn-sm" data-testid="dead-letter-open" onClick=${() => setOpen(j)}>Details</button>
        ${replayButton(j)}
      </span>`,
    },
  ];

  return html`<section class="card card-flush scroll-table stack-rows" aria-label="Dead letters">
    <header class="card-head card-head-pad">
      <div>
        <h2 class="card-heading">Dead letters</h2>
        <${ListTotal} list=${jobs} one="dead letter" many="dead letters" testid="dead-letters-total" />
      </div>
      <span class="muted small">Jobs that used every attempt</span>
    </header>
    <${ProblemAlert} error=${jobs.error || acting.error} testid="dead-letters-error" />
    ${unavailable.length > 0 &&
    html`<div class="alert alert-warn" data-testid="dead-letters-unavailable">
      Not answering, so their dead letters are neither listed nor counted: ${unavailable.join(', ')}.
    </div>`}
    ${acting.replayed &&
    html`<div class="alert alert-info" role="status" data-testid="dead-letter-replayed">${acting.replayed.type} queued again.</div>`}
    ${!jobs.loaded && !jobs.error && html`<div class="card-pad"><${Spinner} label="Loading…" /></div>`}
    ${jobs.loaded &&
    html`<${DataTable} label="Dead letters" columns=${columns} rows=${items} rowTestId="dead-letter-row" onRowClick=${setOpen} empty="No dead letter." />`}
    <${LoadMore} list=${jobs} testid="dead-letters-load-more" />
    ${open &&
    html`<${Drawer} title=${`Dead letter · ${open.type}`} onClose=${() => setOpen(null)} testid="dead-letter-drawer">
      <dl class="details">
        <${Detail} label="Job ID" value=${html`<span class="mono">${open.id}</span>`} wide />
        <${Detail} label="Status" value=${open.status} />
        <${Detail} label="Attempts" value=${`${open.attempts}/${open.maxAttempts}`} />
        <${Detail} label="Created" value=${formatTime(open.createdAt)} />
        <${Detail} label="Finished" value=${open.finishedAt && formatTime(open.finishedAt)} />
        <${Detail} label="Error" value=${open.error} wide />
      </dl>
      <h3 class="subheading">Payload</h3>
      <pre class="payload" data-testid="dead-letter-payload">${JSON.stringify(open.payload, null, 2)}</pre>
      ${open.result && html`<h3 class="subheading">Result</h3><pre class="payload">${JSON.stringify(open.result, null, 2)}</pre>`}
      <div class="button-row">${replayButton(open)}</div>
    <//>`}
  </section>`;
}
