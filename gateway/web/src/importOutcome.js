// What a CSV import did, in words (no DOM; unit-tested in test/).

const n = (x) => Math.max(0, Number(x) || 0);
const rows = (k) => `${k.toLocaleString('en')} ${k === 1 ? 'row' : 'rows'}`;
const leads = (k) => `${k.toLocaleString('en')} ${k === 1 ? 'lead' : 'leads'}`;

/**
 * The result card's title and its one sentence: "Import finished" only when every row went in; an
 * import whose every row failed says nothing was imported. `tone` is the alert's (success|warn|error).
 */
export function importOutcome({ result, error, cancelled } = {}) {
  if (cancelled) return { title: 'Import cancelled', summary: null, tone: 'info' };
  if (error || !result) return { title: 'Import failed', summary: null, tone: 'error' };
  const created = n(result.created);
  const updated = n(result.updated);
  const failed = n(result.failed ?? result.errors?.length);
  const imported = created + updated;
  const parts = `${created.toLocaleString('en')} new, ${updated.toLocaleString('en')} updated`;
  if (imported === 0 && failed === 0) {
    return { title: 'Nothing imported', summary: 'No lead was imported: the file had no rows.', tone: 'warn' };
  }
  if (imported === 0) {
    const all = failed === 1 ? 'its only row had an error' : `all ${rows(failed)} had errors`;
    return { title: 'Nothing imported', summary: `No lead was imported: ${all}.`, tone: 'error' };
  }
  if (failed > 0) {
    return {
      title: 'Import finished with errors',
      summary: `${leads(imported)} imported (${parts}); ${rows(failed)} had errors and were skipped.`,
      tone: 'warn',
    };
  }
  return { title: 'Import finished', summary: `${leads(imported)} imported (${parts}).`, tone: 'success' };
}
