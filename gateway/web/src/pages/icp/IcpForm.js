import { html } from 'htm/preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api } from '../../api.js';
import {
  SENIORITIES,
  WEIGHT_KEYS,
  WEIGHTS_TARGET,
  formToBody,
  icpToForm,
  weightsTotal,
} from '../../icp.js';
import { Field } from '../../components/Field.js';
import { ProblemAlert, fieldMessage } from '../../components/ProblemAlert.js';
import { TagInput } from '../../components/TagInput.js';
import { useFocusOnError } from '../../forms.js';
import { VIEWER_CANNOT, changeProps, useCanChange } from '../../roles.js';
import { savedWords } from './saved.js';

// Every field shown inline; the alert lists only server errors for others.
const FIELDS = [
  'name',
  'titles',
  'seniorities',
  'industries',
  'locations',
  'keywords',
  'companySizeMin',
  'companySizeMax',
  'minScore',
  'weights',
  ...WEIGHT_KEYS.map(({ key }) => `weights.${key}`),
];

const TAGS = [
  { name: 'titles', label: 'Job titles', testid: 'icp-titles', placeholder: 'e.g. Head of Sales', hint: 'Press Enter or type a comma to add each one.' },
  { name: 'industries', label: 'Industries', testid: 'icp-industries', placeholder: 'e.g. Software' },
  { name: 'locations', label: 'Locations', testid: 'icp-locations', placeholder: 'e.g. Germany, Berlin' },
  { name: 'keywords', label: 'Keywords', testid: 'icp-keywords', placeholder: 'e.g. SaaS, B2B' },
];

/**
 * The ICP editor. `icp` is null for a new one. onSaved(icp) after a save,
 * onDeleted() after a delete, onDirtyChange(bool) whenever the form starts or
 * stops differing from what is saved.
 */
