import { useLiveRefresh } from '../../live.js';

/** A live event about lead runs (one run's, when `runId` is given). */
const runChanged = (runId) => (e) => e.type.startsWith('runs.run.') && (!runId || e.data.runId === runId);

/**
 * While `active`, run `reload` when a lead run moves (a live `runs.run.*` event, of `runId` if given), and
 * every FALLBACK_MS while the live stream is down. `answer` is kept for the callers' sake (it used to time
 * the next poll). Returns the stream's state.
 */
export function useRefreshWhile(active, answer, reload, runId) {
  return useLiveRefresh(reload, { active, match: runChanged(runId) });
}
