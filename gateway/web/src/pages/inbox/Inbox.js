import { html } from 'htm/preact';
import { usePagedList } from '../../pagedList.js';
import { useLiveRefresh } from '../../live.js';
import { LiveBadge } from '../../components/LiveBadge.js';
import { navigate } from '../../router.js';
import { ListTotal, LoadMore } from '../../components/ListTotal.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { formatAgo, personName } from '../../format.js';
import { Thread } from './Thread.js';
import { useLoad } from '../../hooks.js';
import { api } from '../../api.js';
import { messageCount, threadWho } from './words.js';

// The inbox: conversations newest first, those needing a reply first in the tabs, kept current by live events.
const TABS = [
  { key: 'needs_reply', label: 'Needs reply', count: (c) => c.needsReply },
  { key: 'unread', label: 'Unread', count: (c) => c.unread },
  { key: 'all', label: 'All' },
  { key: 'archived', label: 'Archived' },
];
const KIND_LABEL = { bounce: 'Bounce', auto_reply: 'Auto-reply', complaint: 'Complaint' };
// The most lead ids one GET /v1/leads?ids= takes.
const LEADS_PER_ASK = 100;

export function Inbox({ params, query }) {
  const tab = query.get('tab') || 'needs_reply';
  // Newest first, a page at a time, with the server's count of the threads in this tab.
  const list = usePagedList(`/v1/inbox/threads?filter=${encodeURIComponent(tab)}`, { items: 'threads', page: 100 });
  const live = useLiveRefresh(list.reload, { match: (e) => e.type.startsWith('inbox.') });
  const counts = list.firstPage?.counts || { needsReply: 0, unread: 0 };
  const threads = list.items;
  const names = useLeadNames(threads.filter((t) => t.leadId).map((t) => t.leadId));
  const go = (key) => navigate(`/inbox${params.id ? `/${params.id}` : ''}?tab=${key}`);

  return html`<section>
    <header class="page-head page-head-row"><h1>Inbox</h1><${LiveBadge} state=${live} /></header>
    <nav class="tabs" aria-label="Inbox views">
      ${TABS.map(
        (t) => html`<button type="button" class=${t.key === tab ? 'tab active' : 'tab'} data-testid=${`inbox-tab-${t.key}`}
          aria-pressed=${t.key === tab} onClick=${() => go(t.key)}>
          ${t.label}${t.count && html` <span class="count" data-testid=${`inbox-count-${t.key}`}>${t.count(counts)}</span>`}
        </button>`,
      )}
    </nav>
    <${ProblemAlert} error=${list.error} testid="inbox-error" />
    <div class="mail-layout">
      <div class="card">
        ${list.loading && !list.loaded && html`<${Spinner} label="Loading the inbox…" />`}
        <${ListTotal} list=${list} one="conversation" many="conversations" testid="inbox-total" />
        ${list.loaded && threads.length === 0 && html`<p class="muted" data-testid="inbox-empty">Nothing here.</p>`}
        <ul class="mail-list" data-testid="thread-list">
          ${threads.map((t) => {
            const who = threadWho(t, names);
            return html`<li class=${[t.id === params.id && 'selected', t.unread && 'unread'].filter(Boolean).join(' ')}>
              <a href=${`#/inbox/${t.id}?tab=${tab}`} data-testid="thread-item">
                <strong data-testid="thread-item-name">${who.name}</strong>
                ${who.address && html` <span class="muted" data-testid="thread-item-address">${who.address}</span>`}
                ${KIND_LABEL[t.lastKind] && html` <span class="badge badge-neutral">${KIND_LABEL[t.lastKind]}</span>`}
                <span class="muted"> · ${formatAgo(t.lastMessageAt)} · <span data-testid="thread-item-count">${messageCount(t.messageCount)}</span></span>
                ${t.subject && html`<div class="mail-subject" title=${t.subject}>${t.subject}</div>`}
                <div class="muted snippet">${t.snippet}</div>
              </a>
            </li>`;
          })}
        </ul>
        <${LoadMore} list=${list} testid="inbox-load-more" />
      </div>
      ${params.id && html`<${Thread} id=${params.id} onChanged=${list.reload} />`}
    </div>
  </section>`;
}

/**
 * The names of these leads, by id (a request for each 100: GET /v1/leads?ids=), so every conversation, by email or by
 * text, is listed by whom it is with. A lead not found (deleted), or without a name, keeps its address or number.
 */
function useLeadNames(ids) {
  const wanted = [...new Set(ids)].sort().join(',');
  const found = useLoad(() => {
    if (!wanted) return Promise.resolve([]);
    const all = wanted.split(',');
    const pages = [];
    for (let at = 0; at < all.length; at += LEADS_PER_ASK) {
      const ask = new URLSearchParams({ ids: all.slice(at, at + LEADS_PER_ASK).join(','), filtered: 'all', limit: String(LEADS_PER_ASK) });
      pages.push(api.get(`/v1/leads?${ask}`).then((page) => page.items || []));
    }
    return Promise.all(pages).then((found) => found.flat());
  }, [wanted]);
  const names = {};
  for (const lead of found.data || []) {
    const name = personName(lead, '');
    if (name && name !== lead.email) names[lead.id] = name;
  }
  return names;
}
