import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { Field } from '../../components/Field.js';
import { ProblemAlert, fieldMessage } from '../../components/ProblemAlert.js';
import { Select } from '../../components/Select.js';
import { NotSetUpHint } from '../../components/NotSetUp.js';
import { anyNotSetUp, providerOptions, useProviderKeys } from '../../providers.js';
import { CALENDAR_PROVIDERS, DEFAULT_BODY, DEFAULT_SUBJECT, EMAIL_MODES, EMPTY_FORM, runBody } from './model.js';
import { changeProps, useCanChange } from '../../roles.js';

/** Why SMS is not offered, in the provider's own words: "Not set up: texts go to the sandbox, …". */
function smsUnset(keys) {
  const twilio = (keys?.providers || []).find((p) => p.name === 'twilio');
  return twilio?.whenUnset ? `Not set up: ${twilio.whenUnset}` : 'Not set up';
}

// Field errors shown at their inputs; any other is listed in the form's alert.
const FIELDS = ['icpId', 'limit', 'recentContactDays', 'channels.email', 'calendar.provider', 'calendar.durationMinutes', 'calendar.windowDays', 'email.subject', 'email.body'];

/**
 * Create a run and start it. A run the quota refuses stays created (listed, startable later); the refusal
 * is said in the service's own words beside the button: which limit, its use, when it frees.
 */
