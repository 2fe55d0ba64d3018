import { html } from 'htm/preact';
import { useEffect } from 'preact/hooks';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { usePagedList } from '../../pagedList.js';
import { Alerts } from './Alerts.js';
import { DeadLetters } from './DeadLetters.js';
import { QueueHealth } from './QueueHealth.js';

// Alerts escalate and queues move on their own: the page keeps itself current.
const REFRESH_MS = 2000;

/** #/operations: what the background work is doing: queue health, alerts and their escalation, dead letters. */
export function Operations() {
  const health = useLoad(() => api.get('/v1/operations/queue-health'), []);
  const alerts = useLoad(() => api.get('/v1/lead-runs/alerts'), []);
  // Every service's dead letters, newest first, a page at a time, with their count; a refresh keeps the rows loaded.
  const jobs = usePagedList('/v1/jobs?status=failed', { items: 'jobs' });
  useEffect(() => {
    const timer = setInterval(() => {
      health.reload();
      alerts.reload();
      jobs.reload();
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [health.reload, alerts.reload, jobs.reload]);

  return html`<section class="wide">
    <header class="page-head">
      <h1>Operations</h1>
      <p class="muted">The background work: how long the queue waits, what has gone wrong, and what was given up on.</p>
    </header>
    <div class="ops-grid">
      <${QueueHealth} health=${health} />
      <${Alerts} alerts=${alerts} />
    </div>
    <${DeadLetters} jobs=${jobs} />
  </section>`;
}
