import { html } from 'htm/preact';
import { fieldLabel } from '../words.js';

/** The message for one form field from an ApiError's `errors`, if any. */
export function fieldMessage(error, field) {
  return error?.errors?.find((e) => e.field === field)?.message || '';
}

/**
 * Shows an ApiError, each thing said once. Field errors for the names in `fields` are shown next to
 * those inputs (see Field): when every error is one of those, there is no banner at all (the form moves
 * focus to the first, see forms.js useFocusOnError). Otherwise the title and detail, and the field
 * errors no input shows, by the field's name in words. The request id is for support: under "Details".
 */
export function ProblemAlert({ error, testid, fields = [] }) {
  if (!error) return null;
  const errors = error.errors || [];
  const others = errors.filter((e) => !fields.includes(e.field));
  if (errors.length > 0 && others.length === 0) return null;
  return html`<div class="alert alert-error" role="alert" data-testid=${testid}>
    <strong class="alert-title">${error.title || 'Something went wrong'}</strong>
    ${error.detail && html`<p class="alert-detail">${error.detail}</p>`}
    ${others.length > 0 &&
    html`<ul class="alert-list">
      ${others.map((e) => html`<li>${e.field && html`<strong>${fieldLabel(e.field)}</strong>: `}${e.message}</li>`)}
    </ul>`}
    ${error.requestId &&
    html`<details class="alert-more">
      <summary>Details</summary>
      <p class="alert-meta">Request ID (for support): <code data-testid="problem-request-id">${error.requestId}</code></p>
    </details>`}
  </div>`;
}
