import { html } from 'htm/preact';
import { CounterTile } from '../../components/CounterTile.js';
import { DataTable } from '../../components/DataTable.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';

const ERROR_COLUMNS = [
  { key: 'line', label: 'Line', align: 'right' },
  { key: 'message', label: 'Problem' },
];

/** What a CSV import did: counts, and the rows it could not take, by line. */
export function ImportResult({ name, result, error, onClose }) {
  const errors = result?.errors || [];
  return html`<section class="card import-result" data-testid="leads-import-result" aria-live="polite">
    <header class="card-head">
      <div>
        <h2 class="card-heading">Import ${error ? 'failed' : 'finished'}</h2>
        <p class="muted small">${name}</p>
      </div>
      <button type="button" class="btn btn-ghost" onClick=${onClose}>Dismiss</button>
    </header>
    <${ProblemAlert} error=${error} testid="leads-import-error" />
    ${result &&
    html`<div class="tiles tiles-3">
        <${CounterTile} label="Created" value=${result.created} testid="import-created" tone="success" />
        <${CounterTile} label="Updated" value=${result.updated} testid="import-updated" />
        <${CounterTile} label="Failed" value=${result.failed ?? errors.length} testid="import-failed" tone="danger" />
      </div>
      ${errors.length > 0 &&
      html`<h3 class="subheading">Rows not imported</h3>
        ${result.failed > errors.length &&
        html`<p class="muted small" data-testid="import-errors-truncated">
          The first ${errors.length.toLocaleString()} of ${result.failed.toLocaleString()}, by line.
        </p>`}
        <${DataTable}
          label="Import errors"
          columns=${ERROR_COLUMNS}
          rows=${errors}
          rowKey=${(e, i) => `${i}:${e.line}`}
          rowTestId="import-error-row"
          compact
        />`}`}
  </section>`;
}
