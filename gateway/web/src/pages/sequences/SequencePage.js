import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { navigate } from '../../router.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { Enrollments } from './Enrollments.js';
import { Progress } from './Progress.js';
import { ACTION_LABELS, lifecycleActions, windowText } from './model.js';
import { SequenceForm } from './SequenceForm.js';
import { StateBadge } from './StateBadge.js';
import { changeProps, useCanChange } from '../../roles.js';

/** #/sequences/new and #/sequences/:id: the builder, the lifecycle, and (once saved) its progress and enrollments. */
export function SequencePage({ params }) {
  const id = params.id || null;
  const { data: sequence, error, setData, reload } = useLoad(
    () => (id ? api.get(`/v1/sequences/${encodeURIComponent(id)}`) : Promise.resolve(null)),
    [id],
  );
  const [dirty, setDirty] = useState(false);
  const [moveError, setMoveError] = useState(null);

  useEffect(() => {
    if (sequence?.name) document.title = `${sequence.name} · Sequence · Lead Flood`;
  }, [sequence?.name]);

  if (!id) {
    return html`<section class="wide">
      <header class="page-head">
        <a class="back-link" href="#/sequences">← Sequences</a>
        <h1>New sequence</h1>
        <p class="muted">Its steps, their timing and what they say. Saved as a draft: nothing is sent until you activate it.</p>
      </header>
      <${SequenceForm}
        sequence=${null}
        onSaved=${(saved) => navigate(`/sequences/${encodeURIComponent(saved.id)}`, { replace: true })}
      />
    </section>`;
  }

  if (!sequence) {
    return html`<section>
      <header class="page-head"><a class="back-link" href="#/sequences">← Sequences</a><h1>Sequence</h1></header>
      ${error ? html`<${ProblemAlert} error=${error} testid="seq-load-error" />` : html`<div class="card"><${Spinner} label="Loading the sequence…" /></div>`}
    </section>`;
  }

  return html`<section class="wide">
    <header class="page-head page-head-row">
      <div>
        <a class="back-link" href="#/sequences">← Sequences</a>
        <h1>${sequence.name} <${StateBadge} state=${sequence.state} testid="sequence-state" /></h1>
        <p class="muted small">Sending window: ${windowText(sequence.window)}, in each lead's own time zone where it is known</p>
      </div>
      <${Lifecycle}
        sequence=${sequence}
        dirty=${dirty}
        onChanged=${(changed) => {
          setMoveError(null);
          setData(changed);
        }}
        onRefused=${(err) => {
          setMoveError(err);
          if (err.status === 409) reload(); // changed elsewhere meanwhile: show the state it is in
        }}
      />
    </header>
    <${ProblemAlert} error=${moveError} testid="seq-lifecycle-error" />
    <${SequenceForm}
      key=${sequence.id}
      sequence=${sequence}
      readOnly=${sequence.state === 'archived'}
      onSaved=${setData}
      onDirtyChange=${setDirty}
    />
    <${Progress} key=${`progress-${sequence.id}`} sequence=${sequence} />
    <${Enrollments} key=${sequence.id} sequence=${sequence} />
  </section>`;
}

/** Activate, pause, resume, archive: the moves the sequence's state allows; onRefused(error) names its state. */
function Lifecycle({ sequence, dirty, onChanged, onRefused }) {
  const [busy, setBusy] = useState(null);
  const actions = lifecycleActions(sequence.state);
  const canEdit = useCanChange(); // a viewer sees where the sequence stands, moves it nowhere

  async function run(action) {
    if (action === 'archive' && !window.confirm(`Archive “${sequence.name}”? Its leads stop where they are, and it can no longer be changed.`)) return;
    setBusy(action);
    try {
      onChanged(await api.post(`/v1/sequences/${encodeURIComponent(sequence.id)}/${action}`));
    } catch (err) {
      onRefused(err);
    } finally {
      setBusy(null);
    }
  }

  // Starting to send what is saved while the page shows something else would surprise: save first.
  const waitsForSave = (action) => dirty && (action === 'activate' || action === 'resume');
  return html`<div class="lifecycle">
    <div class="head-actions">
      ${actions.map(
        (action) => html`<button
          type="button"
          key=${action}
          class=${action === 'archive' ? 'btn btn-danger-ghost' : action === 'pause' ? 'btn btn-secondary' : 'btn btn-primary'}
          data-testid=${`seq-${action}`}
          title=${waitsForSave(action) ? 'Save your changes first' : undefined}
          ...${changeProps(canEdit, Boolean(busy) || waitsForSave(action))}
          onClick=${() => run(action)}
        >
          ${busy === action ? `${ACTION_LABELS[action]}…` : ACTION_LABELS[action]}
        </button>`,
      )}
    </div>
    ${dirty && actions.some(waitsForSave) && html`<p class="muted small">Save your changes before you ${sequence.state === 'draft' ? 'activate' : 'resume'} it.</p>`}
  </div>`;
}
