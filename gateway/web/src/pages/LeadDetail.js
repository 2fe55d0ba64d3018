import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { isTransient } from '../hooks.js';
import { changeWatch } from '../live.js';
import { navigate } from '../router.js';
import { formatTime, isHttpUrl, personName } from '../format.js';
import { leadFieldWords, seniorityWords, sizeWords, sourceWords, timeZoneWords } from '../words.js';
import { leadsPath } from '../leadFilters.js';
import { leadStatus } from '../leadStatus.js';
import { backPath } from '../listPlace.js';
import { ProblemAlert } from '../components/ProblemAlert.js';
import { Spinner } from '../components/Spinner.js';
import { Detail } from '../components/Detail.js';
import { LeadEditForm } from './lead/LeadEditForm.js';
import { ScoreCard } from './lead/ScoreCard.js';
import { EmailCard } from './lead/EmailCard.js';
import { EnrichCard } from './lead/EnrichCard.js';
import { ProviderCard } from './lead/ProviderCard.js';
import { ActivityCard } from './lead/ActivityCard.js';
import { changeProps, useCanChange } from '../roles.js';

const LEAD_DONE = new Set(['enriched', 'failed']);
const JOB_DONE = new Set(['completed', 'failed']);

/**
 * Reads the lead (and its job, from ?job=) again whenever a live event names
 * the lead (every 15 s while the live stream is down), while there is
 * something to wait for; a failed read is tried again after a second. main.js keys the page by URL, so a new id or job
 * remounts it.
 * - With a job: until the job is terminal and the lead is enriched/failed;
 *   the lead is read once more after the job settles (its last write may
 *   land just after the job's), and a lead that stays e.g. "new" after its
 *   job ended does not keep the poll alive forever.
 * - Without a job: only while the lead is "processing" (a sourced lead sits
 *   at "new" until someone enriches it; nothing to wait for).
 * setLead replaces the shown lead (e.g. with a PATCH answer).
 */
function useLeadWatch(leadId, jobId) {
  const [s, setS] = useState({ lead: null, job: null, error: null, jobError: null, watching: true });
  const ref = useRef(s);

  useEffect(() => {
    let stopped = false;
    let timer;
    const namesLead = (e) => e.type.startsWith('leads.lead.') && (e.data.leads || [e.data.lead]).some((l) => l?.id === leadId);
    // Listening before the first read: a change while a read is in flight is not missed.
    const watch = changeWatch(namesLead);
    let jobSettledBefore = false; // the job was already terminal on an earlier poll
    let sawJobRunning = false;

    async function tick() {
      const [lead, job] = await Promise.allSettled([
        api.get(`/v1/leads/${encodeURIComponent(leadId)}`),
        jobId ? api.get(`/v1/jobs/${encodeURIComponent(jobId)}`) : Promise.resolve(null),
      ]);
      if (stopped) return;

      // Keep the last good lead/job on a failed poll; show the error beside it.
      const c = { ...ref.current };
      if (lead.status === 'fulfilled') Object.assign(c, { lead: lead.value, error: null });
      else c.error = lead.reason;
      if (job.status === 'fulfilled') Object.assign(c, { job: job.value, jobError: null });
      else c.jobError = job.reason;

      // A lead that cannot be loaded (4xx) ends the watch whatever the job does.
      const fatal = Boolean(c.error) && !isTransient(c.error);
      if (jobId) {
        const leadSettled = c.lead ? LEAD_DONE.has(c.lead.status) : !isTransient(c.error);
        const jobSettled = c.job ? JOB_DONE.has(c.job.status) : !isTransient(c.jobError);
        const justSettled = jobSettled && sawJobRunning && !jobSettledBefore;
        c.watching = !fatal && !(jobSettled && !justSettled && (leadSettled || jobSettledBefore));
        if (!jobSettled) sawJobRunning = true;
        jobSettledBefore = jobSettled;
      } else {
        c.watching = !fatal && (c.lead ? c.lead.status === 'processing' : isTransient(c.error));
      }

      ref.current = c;
      setS(c);
      // The next read only after this answer, so slow responses never pile up. The job's end is the
      // lead's update (enriched or failed); a job that settled just now gets one more read.
      if (!c.watching) return;
      if (c.error || c.jobError || (jobId && jobSettledBefore)) timer = setTimeout(tick, 1000);
      else watch.next(tick);
    }

    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
      watch.cancel();
    };
  }, [leadId, jobId]);

  const setLead = (lead) => {
    // A PATCH answer may leave out the history that GET adds: keep ours.
    const merged = { enrichmentHistory: ref.current.lead?.enrichmentHistory, ...lead };
    ref.current = { ...ref.current, lead: merged, error: null };
    setS(ref.current);
  };
  return { ...s, setLead };
}

