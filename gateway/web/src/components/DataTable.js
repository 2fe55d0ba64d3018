import { html } from 'htm/preact';

// Clicks on these inside a clickable row do their own thing.
const INTERACTIVE = 'a, button, input, select, textarea, label';

/**
 * A plain table. columns: [{ key, label, render?(row), className?, align? }]
 * (render defaults to row[key]). Optional: rowKey(row) (default row.id),
 * rowTestId, rowClass(row), onRowClick(row) (the whole row becomes a target;
 * keep a real link in a cell for keyboard users), empty (shown when no rows).
 */
export function DataTable({ columns, rows, rowKey = (r) => r.id, rowTestId, rowClass, onRowClick, empty, label, compact = false }) {
  if (!rows.length && empty) return html`<div class="table-empty">${empty}</div>`;
  return html`<div class="table-wrap">
    <table class=${compact ? 'table table-compact' : 'table'} aria-label=${label}>
      <thead>
        <tr>
          ${columns.map((c) => html`<th key=${c.key} scope="col" class=${cellClass(c)}>${c.label}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (row, i) => html`<tr
            key=${rowKey(row, i)}
            data-testid=${rowTestId}
            class=${[onRowClick && 'row-link', rowClass?.(row)].filter(Boolean).join(' ') || undefined}
            tabIndex=${onRowClick ? 0 : undefined}
            onClick=${onRowClick &&
            ((e) => {
              if (!e.target.closest(INTERACTIVE)) onRowClick(row);
            })}
            onKeyDown=${onRowClick &&
            ((e) => {
              if (e.key === 'Enter' && e.target === e.currentTarget) onRowClick(row);
            })}
          >
            ${columns.map((c) => html`<td key=${c.key} class=${cellClass(c)}>${c.render ? c.render(row) : row[c.key]}</td>`)}
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

function cellClass(c) {
  return [c.className, c.align === 'right' && 'num'].filter(Boolean).join(' ') || undefined;
}
