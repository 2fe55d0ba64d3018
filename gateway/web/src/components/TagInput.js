import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { addTags } from '../icp.js';
import { fieldMessage } from './ProblemAlert.js';
import { changeProps, useCanChange } from '../roles.js';

/**
 * A list of short strings edited as chips: type and press Enter (or a comma)
 * to add, × (or Backspace in an empty box) to remove. Text still in the box
 * is added when the box loses focus, so clicking Save never drops it.
 * `name` is the API field its server errors arrive under; `testid` goes on
 * the text box. A viewer sees the tags, each × and the box disabled, saying why.
 */
export function TagInput({ id, label, name, tags, onChange, error, testid, placeholder, hint }) {
  const canEdit = useCanChange(); // adding or removing a tag is a change, wherever the list is
  const [draft, setDraft] = useState('');
  const message = fieldMessage(error, name);
  const errId = `${id}-error`;
  const hintId = `${id}-hint`;

  function commit(text) {
    const next = addTags(tags, text);
    if (next.length !== tags.length) onChange(next);
  }

  function onInput(e) {
    const value = e.currentTarget.value;
    const cut = value.lastIndexOf(',');
    if (cut < 0) return setDraft(value);
    commit(value.slice(0, cut));
    setDraft(value.slice(cut + 1).trimStart());
  }

  function onKeyDown(e) {
    if (e.key === 'Enter') {
      e.preventDefault(); // add the tag, do not submit the form
      commit(draft);
      setDraft('');
    } else if (e.key === 'Backspace' && draft === '' && tags.length > 0) {
      onChange(tags.slice(0, -1));
    }
  }

  function onBlur() {
    if (!draft.trim()) return;
    commit(draft);
    setDraft('');
  }

  const describedBy = [message && errId, hint && hintId].filter(Boolean).join(' ') || undefined;
  return html`<div class=${message ? 'field has-error' : 'field'}>
    <label for=${id}>${label}</label>
    <div class="tag-input" onClick=${(e) => e.currentTarget.querySelector('input')?.focus()}>
      ${tags.map(
        (tag, i) => html`<span class="tag" key=${tag}>
          <span class="tag-text">${tag}</span>
          <button
            type="button"
            class="tag-remove"
            aria-label=${`Remove ${tag}`}
            title="Remove"
            data-testid="tag-remove"
            ...${changeProps(canEdit)}
            onClick=${(e) => {
              e.stopPropagation();
              onChange(tags.filter((_, j) => j !== i));
            }}
          >
            ×
          </button>
        </span>`,
      )}
      <input
        id=${id}
        type="text"
        data-testid=${testid}
        value=${draft}
        placeholder=${tags.length ? '' : placeholder}
        autocomplete="off"
        ...${changeProps(canEdit)}
        aria-invalid=${message ? 'true' : undefined}
        aria-describedby=${describedBy}
        onInput=${onInput}
        onKeyDown=${onKeyDown}
        onBlur=${onBlur}
      />
    </div>
    ${hint && !message && html`<p class="field-hint" id=${hintId}>${hint}</p>`}
    ${message && html`<p class="field-error" id=${errId}>${message}</p>`}
  </div>`;
}
