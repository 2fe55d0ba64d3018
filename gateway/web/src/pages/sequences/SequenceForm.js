import { html } from 'htm/preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { personName } from '../../format.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { NotSetUpHint } from '../../components/NotSetUp.js';
import { useFocusOnError } from '../../forms.js';
import { providerOptions, useProviderKeys } from '../../providers.js';
import { LeadSearch } from './leads.js';
import {
  CHANNELS,
  DELAY_UNITS,
  VARIABLES,
  WEEKDAYS,
  delayText,
  formToBody,
  inlineFields,
  insertAt,
  messageFor,
  newStep,
  sequenceToForm,
  templateLabels,
  withFieldKeys,
} from './model.js';
import { StepPreview } from './StepPreview.js';
import { VIEWER_CANNOT, changeProps, useCanChange } from '../../roles.js';

const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
const ZONES = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];

/**
 * The sequence builder: name, sending window, mailbox, and the steps with their templates, each
 * previewed live for a chosen lead once the sequence is saved. `sequence` is null for a new one.
 * onSaved(sequence) after a save; onDirtyChange(bool) when the form starts or stops differing from it.
 */
export function SequenceForm({ sequence, onSaved, onDirtyChange, readOnly = false }) {
  const [form, setForm] = useState(() => sequenceToForm(sequence, BROWSER_ZONE));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [previewLead, setPreviewLead] = useState(null);
  const focused = useRef(null); // the template box last focused: { key, name, el }, where a variable goes
  const mailboxes = useLoad(() => api.get('/v1/mailboxes'), []);
  // A viewer reads the steps and their previews; every control that would change them is disabled, saying why.
  const canEdit = useCanChange();
  const locked = readOnly || !canEdit;
  // On a refused save, focus goes to the first field at fault (or the form's alert), as on every form.
  const formRef = useFocusOnError(error);
  // Texts go through the mail room's Twilio: not set up, a text step would reach no one, so it is shown not set up
  // (as the run form shows it) and not offered; a saved text step stays as it is.
  const keys = useProviderKeys();
  const channels = providerOptions(CHANNELS, keys, { sms: 'twilio' });

  const savedBody = useMemo(() => JSON.stringify(formToBody(sequenceToForm(sequence, BROWSER_ZONE))), [sequence]);
  const dirty = JSON.stringify(formToBody(form)) !== savedBody;
  useEffect(() => onDirtyChange?.(dirty), [dirty]);

  const change = (fn) => {
    setSaved(false);
    setForm(fn);
  };
  const setWindow = (patch) => change((f) => ({ ...f, window: { ...f.window, ...patch } }));
  const setStep = (key, patch) => change((f) => ({ ...f, steps: f.steps.map((s) => (s.key === key ? { ...s, ...patch } : s)) }));
  const moveStep = (index, by) =>
    change((f) => {
      const steps = [...f.steps];
      const [step] = steps.splice(index, 1);
      steps.splice(index + by, 0, step);
      return { ...f, steps };
    });
  const removeStep = (key) => change((f) => ({ ...f, steps: f.steps.filter((s) => s.key !== key) }));
  const toggleDay = (day, on) =>
    setWindow({ days: on ? [...form.window.days, day] : form.window.days.filter((d) => d !== day) });

  function insertVariable(name) {
    const target = focused.current;
    const step = target && form.steps.find((s) => s.key === target.key);
    if (!step) return;
    const snippet = `{{ lead.${name} }}`;
    const { text, caret } = insertAt(step[target.name], target.el.selectionStart, target.el.selectionEnd, snippet);
    setStep(step.key, { [target.name]: text });
    requestAnimationFrame(() => {
      target.el.focus();
      target.el.setSelectionRange(caret, caret);
    });
  }

  async function onSubmit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = formToBody(form);
      const result = sequence
        ? await api.put(`/v1/sequences/${encodeURIComponent(sequence.id)}`, body)
        : await api.post('/v1/sequences', body);
      setForm(sequenceToForm(result));
      setSaved(true);
      onSaved?.(result);
    } catch (err) {
      setError(withFieldKeys(err, inlineFields(form)));
    } finally {
      setBusy(false);
    }
  }

  const mailboxOptions = [
    { value: '', label: 'The org’s default mailbox' },
    ...(mailboxes.data?.mailboxes || []).map((m) => ({ value: m.id, label: m.fromName ? `${m.fromName} <${m.fromAddress}>` : m.fromAddress })),
  ];
  const at = (name) => messageFor(error, name);
  const daysMsg = at('window.days') || at('window');

  return html`<form class="card form sequence-form" ref=${formRef} onSubmit=${onSubmit} noValidate aria-label="Sequence">
    <fieldset class="plain-fieldset" disabled=${locked}>
      <${ProblemAlert} error=${error} testid="seq-form-error" fields=${inlineFields(form)} />
      ${readOnly && html`<p class="alert alert-info">Archived: this sequence can no longer be changed.</p>`}
      ${!readOnly && !canEdit && html`<p class="alert alert-info" data-testid="seq-read-only">${VIEWER_CANNOT}.</p>`}

      <${TextField} id="seq-name" label="Name" testid="seq-name" message=${at('name')} value=${form.name}
        placeholder="e.g. New VP Sales, three touches" onInput=${(v) => change((f) => ({ ...f, name: v }))} />

      <fieldset class=${daysMsg ? 'fieldset has-error' : 'fieldset'}>
        <legend>Sending window</legend>
        <p class="field-hint">Steps go out only on these days, between these times, in this time zone.</p>
        <div class="check-grid day-grid">
          ${WEEKDAYS.map(
            (d) => html`<label class="check" key=${d.value}>
              <input type="checkbox" data-testid=${`seq-day-${d.value}`} checked=${form.window.days.includes(d.value)}
                onChange=${(e) => toggleDay(d.value, e.currentTarget.checked)} />
              <span>${d.label}</span>
            </label>`,
          )}
        </div>
        ${daysMsg && html`<p class="field-error">${daysMsg}</p>`}
        <div class="form-row form-row-3">
          <${TextField} id="seq-start" label="From" type="time" testid="seq-start" message=${at('window.startTime')}
            value=${form.window.startTime} onInput=${(v) => setWindow({ startTime: v })} />
          <${TextField} id="seq-end" label="Until" type="time" testid="seq-end" message=${at('window.endTime')}
            value=${form.window.endTime} onInput=${(v) => setWindow({ endTime: v })} />
          <${TextField} id="seq-zone" label="Time zone" testid="seq-zone" message=${at('window.timeZone')} list="seq-zones"
            value=${form.window.timeZone} placeholder="e.g. Europe/Berlin" onInput=${(v) => setWindow({ timeZone: v })} />
        </div>
        <datalist id="seq-zones">${ZONES.map((z) => html`<option key=${z} value=${z} />`)}</datalist>
      </fieldset>

      <div class=${at('mailboxId') ? 'field has-error' : 'field'}>
        <label for="seq-mailbox">Send from</label>
        <select id="seq-mailbox" data-testid="seq-mailbox" value=${form.mailboxId}
          aria-invalid=${at('mailboxId') ? 'true' : undefined} aria-describedby=${at('mailboxId') ? 'seq-mailbox-error' : undefined}
          onChange=${(e) => change((f) => ({ ...f, mailboxId: e.currentTarget.value }))}>
          ${mailboxOptions.map((o) => html`<option key=${o.value} value=${o.value}>${o.label}</option>`)}
        </select>
        ${at('mailboxId') && html`<p class="field-error" id="seq-mailbox-error">${at('mailboxId')}</p>`}
      </div>

      <section class="steps" aria-label="Steps">
        <header class="steps-head">
          <h3 class="subheading">Steps</h3>
          <div class="variables" aria-label="Template variables">
            <span class="muted small">Variables (click to insert where you are typing):</span>
            ${VARIABLES.map(
              (v) => html`<button type="button" class="chip variable" key=${v} title=${`{{ lead.${v} }}`}
                onMouseDown=${(e) => e.preventDefault()} onClick=${() => insertVariable(v)}>${v}</button>`,
            )}
            <span class="muted small">A fallback for an empty one: <code>{{ lead.firstName | default("there") }}</code></span>
          </div>
        </header>
        ${at('steps') && html`<p class="field-error">${at('steps')}</p>`}

        ${sequence &&
        html`<div class="preview-lead">
          <p class="muted small" data-testid="preview-lead">
            Previews below are for
            ${previewLead ? html` <strong>${personName(previewLead)}</strong>` : ' a sample lead (Ada Lovelace of Analytical Engines)'}.
            ${previewLead && html` <button type="button" class="btn-link small" onClick=${() => setPreviewLead(null)}>Use the sample</button>`}
          </p>
          <details>
            <summary>Preview for one of your leads</summary>
            <${LeadSearch}
              idPrefix="preview-lead"
              single
              label="Find the lead"
              limit=${8}
              selected=${new Set(previewLead ? [previewLead.id] : [])}
              onToggle=${(lead, on) => on && setPreviewLead(lead)}
            />
          </details>
        </div>`}

        <ol class="step-list">
          ${form.steps.map(
            (step, i) => html`<${StepEditor}
              key=${step.key}
              step=${step}
              index=${i}
              count=${form.steps.length}
              error=${error}
              sequenceId=${sequence?.id}
              lead=${previewLead}
              onChange=${(patch) => setStep(step.key, patch)}
              onMove=${(by) => moveStep(i, by)}
              onRemove=${() => removeStep(step.key)}
              channels=${channels}
              onFocusTemplate=${(name, el) => {
                focused.current = { key: step.key, name, el };
              }}
            />`,
          )}
        </ol>
        <div class="button-row">
          ${channels.map(
            (c) => html`<button type="button" class="btn btn-secondary btn-sm" key=${c.value} data-testid=${`seq-add-${c.value}`}
              disabled=${c.disabled} title=${c.disabled ? c.label : undefined}
              onClick=${() => change((f) => ({ ...f, steps: [...f.steps, newStep(c.value)] }))}>+ ${c.disabled ? c.label : `${c.label} step`}</button>`,
          )}
        </div>
        ${channels.some((c) => c.disabled) && html`<p class="field-hint"><${NotSetUpHint} testid="seq-sms-not-set-up" /></p>`}
      </section>

      <div class="form-actions form-actions-split">
        <div></div>
        <div class="status-line">
          ${saved && !dirty && html`<span class="save-note" role="status" data-testid="seq-saved">Saved</span>`}
          ${sequence && dirty && html`<span class="muted save-note" data-testid="seq-unsaved">Unsaved changes</span>`}
          <button type="submit" class="btn btn-primary" data-testid="seq-save" ...${changeProps(canEdit, busy || readOnly)}>
            ${busy ? 'Saving…' : sequence ? 'Save changes' : 'Save draft'}
          </button>
        </div>
      </div>
    </fieldset>
  </form>`;
}

