// Pure: what saving an ICP did to the leads it already has, in words (no DOM; tested in test/icp-saved.test.js).

// The rules a lead's score is made of: the name and the minimum score change no score.
const SCORED = ['titles', 'seniorities', 'industries', 'locations', 'keywords', 'companySizeMin', 'companySizeMax', 'weights'];

const leads = (n) => `${n.toLocaleString('en-US')} ${n === 1 ? 'lead' : 'leads'}`;

/** Whether the rules that make a lead's score differ between two saved ICPs (as the API gives them). */
export function scoringChanged(before, after) {
  return SCORED.some((key) => JSON.stringify(before?.[key] ?? null) !== JSON.stringify(after?.[key] ?? null));
}

/**
 * The lines to show once an ICP was saved over `before` (null for a new one) as `after` (the PUT's answer): the
 * leads a new minimum score hid or showed again (the server applies it at once), and that scores made by other
 * rules stay as they are until the leads are scored again.
 */
export function savedWords(before, after) {
  if (!before || !after) return [];
  const lines = [];
  if (before.minScore !== after.minScore) {
    const hidden = Number(after.leadsHidden) || 0;
    const shown = Number(after.leadsShown) || 0;
    const changed = [hidden && `${leads(hidden)} hidden`, shown && `${leads(shown)} shown again`].filter(Boolean);
    lines.push(
      `Minimum score ${before.minScore} → ${after.minScore}: this ICP’s leads scoring under ${after.minScore} are ` +
        `hidden from the leads list (${changed.length ? changed.join(', ') : 'none changed'}).`,
    );
  }
  if (scoringChanged(before, after)) {
    lines.push(
      'Leads found before keep the scores they have. To score them by the new rules: in the leads list, select ' +
        'them, choose “Link to ICP…” and “Each lead’s own ICP (score again)”.',
    );
  }
  return lines;
}