export function NewRunForm({ icps, onChanged }) {
  const [form, setForm] = useState(EMPTY_FORM);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [refused, setRefused] = useState(null);
  const set = (key) => (value) => setForm((f) => ({ ...f, [key]: value }));
  const icpId = form.icpId || icps[0]?.id || '';
  // A calendar whose credentials are not set is shown as not set up, not offered (it would be refused with a 503).
  const canEdit = useCanChange(); // a viewer sees the form, disabled, saying why
  const keys = useProviderKeys();
  const calendars = providerOptions(CALENDAR_PROVIDERS, keys, { google: 'google_calendar' });
  // Texts go through the mail room's Twilio: not set up, they would reach no one (its sandbox keeps them), so SMS
  // is shown not set up, as a calendar or a search source is, and never sent in the run's body.
  const [sms] = providerOptions([{ value: 'twilio', label: 'SMS' }], keys);

  async function onSubmit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setRefused(null);
    let run = null;
    try {
      run = await api.post('/v1/lead-runs', runBody({ ...form, icpId, sms: form.sms && !sms.disabled }));
      run = await api.post(`/v1/lead-runs/${encodeURIComponent(run.id)}/jobs`);
    } catch (err) {
      if (run && err.status === 429) setRefused({ error: err, run });
      else setError(err);
    } finally {
      setBusy(false);
      if (run) onChanged(run);
    }
  }

  const check = (key, label, testid, title, disabled = false) => html`<label class=${disabled ? 'check check-disabled' : 'check'} title=${title}>
    <input type="checkbox" data-testid=${testid} checked=${form[key] && !disabled} disabled=${disabled}
      onChange=${(e) => set(key)(e.currentTarget.checked)} />
    <span>${label}</span>
  </label>`;

  return html`<form class="card" onSubmit=${onSubmit} noValidate aria-label="New run">
    <fieldset class="form run-form plain-fieldset" disabled=${!canEdit}>
    <h2 class="card-heading">New run</h2>
    <p class="muted card-intro">Source leads for a profile, then book, email, text or call each one that scores high enough.</p>
    ${icps.length === 0 && html`<div class="alert alert-info">Create an ICP first: a run sources the leads it describes.</div>`}
    <div class="run-form-grid">
      <${Select}
        id="run-icp"
        label="ICP"
        name="icpId"
        testid="run-icp"
        value=${icpId}
        options=${icps.map((i) => ({ value: i.id, label: i.name }))}
        error=${error}
        onChange=${set('icpId')}
      />
      <${Field}
        id="run-limit"
        label="Leads"
        name="limit"
        type="number"
        min="1"
        inputmode="numeric"
        testid="run-limit"
        error=${error}
        value=${form.limit}
        onInput=${(e) => set('limit')(e.currentTarget.value)}
      />
      <${Field}
        id="run-recent-days"
        label="Skip leads contacted within (days)"
        name="recentContactDays"
        type="number"
        min="1"
        max="90"
        inputmode="numeric"
        testid="run-recent-days"
        hint="A lead emailed or heard from this recently, or in a sequence now, is skipped"
        error=${error}
        value=${form.recentContactDays}
        onInput=${(e) => set('recentContactDays')(e.currentTarget.value)}
      />
      <${Select}
        id="run-email"
        label="Email"
        name="channels.email"
        testid="run-email"
        value=${form.email}
        options=${EMAIL_MODES}
        error=${error}
        onChange=${set('email')}
      />
    </div>
    <div class="run-form-checks">
      ${check('sms', sms.label, 'run-sms', sms.disabled ? smsUnset(keys) : undefined, sms.disabled)}
      ${check('call', 'Call task', 'run-call', 'A call for you to make, listed under Tasks')}
      ${check('calendar', 'Book a meeting', 'run-calendar')}
      ${check('dryRun', 'Dry run', 'run-dry-run', 'Everything runs and renders, nothing leaves: receipts say simulated')}
    </div>
    ${sms.disabled && html`<p class="field-hint"><${NotSetUpHint} testid="run-sms-not-set-up" /></p>`}
    ${form.calendar &&
    html`<fieldset class="fieldset run-calendar">
      <legend>Meeting</legend>
      <div class="run-form-grid">
        <${Select}
          id="run-provider"
          label="Calendar"
          name="calendar.provider"
          testid="run-provider"
          value=${form.provider}
          options=${calendars}
          hint=${anyNotSetUp(calendars) && html`<${NotSetUpHint} testid="run-provider-not-set-up" />`}
          error=${error}
          onChange=${set('provider')}
        />
        <${Field}
          id="run-duration"
          label="Minutes"
          name="calendar.durationMinutes"
          type="number"
          min="5"
          testid="run-duration"
          error=${error}
          value=${form.durationMinutes}
          onInput=${(e) => set('durationMinutes')(e.currentTarget.value)}
        />
        <${Field}
          id="run-window"
          label="Window (days)"
          name="calendar.windowDays"
          type="number"
          min="1"
          testid="run-window"
          error=${error}
          value=${form.windowDays}
          onInput=${(e) => set('windowDays')(e.currentTarget.value)}
        />
      </div>
    </fieldset>`}
    ${form.email !== 'off' &&
    html`<details class="run-templates">
      <summary>Email template <span class="optional">(optional)</span></summary>
      <${Field}
        id="run-subject"
        label="Subject"
        name="email.subject"
        testid="run-subject"
        error=${error}
        value=${form.subject}
        placeholder=${DEFAULT_SUBJECT}
        hint="One line, at most 998 characters (the longest subject an email can carry)"
        onInput=${(e) => set('subject')(e.currentTarget.value)}
      />
      <div class=${fieldMessage(error, 'email.body') ? 'field has-error' : 'field'}>
        <label for="run-body">Body</label>
        <textarea
          id="run-body"
          rows="5"
          data-testid="run-body"
          placeholder=${DEFAULT_BODY}
          aria-invalid=${fieldMessage(error, 'email.body') ? 'true' : undefined}
          value=${form.body}
          onInput=${(e) => set('body')(e.currentTarget.value)}
        ></textarea>
        ${fieldMessage(error, 'email.body') && html`<p class="field-error">${fieldMessage(error, 'email.body')}</p>`}
        <p class="field-hint">Empty boxes use the text shown. Variables: <code>{{ lead.firstName }}</code>, <code>{{ lead.companyName }}</code>…</p>
      </div>
    </details>`}
    <div class="run-form-actions">
      <button type="submit" class="btn btn-primary" data-testid="run-start" ...${changeProps(canEdit, busy || !icpId)}>
        ${busy ? 'Starting…' : 'Start run'}
      </button>
      ${refused &&
      html`<div class="alert alert-warn run-refused" role="alert" data-testid="run-refused">
        <strong class="alert-title">Not started</strong>
        <p class="alert-detail" data-testid="run-refused-detail">${refused.error.detail || refused.error.title}</p>
        <p class="alert-meta">The run is saved: start it from the list below when there is room.</p>
      </div>`}
    </div>
    <${ProblemAlert} error=${error} testid="run-form-error" fields=${FIELDS} />
    </fieldset>
  </form>`;
}
