import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { navigate } from '../../router.js';
import { formatTime } from '../../format.js';
import { browserTimeZone, longDay, windowDays } from '../../dashboard.js';
import { DataTable } from '../../components/DataTable.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { StatusBadge } from '../../components/StatusBadge.js';

const CATEGORIES = [
  { key: 'sent', label: 'Sent' },
  { key: 'replied', label: 'Replies' },
  { key: 'bounced', label: 'Bounces' },
];

/** #/inbox/messages?category=&days=&day=: the emails behind a dashboard figure, with their total. */
export function Messages({ query }) {
  const category = CATEGORIES.some((c) => c.key === query.get('category')) ? query.get('category') : 'sent';
  const days = windowDays(query);
  const day = /^\d{4}-\d{2}-\d{2}$/.test(query.get('day') || '') ? query.get('day') : '';
  const base = { category, days: String(days), timeZone: browserTimeZone(), limit: '100', ...(day ? { day } : {}) };
  const page = useLoad(() => api.get(`/v1/inbox/messages?${new URLSearchParams(base)}`), [category, days, day]);
  const [more, setMore] = useState({ items: [], cursor: null, error: null, key: '' });
  const key = `${category}|${days}|${day}`;
  const extra = more.key === key ? more : { items: [], cursor: null, error: null };
  const rows = [...(page.data?.messages || []), ...extra.items];
  const cursor = extra.cursor || (extra.items.length ? null : page.data?.nextCursor);
  const go = (q) => navigate(`/inbox/messages?${new URLSearchParams({ category, days: String(days), ...(day ? { day } : {}), ...q })}`, { replace: true });

  async function loadMore() {
    try {
      const next = await api.get(`/v1/inbox/messages?${new URLSearchParams({ ...base, cursor })}`);
      setMore({ items: [...extra.items, ...next.messages], cursor: next.nextCursor, error: null, key });
    } catch (error) {
      setMore({ ...extra, error, key });
    }
  }

  const columns = [
    { key: 'at', label: category === 'replied' ? 'Received' : 'Sent', className: 'nowrap', render: (m) => formatTime(m.at) },
    { key: 'who', label: category === 'replied' ? 'From' : 'To', render: (m) => (category === 'replied' ? m.from : m.to) },
    { key: 'subject', label: 'Subject', render: (m) => html`<a class="subject-clip" href=${`#/inbox/${encodeURIComponent(m.threadId)}?tab=all`} title=${m.subject || undefined}
      data-testid="message-open">${m.subject || '(no subject)'}</a>` },
    { key: 'status', label: 'Status', render: (m) => html`<${StatusBadge} status=${m.kind || m.status} />` },
  ];
  return html`<section class="wide">
    <header class="page-head page-head-row">
      <h1>Emails</h1>
      <a href=${`#/dashboard?days=${days}`} class="muted" data-testid="messages-back">← Home</a>
    </header>
    <nav class="tabs" aria-label="Which emails">
      ${CATEGORIES.map(
        (c) => html`<button type="button" class=${c.key === category ? 'tab active' : 'tab'} aria-pressed=${c.key === category}
          data-testid=${`messages-tab-${c.key}`} onClick=${() => go({ category: c.key })}>${c.label}</button>`,
      )}
    </nav>
    <p class="muted">
      <strong data-testid="messages-total">${page.data ? page.data.total : '…'}</strong>
      ${' '}${day ? `on ${longDay(day)}` : `in the last ${days} days`}
      ${day && html` · <a href="#" data-testid="messages-all-days" onClick=${(e) => (e.preventDefault(), navigate(`/inbox/messages?category=${category}&days=${days}`, { replace: true }))}>all ${days} days</a>`}
    </p>
    <${ProblemAlert} error=${page.error || extra.error} testid="messages-error" />
    <section class="card card-flush scroll-table">
      ${!page.data && !page.error && html`<div class="card-pad"><${Spinner} label="Loading…" /></div>`}
      ${page.data && html`<${DataTable} label="Emails" columns=${columns} rows=${rows} rowTestId="message-row" empty="None in this window." />`}
    </section>
    ${cursor && html`<button type="button" class="btn btn-secondary" data-testid="messages-load-more" onClick=${loadMore}>Load more</button>`}
  </section>`;
}