export function IcpForm({ icp, onSaved, onDeleted, onDirtyChange }) {
  const [form, setForm] = useState(() => icpToForm(icp));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(null); // 'save' | 'delete' | null
  const [saved, setSaved] = useState(false);
  const [savedEffects, setSavedEffects] = useState([]); // what the last save did to the ICP's leads, in words
  const formRef = useFocusOnError(error);
  const nameRef = useRef();
  const canEdit = useCanChange(); // a viewer sees the profile, every control disabled

  useEffect(() => {
    if (!icp && canEdit) nameRef.current?.focus();
  }, []);

  const savedBody = useMemo(() => JSON.stringify(formToBody(icpToForm(icp))), [icp]);
  const dirty = JSON.stringify(formToBody(form)) !== savedBody;
  useEffect(() => onDirtyChange?.(dirty), [dirty]);

  const set = (name) => (value) => {
    setSaved(false);
    setForm((f) => ({ ...f, [name]: value }));
  };
  const setWeight = (key, value) => {
    setSaved(false);
    setForm((f) => ({ ...f, weights: { ...f.weights, [key]: value } }));
  };
  const toggleSeniority = (value, on) =>
    set('seniorities')(on ? [...form.seniorities, value] : form.seniorities.filter((v) => v !== value));

  async function onSubmit(e) {
    e.preventDefault();
    setBusy('save');
    setError(null);
    try {
      const body = formToBody(form);
      const result = icp
        ? await api.put(`/v1/icps/${encodeURIComponent(icp.id)}`, body)
        : await api.post('/v1/icps', body);
      setForm(icpToForm(result));
      setSaved(true);
      setSavedEffects(savedWords(icp, result));
      onSaved?.(result);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  }

  async function onDelete() {
    if (!window.confirm(`Delete the ICP “${icp.name}”? This cannot be undone.`)) return;
    setBusy('delete');
    setError(null);
    try {
      await api.delete(`/v1/icps/${encodeURIComponent(icp.id)}`);
      onDeleted?.();
    } catch (err) {
      setError(err);
      setBusy(null);
    }
  }

  const total = weightsTotal(form.weights);
  // The server's "must add up to 100" is what the total under the weights already says (in red, once it was
  // refused): said once, there. Its own words show only when the total is 100 (some other rule).
  const weightsMsg = fieldMessage(error, 'weights');
  const minScoreMsg = fieldMessage(error, 'minScore');

  return html`<form class="card icp-form" ref=${formRef} onSubmit=${onSubmit} noValidate aria-label="ICP">
    <fieldset class="form plain-fieldset" disabled=${!canEdit}>
    ${!canEdit && html`<div class="alert alert-info" data-testid="icp-read-only">${VIEWER_CANNOT}.</div>`}
    <h2 class="card-heading">${icp ? 'Profile' : 'Describe who you want to reach'}</h2>
    <${ProblemAlert} error=${error} testid="icp-form-error" fields=${FIELDS} />

    <${Field}
      id="icp-name"
      label="Name"
      name="name"
      testid="icp-name"
      inputRef=${nameRef}
      error=${error}
      value=${form.name}
      placeholder="e.g. Sales leaders at German SaaS companies"
      onInput=${(e) => set('name')(e.currentTarget.value)}
    />

    ${TAGS.slice(0, 1).map((t) => tagField(t, form, set, error))}

    <fieldset class=${fieldMessage(error, 'seniorities') ? 'fieldset has-error' : 'fieldset'}>
      <legend>Seniority</legend>
      <div class="check-grid">
        ${SENIORITIES.map(
          (s) => html`<label class="check" key=${s.value}>
            <input
              type="checkbox"
              data-testid=${`icp-seniority-${s.value}`}
              checked=${form.seniorities.includes(s.value)}
              onChange=${(e) => toggleSeniority(s.value, e.currentTarget.checked)}
            />
            <span>${s.label}</span>
          </label>`,
        )}
      </div>
      ${fieldMessage(error, 'seniorities') && html`<p class="field-error">${fieldMessage(error, 'seniorities')}</p>`}
    </fieldset>

    ${TAGS.slice(1).map((t) => tagField(t, form, set, error))}

    <div class="form-row">
      <${Field}
        id="icp-size-min"
        label="Min employees"
        name="companySizeMin"
        type="number"
        min="0"
        inputmode="numeric"
        testid="icp-size-min"
        error=${error}
        value=${form.companySizeMin}
        placeholder="no minimum"
        onInput=${(e) => set('companySizeMin')(e.currentTarget.value)}
      />
      <${Field}
        id="icp-size-max"
        label="Max employees"
        name="companySizeMax"
        type="number"
        min="0"
        inputmode="numeric"
        testid="icp-size-max"
        error=${error}
        value=${form.companySizeMax}
        placeholder="no maximum"
        onInput=${(e) => set('companySizeMax')(e.currentTarget.value)}
      />
    </div>
    <p class="field-hint form-row-hint">Company size is optional: leave a side blank for no bound.</p>

    <div class=${minScoreMsg ? 'field has-error' : 'field'}>
      <label for="icp-min-score">Minimum score</label>
      <div class="score-pick">
        <input
          id="icp-min-score"
          name="minScore"
          type="number"
          min="0"
          max="100"
          inputmode="numeric"
          data-testid="icp-min-score"
          aria-invalid=${minScoreMsg ? 'true' : undefined}
          aria-describedby="icp-min-score-note"
          value=${form.minScore}
          onInput=${(e) => set('minScore')(e.currentTarget.value)}
        />
        <input
          type="range"
          class="range"
          min="0"
          max="100"
          step="1"
          aria-label="Minimum score"
          value=${form.minScore === '' ? 0 : form.minScore}
          onInput=${(e) => set('minScore')(e.currentTarget.value)}
        />
      </div>
      <p class=${minScoreMsg ? 'field-error' : 'field-hint'} id="icp-min-score-note">
        ${minScoreMsg || 'Leads scoring below this are kept but hidden from the default list; a change applies to the leads found already.'}
      </p>
    </div>

    <fieldset class=${weightsMsg ? 'fieldset has-error' : 'fieldset'}>
      <legend>Scoring weights</legend>
      <p class="field-hint">How many points each matching rule adds to a lead’s score.</p>
      <div class="weights-grid">
        ${WEIGHT_KEYS.map(
          ({ key, label }) => html`<${Field}
            key=${key}
            id=${`icp-weight-${key}`}
            label=${label}
            name=${`weights.${key}`}
            type="number"
            min="0"
            max="100"
            inputmode="numeric"
            testid=${`icp-weight-${key}`}
            error=${error}
            value=${form.weights[key]}
            onInput=${(e) => setWeight(key, e.currentTarget.value)}
          />`,
        )}
      </div>
      <p class=${total === WEIGHTS_TARGET ? 'weights-total' : weightsMsg ? 'weights-total field-error' : 'weights-total weights-off'}
        aria-live="polite" data-testid="icp-weights-note">
        Total: <strong data-testid="icp-weights-total">${total}</strong> / ${WEIGHTS_TARGET}${' '}
        ${total !== WEIGHTS_TARGET &&
        html`<span class="weights-hint" data-testid="icp-weights-hint">
          — should add up to ${WEIGHTS_TARGET} (${total > WEIGHTS_TARGET ? `${total - WEIGHTS_TARGET} over` : `${WEIGHTS_TARGET - total} short`}).
        </span>`}
      </p>
      ${weightsMsg && total === WEIGHTS_TARGET && html`<p class="field-error">${weightsMsg}</p>`}
    </fieldset>

    ${saved && savedEffects.length > 0 &&
    html`<div class="alert alert-info" role="status" data-testid="icp-saved-effects">
      ${savedEffects.map((line) => html`<p class="alert-detail" key=${line}>${line}</p>`)}
    </div>`}

    <div class="form-actions form-actions-split">
      <div>
        ${icp &&
        html`<button type="button" class="btn btn-danger-ghost" data-testid="icp-delete" ...${changeProps(canEdit, busy)} onClick=${onDelete}>
          ${busy === 'delete' ? 'Deleting…' : 'Delete ICP'}
        </button>`}
      </div>
      <div class="status-line">
        ${saved && !dirty && html`<span class="save-note" role="status" data-testid="icp-saved">Saved</span>`}
        ${icp && dirty && html`<span class="muted save-note">Unsaved changes</span>`}
        <button type="submit" class="btn btn-primary" data-testid="icp-save" ...${changeProps(canEdit, busy)}>
          ${busy === 'save' ? 'Saving…' : icp ? 'Save changes' : 'Create ICP'}
        </button>
      </div>
    </div>
    </fieldset>
  </form>`;
}

function tagField({ name, label, testid, placeholder, hint }, form, set, error) {
  return html`<${TagInput}
    key=${name}
    id=${`icp-${name}`}
    label=${label}
    name=${name}
    tags=${form[name]}
    onChange=${set(name)}
    error=${error}
    testid=${testid}
    placeholder=${placeholder}
    hint=${hint}
  />`;
}
