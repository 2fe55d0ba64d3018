// The inputs of a form, one Field each, bound to one form-state object: the lead form and the
// lead edit form share it.
import { html } from 'htm/preact';
import { Field } from './Field.js';

export function FieldList({ inputs, idPrefix, form, setForm, error, firstRef }) {
  return inputs.map(
    ({ name, label, type = 'text', testid, optional, autocomplete }, i) => html`<${Field}
      key=${name}
      id=${`${idPrefix}-${name}`}
      label=${label}
      name=${name}
      type=${type}
      testid=${testid}
      optional=${optional}
      autocomplete=${autocomplete}
      inputRef=${i === 0 ? firstRef : undefined}
      error=${error}
      value=${form[name]}
      onInput=${(e) => {
        const value = e.currentTarget.value;
        setForm((f) => ({ ...f, [name]: value }));
      }}
    />`,
  );
}
