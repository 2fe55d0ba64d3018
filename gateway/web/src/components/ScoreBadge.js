import { html } from 'htm/preact';

/**
 * A lead's score as a pill whose text is exactly the number (or "—" when
 * unscored). Filtered leads (below their ICP's minimum) are drawn muted.
 */
export function ScoreBadge({ score, filtered = false, testid }) {
  const scored = typeof score === 'number' && Number.isFinite(score);
  const band = !scored ? 'none' : score >= 70 ? 'high' : score >= 40 ? 'mid' : 'low';
  const cls = `score score-${band}${filtered ? ' score-filtered' : ''}`;
  const title = filtered ? 'Below the ICP’s minimum score (filtered)' : undefined;
  return html`<span class=${cls} title=${title} data-testid=${testid}>${scored ? score : '—'}</span>`;
}
