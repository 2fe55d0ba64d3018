import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { useLiveRefresh } from '../../live.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { StatusBadge } from '../../components/StatusBadge.js';
import { formatTime } from '../../format.js';
import { personName } from '../../format.js';
import { changeProps, useCanChange } from '../../roles.js';
import { shownText } from './words.js';

// One conversation: every message with its delivery status, labels for what is not a reply, and the reply box.
const KIND_LABEL = { bounce: 'Bounce', auto_reply: 'Auto-reply', complaint: 'Complaint', reply: 'Reply' };

export function Thread({ id, onChanged }) {
  const thread = useLoad(() => api.get(`/v1/inbox/threads/${encodeURIComponent(id)}`), [id]);
  useLiveRefresh(thread.reload, { match: (e) => (e.data.threadId || e.data.message?.threadId) === id });
  const canEdit = useCanChange(); // a viewer reads conversations; archiving and replying are changes
  // Opening a thread reads it (a viewer's reading changes nothing: the gateway would refuse it).
  useEffect(() => {
    if (thread.data?.unread && canEdit) api.patch(`/v1/inbox/threads/${encodeURIComponent(id)}`, { unread: false }).then(onChanged, () => {});
  }, [thread.data?.unread]);
  // The lead's name, for a conversation by text (its address is a number) and the link to the lead.
  const leadId = thread.data?.leadId;
  const lead = useLoad(() => (leadId ? api.get(`/v1/leads/${encodeURIComponent(leadId)}`) : Promise.resolve(null)), [leadId]);
  const name = lead.data ? personName(lead.data, '') : '';
  // Opened from the list (a click, or Enter on it): the list was drawn again and focus fell to the page. It goes to
  // the conversation's heading, so the next Tab is in the conversation, and a screen reader reads what opened.
  const heading = useRef(null);
  const focused = useRef(null);
  useEffect(() => {
    if (!thread.data || focused.current === id) return;
    focused.current = id;
    const at = document.activeElement;
    if (!at || at === document.body || at.closest?.('[data-testid="thread-list"]')) heading.current?.focus();
  }, [thread.data, id]);

  if (thread.error && !thread.data) return html`<${ProblemAlert} error=${thread.error} testid="thread-error" />`;
  if (!thread.data) return html`<div class="card"><${Spinner} label="Loading the conversation…" /></div>`;
  const t = thread.data;
  const archive = () => api.patch(`/v1/inbox/threads/${encodeURIComponent(id)}`, { archived: !t.archived }).then(() => { thread.reload(); onChanged(); });
  return html`<article class="card" data-testid="thread">
    <header class="card-head thread-head">
      <div>
        <h2 class="card-title" tabindex="-1" ref=${heading} data-testid="thread-title">${threadTitle(t, name)}</h2>
        <p class="muted">${t.leadAddress}${t.leadId && html` · <a href=${`#/leads/${t.leadId}`} data-testid="thread-lead">${name || 'lead'}</a>`}</p>
      </div>
      <button type="button" class="btn btn-ghost" data-testid="thread-archive" ...${changeProps(canEdit)} onClick=${archive}>
        ${t.archived ? 'Move to inbox' : 'Archive'}
      </button>
    </header>
    <ol class="messages" data-testid="thread-messages">
      ${t.messages.map(
        (m) => html`<li class=${`message message-${m.direction}${m.status === 'draft' ? ' message-draft' : ''}`} data-testid="thread-message">
          <div class="message-meta">
            <strong>${m.direction === 'out' ? `To ${m.to}` : m.from}</strong>
            ${m.direction === 'out'
              ? html` <${StatusBadge} status=${m.status} testid="message-status" />`
              : html` <span class="badge badge-neutral" data-testid="message-kind">${KIND_LABEL[m.kind] || m.kind}</span>`}
            ${m.unknownSender && html` <span class="badge badge-danger" data-testid="message-unknown-sender">Not the lead</span>`}
            <span class="muted"> · ${m.status === 'draft' ? `drafted ${formatTime(m.createdAt)} · not sent` : formatTime(m.sentAt || m.createdAt)}</span>
            ${m.attempts > 1 && html`<span class="muted"> · ${m.attempts} attempts</span>`}
          </div>
          ${m.error && html`<p class="field-error">${m.error}</p>`}
          ${m.status === 'draft' && m.direction === 'out'
            ? html`<${DraftReview} message=${m} canEdit=${canEdit} onSent=${() => { thread.reload(); onChanged(); }} />`
            : html`<pre class="mail-text" data-testid="message-text">${shownText(m.text) ?? html`<span class="muted">(no text)</span>`}</pre>`}
        </li>`,
      )}
    </ol>
    ${t.leadAddress && canEdit && html`<${ReplyBox} threadId=${id} onSent=${() => { thread.reload(); onChanged(); }} />`}
  </article>`;
}

