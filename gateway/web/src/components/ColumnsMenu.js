import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';

/**
 * "Columns": a disclosure listing a table's columns as check boxes. columns: [{ key, label, fixed? }];
 * `shown`: the keys on screen; onToggle(key, on). A fixed column is shown ticked and cannot be hidden.
 * Escape or a click elsewhere closes it.
 */
export function ColumnsMenu({ columns, shown, onToggle, testid = 'columns-menu' }) {
  const ref = useRef(null);
  useEffect(() => {
    const close = (e) => {
      const menu = ref.current;
      if (!menu?.open) return;
      if (e.type === 'keydown' ? e.key === 'Escape' : !menu.contains(e.target)) {
        menu.open = false;
        if (e.type === 'keydown') menu.querySelector('summary')?.focus();
      }
    };
    document.addEventListener('click', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('click', close);
      document.removeEventListener('keydown', close);
    };
  }, []);
  return html`<details class="menu" ref=${ref} data-testid=${testid}>
    <summary class="btn btn-secondary btn-sm" data-testid=${`${testid}-toggle`}>Columns</summary>
    <fieldset class="menu-panel">
      <legend class="menu-legend">Columns to show</legend>
      ${columns.map(
        (c) => html`<label key=${c.key} class="check">
          <input
            type="checkbox"
            data-testid=${`column-${c.key}`}
            checked=${shown.includes(c.key)}
            disabled=${c.fixed}
            onChange=${(e) => onToggle(c.key, e.currentTarget.checked)}
          />
          ${c.label}
        </label>`,
      )}
    </fieldset>
  </details>`;
}
