import { html } from 'htm/preact';
import { formatAgo, formatTime } from '../../format.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { StateBadge } from '../sequences/StateBadge.js';
import { waitingText } from '../sequences/model.js';
import { useLeadActivity } from './activity.js';
import { lastMessageWords, sentence, stepWords, taskOriginWords, threadWords } from './activityWords.js';

/**
 * What the team has done with the lead: the sequences it is (or was) in, its conversations and the calls to make,
 * each linking to its page. The lead's own status is its enrichment's; this is where its sales stand.
 */
export function ActivityCard({ leadId }) {
  const activity = useLeadActivity(leadId);
  return html`<article class="card" aria-labelledby="lead-activity-title" data-testid="lead-activity">
    <header class="card-head"><h2 class="card-subtitle" id="lead-activity-title">Sales activity</h2></header>
    <${Part} title="Sequences" items=${activity.enrollments} error=${activity.errors.enrollments} testid="lead-enrollments"
      empty="Not enrolled in any sequence." render=${(e) => html`<${EnrollmentItem} enrollment=${e} />`} />
    <${Part} title="Conversations" items=${activity.threads} error=${activity.errors.threads} testid="lead-threads"
      empty="No conversation yet." render=${(t) => html`<${ThreadItem} thread=${t} />`} />
    <${Part} title="Calls to make" items=${activity.tasks} error=${activity.errors.tasks} testid="lead-tasks"
      empty="No open call task." render=${(t) => html`<${TaskItem} task=${t} sequences=${activity.sequences} />`} />
  </article>`;
}

/** One kind of activity: its heading, then its items, "none" in words, or what went wrong reading them. */
function Part({ title, items, error, testid, empty, render }) {
  const id = `${testid}-title`;
  return html`<section aria-labelledby=${id} data-testid=${testid}>
    <h3 class="subheading" id=${id}>${title}</h3>
    <${ProblemAlert} error=${error} testid=${`${testid}-error`} />
    ${items === null && !error && html`<${Spinner} label=${`Loading ${title.toLowerCase()}…`} />`}
    ${items?.length === 0 && html`<p class="muted" data-testid=${`${testid}-empty`}>${empty}</p>`}
    ${items?.length > 0 && html`<ul class="mail-list">${items.map((item) => html`<li key=${item.id}>${render(item)}</li>`)}</ul>`}
  </section>`;
}

function EnrollmentItem({ enrollment: e }) {
  const sequence = e.sequence;
  const why = sentence(waitingText(e, { sequenceState: sequence?.state, when: formatTime }));
  return html`<a href=${`#/sequences/${encodeURIComponent(e.sequenceId)}`} data-testid="lead-enrollment">
    <strong data-testid="lead-enrollment-sequence">${sequence?.name || 'A sequence'}</strong>${' '}
    <${StateBadge} state=${e.state} testid="lead-enrollment-state" />
    <span class="muted" data-testid="lead-enrollment-step"> · ${stepWords(e)}</span>
    ${why && html`<div class="muted small">${why}</div>`}
  </a>`;
}

function ThreadItem({ thread: t }) {
  const tab = t.archived ? 'archived' : 'all';
  return html`<a href=${`#/inbox/${encodeURIComponent(t.id)}?tab=${tab}`} data-testid="lead-thread">
    <strong>${threadWords(t)}</strong>
    ${t.needsReply && html` <span class="badge badge-warn" data-testid="lead-thread-needs-reply">Needs reply</span>`}
    ${t.archived && html` <span class="badge badge-neutral">Archived</span>`}
    <span class="muted"> · ${t.channel === 'sms' ? 'text' : 'email'} · ${formatAgo(t.lastMessageAt)} · ${t.messageCount} ${t.messageCount === 1 ? 'message' : 'messages'}</span>
    <div class="muted snippet" data-testid="lead-thread-last">${lastMessageWords(t)}</div>
  </a>`;
}

function TaskItem({ task: t, sequences }) {
  const origin = taskOriginWords(t, sequences);
  return html`<a href="#/tasks" data-testid="lead-task">
    <strong data-testid="lead-task-title">${t.title}</strong>
    <span class="muted">${origin && ` · ${origin}`} · ${formatAgo(t.createdAt)}</span>
    ${t.notes && html`<div class="muted snippet">${t.notes}</div>`}
  </a>`;
}