/** A conversation's heading: its subject; texts have none, so whom they are with, by name when known. */
export function threadTitle(thread, name) {
  if (thread.subject) return thread.subject;
  const who = name || thread.leadAddress || 'an unknown number';
  return thread.channel === 'sms' ? `Texts with ${who}` : `Conversation with ${who}`;
}

// A draft (an availability request a lead run wrote, say) is read, edited if need be, and sent from here. The
// server sends a draft once however often this is pressed; a full cap is a problem saying when it can go.
function DraftReview({ message, canEdit, onSent }) {
  const [text, setText] = useState(message.text);
  const [state, setState] = useState({ sending: false, error: null });
  async function send() {
    if (!text.trim()) {
      setState({ sending: false, error: { title: 'The email is empty: write it first', errors: [] } });
      return;
    }
    setState({ sending: true, error: null });
    try {
      await api.post(`/v1/messages/${encodeURIComponent(message.id)}/send`, text === message.text ? {} : { text });
      setState({ sending: false, error: null });
      onSent();
    } catch (error) {
      setState({ sending: false, error });
    }
  }
  const field = `draft-${message.id}`;
  return html`<div class="stack" data-testid="draft-review">
    <label for=${field} class="muted">Draft: read it, change it if you like, then send it</label>
    <textarea id=${field} rows="6" data-testid="draft-text" value=${text} onInput=${(e) => setText(e.target.value)}></textarea>
    <${ProblemAlert} error=${state.error} testid="draft-error" />
    <div><button type="button" class="btn btn-primary" data-testid="draft-send" ...${changeProps(canEdit, state.sending)} onClick=${send}>
      ${state.sending ? 'Sending…' : 'Send this draft'}
    </button></div>
  </div>`;
}

function ReplyBox({ threadId, onSent }) {
  const [text, setText] = useState('');
  const [key, setKey] = useState(() => crypto.randomUUID());
  const [state, setState] = useState({ sending: false, error: null });
  async function onSubmit(event) {
    event.preventDefault();
    if (!text.trim()) {
      setState({ sending: false, error: { title: 'Write your reply first', errors: [] } });
      return;
    }
    setState({ sending: true, error: null });
    try {
      await api.postOnce(`/v1/inbox/threads/${encodeURIComponent(threadId)}/replies`, { text }, key);
      setText('');
      setKey(crypto.randomUUID());
      setState({ sending: false, error: null });
      onSent();
    } catch (error) {
      setState({ sending: false, error });
    }
  }
  return html`<form class="stack" onSubmit=${onSubmit} data-testid="reply-form">
    <label for="reply-text">Reply</label>
    <textarea id="reply-text" rows="4" data-testid="reply-text" value=${text} onInput=${(e) => setText(e.target.value)}></textarea>
    <${ProblemAlert} error=${state.error} testid="reply-error" />
    <div><button type="submit" class="btn btn-primary" data-testid="reply-send" disabled=${state.sending}>
      ${state.sending ? 'Sending…' : 'Send reply'}
    </button></div>
  </form>`;
}
