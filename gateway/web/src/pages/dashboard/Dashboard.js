import { html } from 'htm/preact';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { useLiveRefresh } from '../../live.js';
import { navigate } from '../../router.js';
import { formatAgo } from '../../format.js';
import { browserTimeZone, countWords, LEADS_HREF, leadsDayHref, longDay, messagesHref, percent, RATE_BASIS, shortDay, WINDOWS, windowDays } from '../../dashboard.js';
import { BarChart } from '../../components/BarChart.js';
import { DataTable } from '../../components/DataTable.js';
import { LiveBadge } from '../../components/LiveBadge.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { RunStateBadge } from '../runs/RunStateBadge.js';
import { formatCount } from '../runs/model.js';

// What moves a figure here: new leads, mail in and out, runs. Read again at most every 2 s.
const MOVES = (e) => e.type === 'leads.lead.created' || e.type === 'leads.lead.deleted' || e.type.startsWith('inbox.message.') || e.type.startsWith('runs.run.') || e.type === 'sequences.enrollment.stopped';

/** A figure that is a link to the list it counts. */
function Figure({ label, value, sub, href, testid, tone = 'neutral' }) {
  return html`<a class=${`tile tile-link tile-${tone}`} href=${href} data-testid=${`${testid}-link`}>
    <span class="tile-value" data-testid=${testid}>${formatCount(value)}</span>
    <span class="tile-label">${label}</span>
    ${sub && html`<span class="tile-sub muted small" data-testid=${`${testid}-sub`}>${sub}</span>`}
  </a>`;
}

/** #/dashboard (home): the window's figures, a day at a time, per sequence, and what needs attention. */
export function Dashboard({ query }) {
  const days = windowDays(query);
  const zone = browserTimeZone();
  const url = `/v1/dashboard?${new URLSearchParams({ days: String(days), timeZone: zone })}`;
  const board = useLoad(() => api.get(url), [url]);
  const live = useLiveRefresh(board.reload, { match: MOVES, minGapMs: 2000 });
  const d = board.data;

  return html`<section class="wide" data-testid="dashboard">
    <header class="page-head page-head-row">
      <h1>Home</h1>
      <span class="row-actions">
        <label class="inline-field">
          <span class="muted small">Last</span>
          <select data-testid="dashboard-days" value=${String(days)} onChange=${(e) => navigate(`/dashboard?days=${e.target.value}`, { replace: true })}>
            ${WINDOWS.map((n) => html`<option value=${String(n)}>${n} days</option>`)}
          </select>
        </label>
        <${LiveBadge} state=${live} />
      </span>
    </header>
    <${ProblemAlert} error=${board.error} testid="dashboard-error" />
    ${!d && !board.error && html`<div class="card card-pad"><${Spinner} label="Loading the figures…" /></div>`}
    ${d && html`<${Figures} d=${d} days=${days} />`}
  </section>`;
}

function Figures({ d, days }) {
  const t = d.totals;
  const points = d.days.map((p) => ({ day: p.day, short: shortDay(p.day), label: longDay(p.day), values: p }));
  const noMail = t.sent === 0 && t.replied === 0 && t.bounced === 0;
  return html`
    <p class="muted small" data-testid="dashboard-window">${longDay(d.window.first)} to ${longDay(d.window.last)} · ${d.window.timeZone}</p>
    <div class="tiles tiles-wide">
      <${Figure} label="Leads" value=${t.leads} sub=${`${t.leadsInWindow} new in ${days} days`} href=${LEADS_HREF} testid="figure-leads" />
      <${Figure} label="Emails sent" value=${t.sent} href=${messagesHref('sent', days)} testid="figure-sent" />
      <${Figure} label="Replies" value=${t.replied} sub=${`reply rate ${percent(t.replyRate)} (${RATE_BASIS})`} href=${messagesHref('replied', days)} testid="figure-replied" tone="success" />
      <${Figure} label="Bounces" value=${t.bounced} href=${messagesHref('bounced', days)} testid="figure-bounced" tone=${t.bounced ? 'danger' : 'neutral'} />
    </div>
    <div class="chart-grid">
      <section class="card card-pad" aria-labelledby="chart-leads-title">
        <h2 class="card-heading" id="chart-leads-title"><a href=${LEADS_HREF}>Leads created a day</a></h2>
        <${BarChart} testid="chart-leads" label="Leads created a day" series=${[{ key: 'leads', label: 'Leads', tone: 'accent' }]} points=${points} href=${(key, p) => leadsDayHref(p.day)} />
      </section>
      <section class="card card-pad" aria-labelledby="chart-mail-title">
        <h2 class="card-heading" id="chart-mail-title"><a href=${messagesHref('sent', days)}>Emails a day</a></h2>
        ${noMail && html`<p class="muted small" data-testid="chart-mail-empty">No email in these ${days} days yet: enroll leads in an active sequence, or start a lead run.</p>`}
        <${BarChart}
          testid="chart-mail"
          label="Emails sent, replies and bounces a day"
          series=${[
            { key: 'sent', label: 'Sent', tone: 'accent' },
            { key: 'replied', label: 'Replies', tone: 'success' },
            { key: 'bounced', label: 'Bounces', tone: 'danger' },
          ]}
          points=${points}
          href=${(key, p) => messagesHref(key, days, p.day)}
        />
      </section>
    </div>
    <${Sequences} sequences=${d.sequences} />
    <${Attention} runs=${d.runs} queue=${d.queue} />
  `;
}

