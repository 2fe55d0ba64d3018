import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { navigate } from '../router.js';
import { FieldList } from '../components/FieldList.js';
import { ProblemAlert } from '../components/ProblemAlert.js';
import { emailMessage, formProblem, requiredErrors, useFocusOnError } from '../forms.js';
import { VIEWER_CANNOT, changeProps, useCanChange } from '../roles.js';

// Form inputs, keyed by the camelCase API field names so a 422's
// errors[].field lands next to the right input.
const INPUTS = [
  { name: 'email', label: 'Email', type: 'email', testid: 'lead-email', autocomplete: 'off' },
  { name: 'firstName', label: 'First name', testid: 'lead-first-name' },
  { name: 'lastName', label: 'Last name', testid: 'lead-last-name' },
  { name: 'companyName', label: 'Company', testid: 'lead-company', optional: true },
  { name: 'title', label: 'Title', testid: 'lead-title', optional: true },
  // For a sequence's SMS steps; the server keeps it in E.164 and refuses one without its country code.
  { name: 'phone', label: 'Phone (with country code, e.g. +1 415 555 0123)', type: 'tel', testid: 'lead-phone', optional: true },
];
const FIELDS = INPUTS.map((i) => i.name);
const EMPTY = Object.fromEntries(FIELDS.map((f) => [f, '']));

/** What the browser knows before asking: the required names, and an email's shape. */
function checkLead(form) {
  const errors = requiredErrors(form, { email: 'Enter an email address', firstName: 'Enter a first name', lastName: 'Enter a last name' });
  if (form.email.trim() && emailMessage(form.email)) errors.unshift({ field: 'email', message: emailMessage(form.email) });
  return formProblem(errors);
}

export function NewLead() {
  const [form, setForm] = useState(EMPTY);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const firstRef = useRef();
  const formRef = useFocusOnError(error);
  const canEdit = useCanChange(); // a viewer (by a bookmark: the menu does not offer it) is told, the form disabled

  useEffect(() => {
    if (canEdit) firstRef.current?.focus();
  }, []);

  async function onSubmit(e) {
    e.preventDefault();
    const refused = checkLead(form);
    if (refused) return setError(refused);
    setBusy(true);
    setError(null);
    // Optional fields are left out when blank rather than sent as "".
    const body = {};
    for (const { name, optional } of INPUTS) {
      const value = form[name].trim();
      if (value || !optional) body[name] = value;
    }
    try {
      const { leadId, jobId } = await api.post('/v1/leads', body);
      navigate(`/leads/${encodeURIComponent(leadId)}?job=${encodeURIComponent(jobId)}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return html`<section class="narrow">
    <header class="page-head">
      <h1>New lead</h1>
      <p class="muted">Add a contact; Lead Flood enriches it in the background.</p>
    </header>
    <!-- noValidate: the browser's bubbles would say it a second way; the rules known here are checked
         before sending (checkLead), the server's 422 field errors land next to the same inputs. -->
    <form class="card" ref=${formRef} onSubmit=${onSubmit} noValidate>
      <fieldset class="form plain-fieldset" disabled=${!canEdit}>
      ${!canEdit && html`<div class="alert alert-info" data-testid="lead-form-read-only">${VIEWER_CANNOT}.</div>`}
      <${ProblemAlert} error=${error} testid="lead-form-error" fields=${FIELDS} />
      <div class="form-grid">
        <${FieldList} inputs=${INPUTS} idPrefix="lead" form=${form} setForm=${setForm} error=${error} firstRef=${firstRef} />
      </div>
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" data-testid="lead-submit" ...${changeProps(canEdit, busy)}>
          ${busy ? 'Creating…' : 'Create lead'}
        </button>
      </div>
      </fieldset>
    </form>
  </section>`;
}
