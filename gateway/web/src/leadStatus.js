// The lead page's one status: the lead's, its enrichment job's and its history's, said once (no DOM; tested in test/).

const JOB_ACTIVE = new Set(['queued', 'running']);

/**
 * One status word (the badge's text, `tone` its colour), at most one line about it (`detail`) and at most one
 * error message (`error`), from the lead and, when the page watches one, its enrichment job. The job's own
 * status, attempts and error are details of this, never a second status beside it.
 */
export function leadStatus(lead, job) {
  if (!lead) return { word: '', tone: 'neutral', detail: null, error: null };
  const attempts = Number(job?.attempts) || 0;
  const max = Number(job?.maxAttempts) || 0;
  const jobActive = Boolean(job) && JOB_ACTIVE.has(job.status);
  if (lead.status === 'processing' || (jobActive && lead.status !== 'failed')) {
    let detail = 'Enriching this lead…';
    if (jobActive && job.status === 'queued' && attempts > 0 && max) {
      const why = job.error ? `The last try did not work (${job.error}). ` : '';
      detail = `${why}Trying again: attempt ${attempts + 1} of ${max}.`;
    } else if (jobActive && job.status === 'queued') {
      detail = 'Waiting for a worker to start.';
    } else if (jobActive && max > 1) {
      detail = `Enriching this lead… (attempt ${attempts} of ${max})`;
    }
    return { word: 'enriching', tone: 'active', detail, error: null };
  }
  if (lead.status === 'failed') {
    const error = lead.error || job?.error || 'No error message was recorded.';
    return { word: 'failed', tone: 'danger', detail: 'Enrichment failed.', error };
  }
  if (lead.status === 'enriched') return { word: 'enriched', tone: 'success', detail: null, error: null };
  return { word: lead.status || 'new', tone: 'neutral', detail: null, error: null };
}

/** The history rows worth a table: finished ones (the one under way is the status above). */
export const finishedEnrichments = (history) =>
  (history || []).filter((r) => r && !JOB_ACTIVE.has(r.status) && r.status !== 'processing');
