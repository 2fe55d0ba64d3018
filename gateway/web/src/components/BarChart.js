import { html } from 'htm/preact';

// Bars drawn as SVG: each bar a link to the list behind it, with its number in a <title> (read by
// screen readers and shown on hover), so a chart is never only pixels. A library (uPlot, Chart.js)
// draws on a canvas: no per-bar link, no text for assistive tech, and 50-200 KB for a few bar charts.

const W = 28; // one day's slot, in viewBox units
const H = 120;
const TOP = 10;

/** The bar height for `value` of `max` (a non-zero value is at least 2 units, so it is seen). */
export function barHeight(value, max) {
  if (!value || !max) return 0;
  return Math.max(2, Math.round(((H - TOP) * value) / max));
}

/**
 * Grouped bars a day. `series`: [{ key, label, tone }]; `points`: [{ day, label, values: { key: n } }];
 * `href(key, point)`: the list behind one bar. Bars' testids are `bar-<key>-<day>` with `data-value`.
 */
/** The highest bar's value in words for the legend, or '' when every bar is 0 (an empty chart has no "highest"). */
export function highestWords(series, points) {
  const top = Math.max(0, ...points.flatMap((p) => series.map((s) => Number(p.values[s.key]) || 0)));
  return top > 0 ? `highest: ${top.toLocaleString('en-US')}` : '';
}

export function BarChart({ series, points, href, label, testid }) {
  const max = Math.max(1, ...points.flatMap((p) => series.map((s) => p.values[s.key] || 0)));
  const highest = highestWords(series, points);
  const bar = (W - 6) / series.length;
  const every = Math.ceil(points.length / 7); // at most 7 day labels under the bars
  return html`<figure class="chart" data-testid=${testid}>
    <svg viewBox=${`0 0 ${points.length * W} ${H + 18}`} role="group" aria-label=${label} preserveAspectRatio="none">
      <line x1="0" x2=${points.length * W} y1=${H} y2=${H} class="chart-axis" />
      ${points.map(
        (p, i) => html`<g key=${p.day}>
          ${series.map((s, j) => {
            const v = p.values[s.key] || 0;
            const h = barHeight(v, max);
            return html`<a href=${href(s.key, p)} data-testid=${`bar-${s.key}-${p.day}`} data-value=${v} aria-label=${`${s.label} on ${p.label}: ${v}`}>
              <title>${`${s.label} on ${p.label}: ${v}`}</title>
              <rect class=${`bar bar-${s.tone}`} x=${i * W + 3 + j * bar} y=${H - h} width=${bar - 1} height=${Math.max(h, 0)} />
              <rect class="bar-hit" x=${i * W + 3 + j * bar} y=${TOP} width=${bar - 1} height=${H - TOP} />
            </a>`;
          })}
          ${i % every === 0 && html`<text x=${i ? i * W + W / 2 : 2} y=${H + 13} class="chart-label" text-anchor=${i ? 'middle' : 'start'}>${p.short}</text>`}
        </g>`,
      )}
    </svg>
    <figcaption class="chart-legend">
      ${series.map((s) => html`<span key=${s.key}><i class=${`swatch bar-${s.tone}`}></i>${s.label}</span>`)}
      ${highest && html`<span class="muted" data-testid=${`${testid}-highest`}>${highest}</span>`}
    </figcaption>
  </figure>`;
}
