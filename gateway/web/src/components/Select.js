import { html } from 'htm/preact';
import { fieldMessage } from './ProblemAlert.js';

/**
 * Label + <select>. options: [{ value, label, disabled? }] or plain strings. Like
 * Field, it shows the server's message for `name` from `error`; `hint` is a line under it (text or markup).
 */
export function Select({ id, label, name, value, options, onChange, testid, error, disabled, className, hint }) {
  const message = fieldMessage(error, name);
  return html`<div class=${['field', message && 'has-error', className].filter(Boolean).join(' ')}>
    <label for=${id}>${label}</label>
    <select
      id=${id}
      name=${name}
      data-testid=${testid}
      value=${value}
      disabled=${disabled}
      aria-invalid=${message ? 'true' : undefined}
      aria-describedby=${hint && !message ? `${id}-hint` : undefined}
      onChange=${(e) => onChange(e.currentTarget.value)}
    >
      ${options.map((o) => {
        const opt = typeof o === 'string' ? { value: o, label: o } : o;
        return html`<option key=${opt.value} value=${opt.value} disabled=${opt.disabled}>${opt.label}</option>`;
      })}
    </select>
    ${hint && !message && html`<p class="field-hint" id=${`${id}-hint`}>${hint}</p>`}
    ${message && html`<p class="field-error">${message}</p>`}
  </div>`;
}