/** One step: channel, delay, templates (their errors at them), and its live preview beside them. */
function StepEditor({ step, index, count, error, sequenceId, lead, channels, onChange, onMove, onRemove, onFocusTemplate }) {
  const name = (field) => `steps[${index}].${field}`;
  const at = (field) => messageFor(error, name(field));
  const labels = templateLabels(step.channel);
  const stepMsg = messageFor(error, `steps[${index}]`) || at('id');
  return html`<li class="step-card" data-testid="step-card">
    <header class="step-head">
      <strong>Step ${index + 1}</strong>
      <span class="muted small">${index === 0 ? 'after enrollment' : 'after the previous step'}, ${delayText(step)}</span>
      <span class="step-tools">
        <button type="button" class="btn btn-ghost btn-sm" aria-label=${`Move step ${index + 1} up`} disabled=${index === 0} onClick=${() => onMove(-1)}>↑</button>
        <button type="button" class="btn btn-ghost btn-sm" aria-label=${`Move step ${index + 1} down`} disabled=${index === count - 1} onClick=${() => onMove(1)}>↓</button>
        <button type="button" class="btn btn-danger-ghost btn-sm" data-testid="step-remove" onClick=${onRemove}>Remove</button>
      </span>
    </header>
    ${stepMsg && html`<p class="field-error">${stepMsg}</p>`}
    <div class="step-body">
      <div class="step-fields">
        <div class="form-row form-row-3">
          <div class=${at('channel') ? 'field has-error' : 'field'}>
            <label for=${`step-${step.key}-channel`}>Channel</label>
            <select id=${`step-${step.key}-channel`} data-testid="step-channel" value=${step.channel}
              aria-invalid=${at('channel') ? 'true' : undefined}
              aria-describedby=${at('channel') ? `step-${step.key}-channel-error` : undefined}
              onChange=${(e) => onChange({ channel: e.currentTarget.value })}>
              ${channels.map((c) => html`<option key=${c.value} value=${c.value} disabled=${c.disabled && c.value !== step.channel}>${c.label}</option>`)}
            </select>
            ${at('channel') && html`<p class="field-error" id=${`step-${step.key}-channel-error`}>${at('channel')}</p>`}
          </div>
          <${TextField} id=${`step-${step.key}-delay`} label="Wait" type="number" min="0" inputmode="numeric"
            testid="step-delay-amount" message=${at('delayAmount')} value=${step.delayAmount}
            onInput=${(v) => onChange({ delayAmount: v })} />
          <div class=${at('delayUnit') ? 'field has-error' : 'field'}>
            <label for=${`step-${step.key}-unit`}>Unit</label>
            <select id=${`step-${step.key}-unit`} data-testid="step-delay-unit" value=${step.delayUnit}
              aria-invalid=${at('delayUnit') ? 'true' : undefined}
              aria-describedby=${at('delayUnit') ? `step-${step.key}-unit-error` : undefined}
              onChange=${(e) => onChange({ delayUnit: e.currentTarget.value })}>
              ${DELAY_UNITS.map((u) => html`<option key=${u.value} value=${u.value}>${u.label}</option>`)}
            </select>
            ${at('delayUnit') && html`<p class="field-error" id=${`step-${step.key}-unit-error`}>${at('delayUnit')}</p>`}
          </div>
        </div>
        ${step.variants?.length > 0
          ? html`<p class="field-hint">
              This step is an A/B test of ${step.variants.length} variants
              (${step.variants.map((v) => `${v.name}: ${v.weight}`).join(', ')}); they are kept as saved.
            </p>`
          : html`
            ${labels.subject &&
            html`<${TemplateField} id=${`step-${step.key}-subject`} label=${labels.subject} testid="step-subject"
              message=${at('subjectTemplate')} value=${step.subjectTemplate}
              onInput=${(v) => onChange({ subjectTemplate: v })} onFocus=${(el) => onFocusTemplate('subjectTemplate', el)} />`}
            <${TemplateField} id=${`step-${step.key}-body`} label=${labels.body} testid="step-body" multiline
              message=${at('bodyTemplate')} value=${step.bodyTemplate}
              onInput=${(v) => onChange({ bodyTemplate: v })} onFocus=${(el) => onFocusTemplate('bodyTemplate', el)} />`}
      </div>
      <${StepPreview} sequenceId=${sequenceId} step=${step} lead=${lead} />
    </div>
  </li>`;
}

