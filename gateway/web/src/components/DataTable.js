import { html } from 'htm/preact';
import { useLayoutEffect, useRef } from 'preact/hooks';

// Clicks on these inside a clickable row do their own thing.
const INTERACTIVE = 'a, button, input, select, textarea, label';
const TYPED_FIELDS = 'select, textarea, input:not([type="checkbox"]):not([type="radio"])';
const FOCUSABLE = 'a[href], button:not(:disabled), input:not(:disabled), select:not(:disabled), textarea:not(:disabled), summary';

/**
 * A plain table. columns: [{ key, label, render?(row), className?, align? }]
 * (render defaults to row[key]). Optional: rowKey(row) (default row.id),
 * rowTestId, rowClass(row), onRowClick(row) (the whole row becomes a target;
 * keep a real link in a cell for keyboard users), empty (shown when no rows).
 * Sorting: sortState(key) gives a column's aria-sort ('ascending', 'descending', 'none'; undefined = not
 * sortable); such a header is a button calling onSort(key) (testid `sort-<key>`).
 *
 * Keyboard: one tab stop per row (its first link, else its first control, else the row itself when it is
 * clickable), so Tab walks the rows rather than every box and link in them; the arrow keys move within a
 * row (left, right) and between rows (up, down), and Enter on a clickable row opens it.
 */
export function DataTable({ columns, rows, rowKey = (r) => r.id, rowTestId, rowClass, onRowClick, empty, label, compact = false, sortState, onSort }) {
  const body = useRef(null);
  useLayoutEffect(() => oneStopPerRow(body.current, !!onRowClick));
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
      <tbody ref=${body} onKeyDown=${moveWithArrows}>
        ${rows.map(
          (row, i) => html`<tr
            key=${rowKey(row, i)}
            data-testid=${rowTestId}
            class=${[onRowClick && 'row-link', rowClass?.(row)].filter(Boolean).join(' ') || undefined}
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

/** Each row: one element in the tab order, the rest of its controls reached by the arrow keys. */
function oneStopPerRow(tbody, clickable) {
  if (!tbody) return;
  for (const row of tbody.rows) {
    // A row that is a form (a list box or a text box in it) keeps each of its fields in the tab order.
    if (row.querySelector(TYPED_FIELDS)) continue;
    const inside = [...row.querySelectorAll(FOCUSABLE)];
    const stop = inside.find((el) => el.matches('a[href]')) || inside[0];
    for (const el of inside) el.tabIndex = el === stop ? 0 : -1;
    if (stop || !clickable) row.removeAttribute('tabindex');
    else row.tabIndex = 0;
  }
}

function stopOf(row) {
  return row && (row.querySelector('[tabindex="0"]') || (row.tabIndex === 0 ? row : null));
}

function moveWithArrows(e) {
  if (!['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight'].includes(e.key) || e.altKey || e.ctrlKey || e.metaKey) return;
  if (e.target.matches(TYPED_FIELDS)) return; // the field's own keys
  const row = e.target.closest('tr');
  if (!row) return;
  let next = null;
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    let other = e.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling;
    while (other && !stopOf(other)) other = e.key === 'ArrowDown' ? other.nextElementSibling : other.previousElementSibling;
    next = stopOf(other);
  } else {
    const inside = [...row.querySelectorAll(FOCUSABLE)];
    const at = inside.indexOf(e.target);
    next = inside[at + (e.key === 'ArrowRight' ? 1 : -1)] || (at === -1 && e.key === 'ArrowRight' ? inside[0] : null);
  }
  if (next) {
    e.preventDefault();
    next.focus();
  }
}

const SORT_MARKS = { ascending: '▲', descending: '▼', none: '↕' };

function cellClass(c) {
  return [c.className, c.align === 'right' && 'num'].filter(Boolean).join(' ') || undefined;
}
