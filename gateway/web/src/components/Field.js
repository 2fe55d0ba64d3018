import { html } from 'htm/preact';
import { fieldMessage } from './ProblemAlert.js';

/**
 * Label + input + the server's message for this field (matched by `name`,
 * the camelCase API field name). Extra props go to the <input>; inputRef
 * reaches the <input> element itself (e.g. to focus it).
 */
export function Field({ id, label, name, error, testid, inputRef, optional = false, ...inputProps }) {
  const message = fieldMessage(error, name);
  const errId = `${id}-error`;
  return html`<div class=${message ? 'field has-error' : 'field'}>
    <label for=${id}>
      ${label}${optional && html` <span class="optional">(optional)</span>`}
    </label>
    <input
      ref=${inputRef}
      id=${id}
      name=${name}
      data-testid=${testid}
      aria-invalid=${message ? 'true' : undefined}
      aria-describedby=${message ? errId : undefined}
      ...${inputProps}
    />
    ${message && html`<p class="field-error" id=${errId}>${message}</p>`}
  </div>`;
}