// The builder's fields, each naming its message for screen readers (aria-describedby, as components/Field.js
// does): its id is the field's with "-error", so a test or a reader finds the one for the field at fault.
const errorId = (id) => `${id}-error`;

function TextField({ id, label, testid, message, onInput, ...props }) {
  return html`<div class=${message ? 'field has-error' : 'field'}>
    <label for=${id}>${label}</label>
    <input id=${id} data-testid=${testid} aria-invalid=${message ? 'true' : undefined}
      aria-describedby=${message ? errorId(id) : undefined}
      onInput=${(e) => onInput(e.currentTarget.value)} ...${props} />
    ${message && html`<p class="field-error" id=${errorId(id)}>${message}</p>`}
  </div>`;
}

function TemplateField({ id, label, testid, message, value, multiline = false, onInput, onFocus }) {
  const props = {
    id,
    value,
    'data-testid': testid,
    'aria-invalid': message ? 'true' : undefined,
    'aria-describedby': message ? errorId(id) : undefined,
    spellcheck: true,
    onInput: (e) => onInput(e.currentTarget.value),
    onFocus: (e) => onFocus(e.currentTarget),
  };
  return html`<div class=${message ? 'field has-error' : 'field'}>
    <label for=${id}>${label}</label>
    ${multiline ? html`<textarea rows="6" ...${props}></textarea>` : html`<input ...${props} />`}
    ${message && html`<p class="field-error" id=${errorId(id)}>${message}</p>`}
  </div>`;
}
