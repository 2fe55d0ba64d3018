import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../../api.js';
import { FieldList } from '../../components/FieldList.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Select } from '../../components/Select.js';
import { useFocusOnError } from '../../forms.js';
import { SENIORITIES } from '../../icp.js';
import { seniorityWords } from '../../words.js';

export const EDITABLE = [
  { name: 'firstName', label: 'First name', testid: 'lead-edit-first-name' },
  { name: 'lastName', label: 'Last name', testid: 'lead-edit-last-name' },
  { name: 'email', label: 'Email', type: 'email', testid: 'lead-edit-email' },
  { name: 'companyName', label: 'Company', testid: 'lead-edit-company' },
  { name: 'title', label: 'Title', testid: 'lead-edit-title' },
  { name: 'timeZone', label: 'Time zone (IANA, e.g. Europe/Berlin)', testid: 'lead-edit-time-zone' },
  { name: 'phone', label: 'Phone (with country code, e.g. +1 415 555 0123)', type: 'tel', testid: 'lead-edit-phone' },
  { name: 'industry', label: 'Industry', testid: 'lead-edit-industry' },
  { name: 'location', label: 'Location (e.g. Berlin, DE)', testid: 'lead-edit-location' },
  { name: 'companySize', label: 'Company size (employees)', type: 'number', min: 0, testid: 'lead-edit-company-size' },
  { name: 'companyDomain', label: 'Company domain', testid: 'lead-edit-company-domain' },
  { name: 'linkedinUrl', label: 'LinkedIn URL', type: 'url', testid: 'lead-edit-linkedin' },
];
// Seniority is chosen from the codes the scorer and the ICPs use, shown in words.
const FIELDS = [...EDITABLE.map((f) => f.name), 'seniority'];

/**
 * The PATCH body: only the fields that changed, trimmed. A cleared email is
 * sent as null ("no email"), other cleared fields as "" for the server to judge.
 */
export function changedFields(lead, form) {
  const body = {};
  for (const name of FIELDS) {
    const now = String(form[name] ?? '').trim();
    if (now === String(lead[name] ?? '').trim()) continue;
    if (name === 'companySize') body[name] = now === '' ? 0 : Number(now); // 0 removes it; the server checks the rest
    else body[name] = name === 'email' && now === '' ? null : now;
  }
  return body;
}

/** The seniorities in words; a code the list lacks (a provider's own) stays choosable as it is. */
function seniorityOptions(current) {
  const known = SENIORITIES.map((s) => ({ value: s.value, label: seniorityWords(s.value) }));
  const extra = current && !known.some((o) => o.value === current) ? [{ value: current, label: seniorityWords(current) }] : [];
  return [{ value: '', label: 'Not known' }, ...known, ...extra];
}

/** Inline editor for a lead's own fields; onSaved(lead) with the PATCH answer. */
export function LeadEditForm({ lead, onSaved, onCancel }) {
  const [form, setForm] = useState(() => Object.fromEntries(FIELDS.map((f) => [f, lead[f] ?? ''])));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const formRef = useFocusOnError(error);
  const firstRef = useRef();
  useEffect(() => firstRef.current?.focus(), []);

  async function onSubmit(e) {
    e.preventDefault();
    const body = changedFields(lead, form);
    if (Object.keys(body).length === 0) return onCancel();
    setBusy(true);
    setError(null);
    try {
      onSaved(await api.patch(`/v1/leads/${encodeURIComponent(lead.id)}`, body));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return html`<form class="edit-panel form" ref=${formRef} onSubmit=${onSubmit} noValidate aria-label="Edit lead">
    <${ProblemAlert} error=${error} testid="lead-edit-error" fields=${FIELDS} />
    <div class="form-grid form-grid-plain">
      <${FieldList} inputs=${EDITABLE} idPrefix="lead-edit" form=${form} setForm=${setForm} error=${error} firstRef=${firstRef} />
      <${Select}
        id="lead-edit-seniority"
        label="Seniority"
        name="seniority"
        testid="lead-edit-seniority"
        value=${form.seniority}
        error=${error}
        options=${seniorityOptions(lead.seniority)}
        onChange=${(value) => setForm((f) => ({ ...f, seniority: value }))}
      />
    </div>
    <p class="muted small">Fields you edit are kept when a later search finds this person again, and an enrichment never applies over them.</p>
    <div class="form-actions">
      <button type="button" class="btn btn-ghost" onClick=${onCancel}>Cancel</button>
      <button type="submit" class="btn btn-primary" data-testid="lead-edit-save" disabled=${busy}>
        ${busy ? 'Saving…' : 'Save'}
      </button>
    </div>
  </form>`;
}
