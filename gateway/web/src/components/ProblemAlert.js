import { html } from 'htm/preact';

/** The message for one form field from an ApiError's `errors`, if any. */
export function fieldMessage(error, field) {
  return error?.errors?.find((e) => e.field === field)?.message || '';
}

/**
 * Shows an ApiError's title and detail. Field errors for the names in
 * `fields` are shown next to those inputs (see Field), so only the others
 * are listed here, ensuring nothing the server said is lost.
 */
export function ProblemAlert({ error, testid, fields = [] }) {
  if (!error) return null;
  const others = (error.errors || []).filter((e) => !fields.includes(e.field));
  return html`<div class="alert alert-error" role="alert" data-testid=${testid}>
    <strong class="alert-title">${error.title || 'Something went wrong'}</strong>
    ${error.detail && html`<p class="alert-detail">${error.detail}</p>`}
    ${others.length > 0 &&
    html`<ul class="alert-list">
      ${others.map((e) => html`<li>${e.field && html`<code>${e.field}</code>: `}${e.message}</li>`)}
    </ul>`}
    ${error.requestId && html`<p class="alert-meta">Request ID: <code>${error.requestId}</code></p>`}
  </div>`;
}
