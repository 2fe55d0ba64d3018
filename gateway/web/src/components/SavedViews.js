import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { useLoad } from '../hooks.js';
import { formProblem, requiredErrors, useFocusOnError } from '../forms.js';
import { viewLabel } from '../leadViews.js';
import { Field } from './Field.js';
import { ProblemAlert } from './ProblemAlert.js';

const CHANGERS = ['admin', 'owner']; // besides its owner, who may rename or delete a shared view
const newKey = () => globalThis.crypto?.randomUUID?.() || `${Date.now()}-${Math.random()}`;

/**
 * Saved views of a list (GET /v1/views?page=…): pick one to apply it; save the list as it is now under a
 * name (private, or shared with the org by a member or above); rename, share or delete the one on screen;
 * after changing the filters, sort or columns of a view, save them over it (PATCH, the view's name kept).
 * `makeBody(name, shared)` is the view of what is on screen; `onApply(view)`; `matching(views)` finds the
 * view on screen, if any; `role`: the user's role in the org.
 */
export function SavedViews({ page, makeBody, onApply, matching, role }) {
  const views = useLoad(() => api.get(`/v1/views?page=${encodeURIComponent(page)}`), [page]);
  const list = views.data?.views || [];
  const active = matching(list);
  const [form, setForm] = useState(null); // { mode: 'save' | 'rename', name, shared, key, busy, error }
  const [said, setSaid] = useState(''); // what the last change did, for screen readers too
  const [error, setError] = useState(null);
  // The view the list was last shown as (picked, saved, or matched): once the filters move away from it, the
  // user may save them over it.
  const [baseId, setBaseId] = useState(null);
  const [savingOver, setSavingOver] = useState(false);
  useEffect(() => {
    if (active) setBaseId(active.id);
  }, [active?.id]);
  const base = !active && list.find((v) => v.id === baseId);
  const mayChange = (view) => view && (view.mine || CHANGERS.includes(role));
  const canShare = role !== 'viewer';
  const canChange = mayChange(active);
  const formRef = useFocusOnError(form?.error);
  // The form opened ("Save view…", "Rename…"): its name box takes the focus, so what the user types lands there
  // (`autofocus` acts only as a page loads). Closed, focus goes back to the button that opened it.
  const nameRef = useRef(null);
  const opener = useRef(null);
  useEffect(() => {
    if (form?.key) nameRef.current?.focus();
    else opener.current?.focus?.();
  }, [form?.key]);

  function open(mode, event) {
    opener.current = event?.currentTarget || null;
    setSaid('');
    setError(null);
    setForm(
      mode === 'save'
        ? { mode, name: '', shared: false, key: newKey() }
        : { mode, name: active.name, shared: active.shared, key: newKey() },
    );
  }

  async function onSubmit(e) {
    e.preventDefault();
    const problem = formProblem(requiredErrors(form, { name: 'Enter a name for the view' }));
    if (problem) return setForm({ ...form, error: problem });
    setForm({ ...form, busy: true, error: null });
    try {
      const shared = canShare && form.shared;
      const saved =
        form.mode === 'save'
          ? await api.postOnce('/v1/views', makeBody(form.name, shared), form.key)
          : await api.patch(`/v1/views/${encodeURIComponent(active.id)}`, { name: form.name.trim(), ...(canShare ? { shared } : {}) });
      setForm(null);
      setBaseId(saved.id);
      setSaid(`${form.mode === 'save' ? 'Saved' : 'Renamed to'} “${saved.name}”${saved.shared ? ', shared with your org' : ''}.`);
      await views.reload();
    } catch (err) {
      setForm((f) => f && { ...f, busy: false, error: err });
    }
  }

  async function onDelete() {
    if (!window.confirm(`Delete the view “${active.name}”${active.shared ? ' for everyone in your org' : ''}?`)) return;
    setError(null);
    try {
      await api.delete(`/v1/views/${encodeURIComponent(active.id)}`);
      setBaseId(null);
      setSaid(`Deleted “${active.name}”.`);
      await views.reload();
    } catch (err) {
      setError(err);
    }
  }

  /** The list's filters, sort and columns saved over the view it was shown as; its name and sharing kept. */
  async function onSaveOver() {
    const view = base;
    if (view.shared && !window.confirm(`Save over “${view.name}” for everyone in your org?`)) return;
    setSaid('');
    setError(null);
    setSavingOver(true);
    try {
      const { filters, sort, columns } = makeBody(view.name, view.shared);
      const saved = await api.patch(`/v1/views/${encodeURIComponent(view.id)}`, { filters, sort, columns });
      setSaid(`Saved over “${saved.name}”.`);
      await views.reload();
    } catch (err) {
      setError(err);
    } finally {
      setSavingOver(false);
    }
  }

  function onPick(id) {
    const view = list.find((v) => v.id === id);
    if (view) {
      setSaid('');
      setBaseId(view.id);
      onApply(view);
    }
  }

  return html`<div class="views" data-testid="views">
    <div class="views-bar">
      <div class="field views-pick">
        <label for="saved-view">Saved view</label>
        <select id="saved-view" data-testid="views-select" value=${active?.id || ''} onChange=${(e) => onPick(e.currentTarget.value)}>
          <option value="">${list.length ? 'Unsaved view' : 'No saved views yet'}</option>
          ${list.map((v) => html`<option key=${v.id} value=${v.id}>${viewLabel(v)}</option>`)}
        </select>
      </div>
      <button type="button" class="btn btn-secondary btn-sm" data-testid="views-save" onClick=${(e) => open('save', e)}>Save view…</button>
      ${mayChange(base) &&
      html`<button type="button" class="btn btn-secondary btn-sm views-save-over" data-testid="views-save-over" disabled=${savingOver}
        title=${`Save these filters, sort and columns over “${base.name}”`} onClick=${onSaveOver}>
        ${savingOver ? 'Saving…' : `Save over “${base.name}”`}
      </button>`}
      ${canChange &&
      html`<button type="button" class="btn btn-ghost btn-sm" data-testid="views-rename" onClick=${(e) => open('rename', e)}>Rename…</button>
        <button type="button" class="btn btn-danger-ghost btn-sm" data-testid="views-delete" onClick=${onDelete}>Delete view</button>`}
      <span class="visually-hidden" role="status">${said}</span>
      ${said && html`<span class="muted small" data-testid="views-said" aria-hidden="true">${said}</span>`}
    </div>
    ${form &&
    html`<form class="views-form" ref=${formRef} onSubmit=${onSubmit} noValidate data-testid="views-form">
      <${Field}
        id="view-name"
        name="name"
        label=${form.mode === 'save' ? 'Name of the new view' : 'New name'}
        testid="views-name"
        value=${form.name}
        maxLength="100"
        inputRef=${nameRef}
        error=${form.error}
        onKeyDown=${(e) => e.key === 'Escape' && setForm(null)}
        onInput=${(e) => setForm({ ...form, name: e.currentTarget.value })}
      />
      <label class="check">
        <input
          type="checkbox"
          data-testid="views-shared"
          checked=${form.shared}
          disabled=${!canShare}
          aria-describedby=${canShare ? undefined : 'views-shared-hint'}
          onChange=${(e) => setForm({ ...form, shared: e.currentTarget.checked })}
        />
        <span>Share with everyone in the org</span>
      </label>
      ${!canShare && html`<p class="field-hint" id="views-shared-hint">Viewers keep views for themselves; a member can share one.</p>`}
      <div class="views-form-actions">
        <button type="submit" class="btn btn-primary btn-sm" data-testid="views-form-submit" disabled=${form.busy}>
          ${form.busy ? 'Saving…' : form.mode === 'save' ? 'Save view' : 'Rename'}
        </button>
        <button type="button" class="btn btn-ghost btn-sm" onClick=${() => setForm(null)}>Cancel</button>
      </div>
      <${ProblemAlert} error=${form.error} fields=${['name']} testid="views-form-error" />
    </form>`}
    <${ProblemAlert} error=${error || views.error} testid="views-error" />
  </div>`;
}
