import { html } from 'htm/preact';

// Clicks on these inside a clickable row do their own thing.
const INTERACTIVE = 'a, button, input, select, textarea, label';

/**
 * A plain table. columns: [{ key, label, render?(row), className?, align? }]
 * (render defaults to row[key]). Optional: rowKey(row) (default row.id),
 * rowTestId, rowClass(row), onRowClick(row) (the whole row becomes a target;
 * keep a real link in a cell for keyboard users), empty (shown when no rows).
 * Sorting: sortState(key) gives a column's aria-sort ('ascending', 'descending', 'none'; undefined = not
 * sortable); such a header is a button calling onSort(key) (testid `sort-<key>`).
 */
export function DataTable({ columns, rows, rowKey = (r) => r.id, rowTestId, rowClass, onRowClick, empty, label, compact = false, sortState, onSort }) {
  if (!rows.length && empty) return html`<div class="table-empty">${empty}</div>`;
  return html`<div class="table-wrap">
    <table class=${compact ? 'table table-compact' : 'table'} aria-label=${label}>
      <thead>
        <tr>
          ${columns.map((c) => {
            const sorted = sortState?.(c.key);
            if (!sorted) return html`<th key=${c.key} scope="col" class=${cellClass(c)}>${c.label}</th>`;
            return html`<th key=${c.key} scope="col" class=${cellClass(c)} aria-sort=${sorted}>
              <button type="button" class="th-sort" data-testid=${`sort-${c.key}`} onClick=${() => onSort(c.key)}>
                ${c.label}<span class="th-sort-mark" aria-hidden="true">${SORT_MARKS[sorted]}</span>
              </button>
            </th>`;
          })}
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

const SORT_MARKS = { ascending: '▲', descending: '▼', none: '↕' };

function cellClass(c) {
  return [c.className, c.align === 'right' && 'num'].filter(Boolean).join(' ') || undefined;
}
