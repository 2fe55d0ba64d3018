import { html } from 'htm/preact';

/**
 * An ARIA progressbar: aria-valuenow/-max carry the real numbers (e.g.
 * people fetched / limit); `percent` (0-100) is how full it is drawn, which
 * may differ (a completed run is full even if the source ran out early).
 */
export function ProgressBar({ value, max, percent, label, testid, active = false }) {
  const pct = Math.max(0, Math.min(100, percent ?? (max > 0 ? (value / max) * 100 : 0)));
  return html`<div
    class=${active ? 'progress progress-active' : 'progress'}
    role="progressbar"
    aria-label=${label}
    aria-valuemin="0"
    aria-valuemax=${max}
    aria-valuenow=${value}
    aria-valuetext=${`${value} of ${max}`}
    data-testid=${testid}
  >
    <div class="progress-fill" style=${{ width: `${pct}%` }}></div>
  </div>`;
}
