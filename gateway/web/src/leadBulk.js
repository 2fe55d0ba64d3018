// Pure: the leads table's total and its bulk actions' results, in words; the selection's export in
// parts (a URL names at most EXPORT_PART leads) joined into one CSV. Unit-tested.
import { countWords } from './counts.js';

const n = (value) => Number(value).toLocaleString('en-US');
const plural = (count, one, many) => `${n(count)} ${count === 1 ? one : many}`;

/** "1,234 leads", "1 lead", "10,000+ leads" (the count stops at the API's cap); '' when not counted. */
export const totalWords = (total, capped) => countWords(total, capped, 'lead', 'leads');

/** What a bulk action did, e.g. "12 deleted, 3 already gone", "3 leads linked to VP Sales and scored". */
export function bulkWords(action, result) {
  const parts = [];
  if (action === 'delete') {
    parts.push(`${n(result.deleted)} deleted`);
    if (result.notFound) parts.push(`${n(result.notFound)} already gone`);
  } else if (action === 'enrich') {
    parts.push(plural(result.started, 'enrichment started', 'enrichments started'));
    if (result.alreadyRunning) parts.push(`${n(result.alreadyRunning)} already being enriched`);
    if (result.notFound) parts.push(`${n(result.notFound)} not found`);
    if (result.refused) {
      const why = (result.refusedBecause || []).join('; ');
      parts.push(`${n(result.refused)} not enriched${why ? ` (${why})` : ''}`);
    }
  } else if (action === 'export') {
    parts.push(`${plural(result.exported, 'lead', 'leads')} exported`);
  } else if (action === 'score') {
    // result.icpName: the ICP the leads were linked to; absent when each was scored again by its own.
    const to = result.icpName ? `linked to ${result.icpName} and scored` : 'scored again';
    parts.push(`${plural(result.scored, 'lead', 'leads')} ${to}`);
    if (result.filtered) parts.push(`${n(result.filtered)} under the ICP’s minimum score (shown with filtered leads)`);
    if (result.notLinked) parts.push(`${n(result.notLinked)} not linked to an ICP`);
    if (result.icpDeleted) parts.push(`${n(result.icpDeleted)} whose ICP was deleted`);
    if (result.notFound) parts.push(`${n(result.notFound)} not found`);
  }
  return parts.join(', ');
}

export const EXPORT_PART = 100; // the gateway's `ids` takes at most 100 ids

/** The selected ids in the order the table shows them (the rows first, then any no longer shown). */
export function selectionInOrder(rows, selectedIds) {
  const chosen = new Set(selectedIds);
  const shown = rows.map((r) => r.id).filter((id) => chosen.has(id));
  const inRows = new Set(shown);
  return [...shown, ...selectedIds.filter((id) => !inRows.has(id))];
}

/** `ids` in parts of at most `size`. */
export function parts(ids, size = EXPORT_PART) {
  const out = [];
  for (let i = 0; i < ids.length; i += size) out.push(ids.slice(i, i + size));
  return out;
}

/** CSV texts of the same columns as one: the first header kept, the others' dropped. */
export function joinCsv(texts) {
  return texts
    .map((text, i) => (i === 0 ? text : text.slice(text.indexOf('\n') + 1)))
    .map((text) => (text === '' || text.endsWith('\n') ? text : `${text}\n`))
    .join('');
}

/** Data rows in a CSV text (after its header); a quoted cell's line breaks are not rows. */
export function csvRowCount(text) {
  let rows = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') quoted = !quoted;
    else if (text[i] === '\n' && !quoted) rows++;
  }
  if (text && !text.endsWith('\n')) rows++;
  return Math.max(0, rows - 1);
}
