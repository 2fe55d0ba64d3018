import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { formatTime, humanize, isHttpUrl } from '../format.js';
import { ProblemAlert } from '../components/ProblemAlert.js';
import { Spinner } from '../components/Spinner.js';
import { StatusBadge } from '../components/StatusBadge.js';

const POLL_MS = 1000;
const LEAD_DONE = new Set(['enriched', 'failed']);
const JOB_DONE = new Set(['completed', 'failed']);

// Worth retrying: the server was unreachable or briefly broken. A 4xx (e.g.
// 404 unknown lead) will not fix itself, so polling stops on those.
const isTransient = (err) => !err.status || err.status >= 500;

/**
 * Polls the lead (and its job, from ?job=) every second until both are in a
 * terminal state. main.js keys the page by URL, so a new id remounts it.
 */
function useLeadWatch(leadId, jobId) {
  const [s, setS] = useState({ lead: null, job: null, error: null, jobError: null, watching: true });

  useEffect(() => {
    let stopped = false;
    let timer;
    let current = { lead: null, job: null, error: null, jobError: null, watching: true };

    async function tick() {
      const [lead, job] = await Promise.allSettled([
        api.get(`/v1/leads/${encodeURIComponent(leadId)}`),
        jobId ? api.get(`/v1/jobs/${encodeURIComponent(jobId)}`) : Promise.resolve(null),
      ]);
      if (stopped) return;

      // Keep the last good lead/job on a failed poll; show the error beside it.
      const c = { ...current };
      if (lead.status === 'fulfilled') Object.assign(c, { lead: lead.value, error: null });
      else c.error = lead.reason;
      if (job.status === 'fulfilled') Object.assign(c, { job: job.value, jobError: null });
      else c.jobError = job.reason;

      const leadSettled = c.lead ? LEAD_DONE.has(c.lead.status) : !isTransient(c.error);
      const jobSettled =
        !jobId || (c.job ? JOB_DONE.has(c.job.status) : !isTransient(c.jobError));
      // A lead that cannot be loaded (4xx) ends the watch whatever the job does.
      const fatal = Boolean(c.error) && !isTransient(c.error);
      c.watching = !fatal && !(leadSettled && jobSettled);

      current = c;
      setS(c);
      // setTimeout after each answer (not setInterval) so slow responses
      // never pile up overlapping requests.
      if (c.watching) timer = setTimeout(tick, POLL_MS);
    }

    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [leadId, jobId]);

  return s;
}

export function LeadDetail({ params, query }) {
  const jobId = query.get('job');
  const { lead, job, error, jobError, watching } = useLeadWatch(params.id, jobId);

  return html`<section>
    <header class="page-head page-head-row">
      <h1>Lead</h1>
      <a class="btn btn-secondary" href="#/leads/new" data-testid="create-another">Create another lead</a>
    </header>
    <${ProblemAlert} error=${error} testid="lead-load-error" />
    ${!lead && !error && html`<div class="card"><${Spinner} label="Loading lead…" /></div>`}
    ${lead && html`<${LeadCard} lead=${lead} watching=${watching} />`}
    ${jobId && html`<${JobCard} job=${job} error=${jobError} />`}
  </section>`;
}

function LeadCard({ lead, watching }) {
  const name = [lead.firstName, lead.lastName].filter(Boolean).join(' ') || lead.email;
  const pending = !LEAD_DONE.has(lead.status);
  return html`<article class="card">
    <header class="card-head">
      <div>
        <h2 class="card-title">${name}</h2>
        <p class="muted">${lead.email}</p>
      </div>
      <div class="status-line">
        ${pending && watching && html`<${Spinner} label="Enriching…" />`}
        <${StatusBadge} status=${lead.status} testid="lead-status" />
      </div>
    </header>

    <dl class="details">
      <${Detail} label="Company" value=${lead.companyName} />
      <${Detail} label="Title" value=${lead.title} />
      <${Detail} label="Created" value=${formatTime(lead.createdAt)} title=${lead.createdAt} />
      <${Detail} label="Updated" value=${formatTime(lead.updatedAt)} title=${lead.updatedAt} />
      <${Detail} label="Lead ID" wide value=${html`<code>${lead.id}</code>`} />
    </dl>

    ${(lead.status === 'failed' || lead.error) &&
    html`<div class="alert alert-error" data-testid="lead-error">
      <strong class="alert-title">Enrichment failed</strong>
      <p class="alert-detail">${lead.error || 'No error message was recorded.'}</p>
    </div>`}

    ${(lead.enrichment || lead.status === 'enriched') &&
    html`<section class="subsection" data-testid="lead-enrichment">
      <h2>Enrichment</h2>
      ${lead.enrichment && Object.keys(lead.enrichment).length > 0
        ? html`<dl class="details">
            ${Object.entries(lead.enrichment).map(
              ([key, value]) => html`<${Detail} key=${key} label=${humanize(key)} value=${renderValue(value)} />`,
            )}
          </dl>`
        : html`<p class="muted">No enrichment data was returned.</p>`}
    </section>`}
  </article>`;
}

function JobCard({ job, error }) {
  if (!job) {
    return html`<article class="card">
      <h2 class="card-subtitle">Enrichment job</h2>
      ${error ? html`<${ProblemAlert} error=${error} testid="job-load-error" />` : html`<${Spinner} label="Loading job…" />`}
    </article>`;
  }
  return html`<article class="card">
    <header class="card-head">
      <h2 class="card-subtitle">Enrichment job <span class="muted">${job.type}</span></h2>
      <${StatusBadge} status=${job.status} testid="job-status" />
    </header>
    <dl class="details">
      <${Detail} label="Attempts" value=${html`<span data-testid="job-attempts">${job.attempts}/${job.maxAttempts}</span>`} />
      <${Detail} label="Queued" value=${formatTime(job.createdAt)} title=${job.createdAt} />
      <${Detail} label="Started" value=${formatTime(job.startedAt)} title=${job.startedAt} />
      <${Detail} label="Finished" value=${formatTime(job.finishedAt)} title=${job.finishedAt} />
      <${Detail} label="Job ID" wide value=${html`<code>${job.id}</code>`} />
    </dl>
    ${job.error &&
    html`<div class="alert alert-error" data-testid="job-error">
      <strong class="alert-title">Last error</strong>
      <p class="alert-detail">${job.error}</p>
    </div>`}
  </article>`;
}

function Detail({ label, value, title, wide = false }) {
  const empty = value === null || value === undefined || value === '';
  return html`<div class=${wide ? 'detail detail-wide' : 'detail'}>
    <dt>${label}</dt>
    <dd title=${title || undefined}>${empty ? html`<span class="muted">—</span>` : value}</dd>
  </div>`;
}

// Enrichment values are free-form: links become links, objects become JSON.
function renderValue(value) {
  if (isHttpUrl(value)) {
    return html`<a href=${value} target="_blank" rel="noopener noreferrer">${value}</a>`;
  }
  if (value !== null && typeof value === 'object') return html`<code>${JSON.stringify(value)}</code>`;
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  return value;
}
