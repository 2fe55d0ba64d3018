import { html } from 'htm/preact';
import { fieldMessage } from './ProblemAlert.js';

/**
 * Label + input + the server's message for this field (matched by `name`,
 * the camelCase API field name). Extra props go to the <input>; inputRef
 * reaches the <input> element itself (e.g. to focus it); `hint` is a line of
 * help under it (replaced by the error when there is one).
 */
export function Field({ id, label, name, error, testid, inputRef, optional = false, hint, className, ...inputProps }) {
  const message = fieldMessage(error, name);
  const errId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [message && errId, hint && hintId].filter(Boolean).join(' ') || undefined;
  return html`<div class=${['field', message && 'has-error', className].filter(Boolean).join(' ')}>
    <label for=${id}>
      ${label}${optional && html` <span class="optional">(optional)</span>`}
    </label>
    <input
      ref=${inputRef}
      id=${id}
      name=${name}
      data-testid=${testid}
      aria-invalid=${message ? 'true' : undefined}
      aria-describedby=${describedBy}
      ...${inputProps}
    />
    ${hint && !message && html`<p class="field-hint" id=${hintId}>${hint}</p>`}
    ${message && html`<p class="field-error" id=${errId}>${message}</p>`}
  </div>`;
}