/** "3 sent · 1 replied · 1 undelivered": a sequence's texts, beside its emails (which the tiles count). */
function textsWords(s) {
  if (!s.textsSent && !s.textsReplied && !s.textsUndelivered) return '—';
  return [`${s.textsSent} sent`, s.textsReplied && `${s.textsReplied} replied`, s.textsUndelivered && `${s.textsUndelivered} undelivered`]
    .filter(Boolean)
    .join(' · ');
}

function Sequences({ sequences }) {
  const columns = [
    { key: 'name', label: 'Sequence', render: (s) => html`<a class="strong-link" href=${`#/sequences/${encodeURIComponent(s.id)}`} data-testid="seq-figure-link">${s.name}</a> <span class="muted small">${s.state}</span>` },
    { key: 'enrolled', label: 'Enrolled', align: 'right', render: (s) => html`<span data-testid="seq-figure-enrolled">${s.enrolled}</span>` },
    { key: 'sent', label: 'Emails sent', align: 'right', render: (s) => html`<span data-testid="seq-figure-sent">${s.sent}</span>` },
    { key: 'replied', label: 'Replies', align: 'right', render: (s) => html`<span data-testid="seq-figure-replied">${s.replied}</span>` },
    {
      key: 'rate',
      label: html`Reply rate <span class="muted small">(${RATE_BASIS})</span>`,
      className: 'rate-cell',
      render: (s) => html`<span class="rate-bar" aria-hidden="true"><span style=${`width:${Math.round((s.replyRate || 0) * 100)}%`}></span></span>
        <span data-testid="seq-figure-rate">${percent(s.replyRate)}</span>`,
    },
    { key: 'bounced', label: 'Bounces', align: 'right', render: (s) => html`<span data-testid="seq-figure-bounced">${s.bounced}</span>` },
    { key: 'texts', label: 'Texts', className: 'nowrap', render: (s) => html`<span class="muted small" data-testid="seq-figure-texts">${textsWords(s)}</span>` },
  ];
  return html`<section class="card card-flush scroll-table" aria-labelledby="seq-figures-title">
    <header class="card-head card-head-pad"><h2 class="card-heading" id="seq-figures-title"><a href="#/sequences">Sequences</a></h2>
      <span class="muted small" data-testid="seq-figures-note">since each began · emails as the tiles count them; texts apart</span></header>
    <${DataTable} label="Sequences' figures" columns=${columns} rows=${sequences} rowTestId="seq-figure-row" empty=${html`No sequences yet: <a href="#/sequences/new">create one</a> and enroll leads.`} />
  </section>`;
}

function Attention({ runs, queue }) {
  const calm = !runs.length && !queue.breached && !queue.openAlerts && !queue.deadLetters;
  return html`<section class="card card-pad" aria-labelledby="attention-title" data-testid="attention">
    <h2 class="card-heading" id="attention-title">Needs attention</h2>
    ${calm && html`<p class="muted" data-testid="attention-calm">Nothing: no failed or running lead runs, and the queue is keeping up.</p>`}
    <ul class="attention-list">
      ${runs.map(
        (r) => html`<li data-testid="attention-run" data-state=${r.state}>
          <a href=${`#/runs/${encodeURIComponent(r.id)}`}><${RunStateBadge} state=${r.state} /> Lead run, ${formatCount(r.settled)} of ${formatCount(r.total)} leads settled${r.failed ? `, ${formatCount(r.failed)} failed` : ''}</a>
          <span class="muted small"> · ${formatAgo(r.createdAt)}</span>
          ${r.error && html`<div class="muted small">${r.error}</div>`}
        </li>`,
      )}
      ${(queue.breached || queue.pending > 0 || queue.openAlerts > 0 || queue.deadLetters > 0) &&
      html`<li data-testid="attention-queue">
        <a href="#/operations">${queue.breached ? html`<span class="badge badge-danger">queue behind</span> ` : ''}Queue: ${formatCount(queue.pending)} waiting${queue.pending ? `, oldest ${Math.round(queue.oldestPendingAgeS)} s` : ''} · ${countWords(queue.openAlerts, 'open alert', 'open alerts')} · ${countWords(queue.deadLetters, 'dead letter', 'dead letters')}</a>
      </li>`}
    </ul>
  </section>`;
}