export function LeadDetail({ params, query }) {
  const jobId = query.get('job');
  const canEdit = useCanChange(); // a viewer reads the lead; every change is disabled, saying why
  const { lead, job, error, jobError, watching, setLead } = useLeadWatch(params.id, jobId);

  return html`<section>
    <header class="page-head page-head-row">
      <div>
        <a class="back-link" href=${`#${backPath('/leads')}`} data-testid="lead-back">← Leads</a>
        <h1>Lead</h1>
      </div>
      ${canEdit && html`<a class="btn btn-secondary" href="#/leads/new" data-testid="create-another">Create another lead</a>`}
    </header>
    <${ProblemAlert} error=${error} testid="lead-load-error" />
    ${!lead && !error && html`<div class="card"><${Spinner} label="Loading lead…" /></div>`}
    ${lead && html`<${LeadCard} lead=${lead} job=${job} watching=${watching} onSaved=${setLead} />`}
    ${jobId && html`<${JobCard} job=${job} error=${jobError} />`}
    ${lead && html`<${ActivityCard} leadId=${lead.id} />`}
    ${lead && html`<${ProviderCard} lead=${lead} onApplied=${setLead} />`}
    ${lead && html`<${ScoreCard} lead=${lead} onScored=${setLead} />`}
    ${lead && html`<${EnrichCard} lead=${lead} busy=${watching && Boolean(jobId)} shownError=${leadStatus(lead, job).error} />`}
    ${lead && canEdit && html`<${EmailCard} lead=${lead} />`}
  </section>`;
}

function LeadCard({ lead, job, watching, onSaved }) {
  const canEdit = useCanChange();
  const status = leadStatus(lead, job);
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState(null);
  const pending = !LEAD_DONE.has(lead.status);
  const edited = lead.editedFields || [];

  async function onDelete() {
    if (!window.confirm(`Delete the lead “${personName(lead)}”? This cannot be undone.`)) return;
    setDeleting(true);
    setDeleteError(null);
    try {
      await api.delete(`/v1/leads/${encodeURIComponent(lead.id)}`);
      navigate(backPath('/leads'), { replace: true });
    } catch (err) {
      setDeleteError(err);
      setDeleting(false);
    }
  }

  return html`<article class="card">
    <header class="card-head">
      <div>
        <h2 class="card-title">${personName(lead)}</h2>
        <p class="muted">${lead.email || html`<span class="flag-muted">no email</span>`}</p>
      </div>
      <div class="status-line">
        ${pending && watching && html`<${Spinner} label="" />`}
        <span class="badge badge-${status.tone}" data-testid="lead-enrichment-status">Enrichment: <span data-testid="lead-status">${status.word}</span></span>
      </div>
    </header>
    ${status.word === 'enriching' &&
    status.detail &&
    html`<p class="muted small" role="status" data-testid="lead-status-detail">${status.detail}</p>`}

    <div class="card-toolbar">
      <button
        type="button"
        class="btn btn-secondary btn-sm"
        data-testid="lead-edit"
        ...${changeProps(canEdit)}
        aria-expanded=${editing ? 'true' : 'false'}
        onClick=${() => setEditing((v) => !v)}
      >
        ${editing ? 'Close editor' : 'Edit'}
      </button>
      <button type="button" class="btn btn-danger-ghost btn-sm" data-testid="lead-delete" ...${changeProps(canEdit, deleting)} onClick=${onDelete}>
        ${deleting ? 'Deleting…' : 'Delete'}
      </button>
    </div>
    <${ProblemAlert} error=${deleteError} testid="lead-delete-error" />

    ${editing &&
    html`<${LeadEditForm}
      lead=${lead}
      onSaved=${(updated) => {
        onSaved(updated);
        setEditing(false);
      }}
      onCancel=${() => setEditing(false)}
    />`}

    <dl class="details">
      <${Detail} label="Company" value=${lead.companyName} />
      <${Detail} label="Title" value=${lead.title} />
      <${Detail} label="Phone" value=${lead.phone && html`<a href=${`tel:${lead.phone}`} data-testid="lead-phone">${lead.phone}</a>`} />
      <${Detail} label="Seniority" value=${seniorityWords(lead.seniority)} />
      <${Detail} label="Industry" value=${lead.industry} />
      <${Detail} label="Company domain" value=${lead.companyDomain && html`<a href=${`https://${lead.companyDomain}`} target="_blank" rel="noopener noreferrer">${lead.companyDomain}</a>`} />
      <${Detail} label="Company size" value=${sizeWords(lead.companySize, lead.companySizeMax)} />
      <${Detail} label="Location" value=${lead.location} />
      <${Detail} label="Time zone" value=${html`<span data-testid="lead-time-zone">${timeZoneWords(lead)}</span>`} />
      <${Detail}
        label="LinkedIn"
        value=${isHttpUrl(lead.linkedinUrl)
          ? html`<a href=${lead.linkedinUrl} target="_blank" rel="noopener noreferrer" data-testid="lead-linkedin">Profile ↗</a>`
          : lead.linkedinUrl}
      />
      <${Detail} label="Source" value=${sourceWords(lead.source)} />
      <${Detail}
        label="Search run"
        value=${lead.searchRunId &&
        html`<a href=${`#${leadsPath({ searchRunId: lead.searchRunId, filtered: 'all' })}`}>Leads of that run</a>`}
      />
      <${Detail} label="Created" value=${formatTime(lead.createdAt)} title=${lead.createdAt} />
      <${Detail} label="Updated" value=${formatTime(lead.updatedAt)} title=${lead.updatedAt} />
    </dl>
    <${Ids} testid="lead-ids" ids=${[['Lead ID', lead.id], ['Search run ID', lead.searchRunId]]} />
    ${edited.length > 0 &&
    html`<p class="muted small edited-note">
      Edited by hand: ${edited.map((f) => leadFieldWords(camel(f)).toLowerCase()).join(', ')} — later searches and enrichments will not overwrite
      ${edited.length === 1 ? ' it' : ' them'}.
    </p>`}

    ${status.error &&
    html`<div class="alert alert-error" role="alert" data-testid="lead-error">
      <strong class="alert-title">Enrichment failed</strong>
      <p class="alert-detail">${status.error}</p>
    </div>`}

    ${lead.status === 'enriched' && !(lead.providerValues || []).length && !hasFindings(lead.enrichment) &&
    html`<p class="muted" data-testid="lead-enrichment-empty">The last enrichment found nothing to add.</p>`}
  </article>`;
}

// The service names edited fields as its columns ("company_size"); the page reads the API's names.
const camel = (name) => name.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
const hasFindings = (enrichment) => ['emailScore', 'emailStatus', 'suggestedEmail'].some((k) => enrichment?.[k] !== undefined);

// Internal ids (for support and the API, not for reading) fold under "Details", as a problem's request id does.
function Ids({ ids, testid }) {
  const shown = ids.filter(([, value]) => value);
  if (shown.length === 0) return null;
  return html`<details class="alert-more" data-testid=${testid}>
    <summary>Details</summary>
    <dl class="details">
      ${shown.map(([label, value]) => html`<${Detail} key=${label} label=${label} wide value=${html`<code>${value}</code>`} />`)}
    </dl>
  </details>`;
}

// The enrichment job's own figures are details of the lead's one status (said above, with its one error):
// folded away for support, as the ids are, never a second status or a repeated error beside it.
function JobCard({ job, error }) {
  if (!job) {
    return error ? html`<${ProblemAlert} error=${error} testid="job-load-error" />` : null;
  }
  return html`<details class="alert-more card" data-testid="job-ids">
    <summary>Details of the enrichment job</summary>
    <dl class="details">
      <${Detail} label="Job status" value=${html`<span data-testid="job-status">${job.status}</span>`} />
      <${Detail} label="Attempts" value=${html`<span data-testid="job-attempts">${job.attempts}/${job.maxAttempts}</span>`} />
      <${Detail} label="Queued" value=${formatTime(job.createdAt)} title=${job.createdAt} />
      <${Detail} label="Started" value=${formatTime(job.startedAt)} title=${job.startedAt} />
      <${Detail} label="Finished" value=${formatTime(job.finishedAt)} title=${job.finishedAt} />
      <${Detail} label="Job ID" wide value=${html`<code>${job.id}</code>`} />
      <${Detail} label="Job kind" wide value=${html`<code>${job.type}</code>`} />
    </dl>
  </details>`;
}
