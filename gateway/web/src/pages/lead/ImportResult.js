import { html } from 'htm/preact';
import { CounterTile } from '../../components/CounterTile.js';
import { DataTable } from '../../components/DataTable.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { importOutcome } from '../../importOutcome.js';

const ERROR_COLUMNS = [
  { key: 'line', label: 'Line', align: 'right' },
  { key: 'message', label: 'Problem' },
];

/** What a CSV import did: counts, and the rows it could not take, by line. */
export function ImportResult({ name, result, error, cancelled, onClose }) {
  const errors = result?.errors || [];
  const outcome = importOutcome({ result, error, cancelled });
  return html`<section class="card import-result" data-testid="leads-import-result" aria-live="polite">
    <header class="card-head">
      <div>
        <h2 class="card-heading" data-testid="import-title">${outcome.title}</h2>
        <p class="muted small">${name}</p>
      </div>
      <button type="button" class="btn btn-ghost" onClick=${onClose}>Dismiss</button>
    </header>
    <${ProblemAlert} error=${error} testid="leads-import-error" />
    ${outcome.summary &&
    html`<div class=${`alert alert-${outcome.tone}`} role="status" data-testid="import-summary">${outcome.summary}</div>`}
    ${cancelled &&
    html`<p data-testid="leads-import-cancelled">
      Cancelled during the upload: nothing was imported, unless the whole file had already reached the
      server. Importing it again is safe: rows are matched by email.
    </p>`}
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
