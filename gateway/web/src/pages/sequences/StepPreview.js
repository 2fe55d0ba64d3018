import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useDebounced } from '../../hooks.js';
import { templateLabels } from './model.js';

// Who a step is previewed for until the user picks one of their leads.
const SAMPLE_LEAD = {
  firstName: 'Ada',
  lastName: 'Lovelace',
  companyName: 'Analytical Engines',
  title: 'Head of Mathematics',
  email: 'ada@example.com',
};

/**
 * A step's subject and body rendered for `lead` (or the sample lead) as the user types: the
 * gateway renders the unsaved templates exactly as a send would, and a template it would refuse
 * on save is refused here, with the same words. A step with A/B variants shows its first, as saved.
 */
export function StepPreview({ sequenceId, step, lead }) {
  const subjectTemplate = step.channel === 'sms' ? '' : step.subjectTemplate;
  const ask = JSON.stringify({
    subjectTemplate,
    bodyTemplate: step.bodyTemplate,
    stepId: step.variants?.length ? step.id : '',
    leadId: lead?.id || '',
  });
  const settled = useDebounced(ask, 300);
  const [s, setS] = useState({ data: null, error: null, loading: false });

  useEffect(() => {
    const { leadId, stepId, ...templates } = JSON.parse(settled);
    if (!sequenceId || !(stepId || templates.subjectTemplate.trim() || templates.bodyTemplate.trim())) {
      setS({ data: null, error: null, loading: false });
      return undefined;
    }
    let live = true;
    setS((p) => ({ ...p, loading: true }));
    const body = { ...(stepId ? { stepId } : templates), ...(leadId ? { leadId } : { lead: SAMPLE_LEAD }) };
    api.post(`/v1/sequences/${encodeURIComponent(sequenceId)}/preview`, body).then(
      (data) => live && setS({ data, error: null, loading: false }),
      (error) => live && setS({ data: null, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [sequenceId, settled]);

  const labels = templateLabels(step.channel);
  const stale = s.loading || settled !== ask;
  return html`<aside class=${stale ? 'step-preview is-stale' : 'step-preview'} aria-label=${`Preview`} aria-busy=${stale ? 'true' : 'false'}>
    <p class="preview-label">Preview</p>
    ${!sequenceId && html`<p class="muted small">Save the sequence to preview its steps for a lead.</p>`}
    ${s.error && html`<div class="preview-error" role="alert" data-testid="step-preview-error">${previewProblem(s.error, labels)}</div>`}
    ${s.data &&
    html`${labels.subject && html`<p class="preview-subject" data-testid="step-preview-subject">${s.data.subject}</p>`}
      <pre class="mail-text preview-body" data-testid="step-preview-body">${s.data.body}</pre>`}
    ${sequenceId && !s.data && !s.error && !stale && html`<p class="muted small">Write the step to see it here.</p>`}
  </aside>`;
}

function previewProblem(error, labels) {
  const named = { subjectTemplate: labels.subject || 'Subject', bodyTemplate: labels.body };
  if (!error.errors?.length) return error.detail || error.title;
  return html`<ul class="alert-list">
    ${error.errors.map((e) => html`<li>${named[e.field] || e.field}: ${e.message}</li>`)}
  </ul>`;
}
