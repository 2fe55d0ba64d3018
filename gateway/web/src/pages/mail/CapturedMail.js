import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { usePagedList } from '../../pagedList.js';
import { ListTotal, LoadMore } from '../../components/ListTotal.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { formatTime } from '../../format.js';
import { changeProps, useCanChange } from '../../roles.js';

// The local default's captured mail: every email the mailboxes sent, exactly as a lead would receive it.
const REFRESH_MS = 2000;

export function CapturedMail({ params }) {
  // Newest first, a page at a time (by the id before which the next page starts), with the server's count.
  const list = usePagedList('/v1/captured-mail', { items: 'mail', next: 'before', param: 'before', page: 100 });
  useEffect(() => {
    const timer = setInterval(() => list.reload(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [list.reload]);
  const mail = list.items;
  return html`<section>
    <header class="page-head">
      <h1>Captured mail</h1>
      <p class="muted">What the local mail server received from your mailboxes: nothing here left this machine.</p>
    </header>
    <${ProblemAlert} error=${list.error} testid="mail-error" />
    <div class="mail-layout">
      <div class="card">
        ${list.loading && !list.loaded && html`<${Spinner} label="Loading mail…" />`}
        <${ListTotal} list=${list} one="email" many="emails" testid="mail-total" />
        ${list.loaded && mail.length === 0 && html`<p class="muted" data-testid="mail-empty">No mail yet: email a lead from its page.</p>`}
        <ul class="mail-list" data-testid="mail-list">
          ${mail.map(
            (m) => html`<li class=${String(m.id) === params.id ? 'selected' : ''}>
              <a href=${`#/mail/${m.id}`} data-testid="mail-item">
                <strong class="mail-subject" title=${m.subject || undefined}>${m.subject || '(no subject)'}</strong>
                ${m.systemMail && html` <span class="badge badge-neutral" data-testid="mail-item-system">System mail</span>`}
                <span class="muted"> to ${m.to.join(', ')} · ${formatTime(m.receivedAt)}</span>
              </a>
            </li>`,
          )}
        </ul>
        <${LoadMore} list=${list} testid="mail-load-more" />
      </div>
      ${params.id && html`<${MailDetail} id=${params.id} />`}
    </div>
  </section>`;
}

function MailDetail({ id }) {
  const { data, error } = useLoad(() => api.get(`/v1/captured-mail/${encodeURIComponent(id)}`), [id]);
  if (error) return html`<${ProblemAlert} error=${error} testid="mail-detail-error" />`;
  if (!data) return html`<div class="card"><${Spinner} label="Loading the email…" /></div>`;
  return html`<article class="card" data-testid="mail-detail">
    <h2 class="card-title">${data.subject}</h2>
    <table class="headers-table" data-testid="mail-headers">
      <tbody>
        ${data.headers.map(([name, value]) => html`<tr><th scope="row">${name}</th><td>${value}</td></tr>`)}
      </tbody>
    </table>
    <pre class="mail-text" data-testid="mail-text">${data.text}</pre>
    ${data.systemMail
      ? html`<p class="muted" data-testid="mail-system-note">System mail (an invitation to a colleague), not outreach: there is no lead to reply as.</p>`
      : html`<${ReplyAsLead} id=${id} />`}
  </article>`;
}

// Write the lead's side: the reply goes into the inbox's SMTP listener as a real email, threaded.
function ReplyAsLead({ id }) {
  const canEdit = useCanChange();
  const [text, setText] = useState('');
  const [state, setState] = useState({ busy: false, error: null, done: '' });
  async function send(outOfOffice) {
    if (!outOfOffice && !text.trim()) {
      setState({ busy: false, done: '', error: { title: 'Write the reply first', errors: [] } });
      return;
    }
    setState({ busy: true, error: null, done: '' });
    try {
      await api.post(`/v1/captured-mail/${encodeURIComponent(id)}/reply`, { text, outOfOffice });
      setText('');
      setState({ busy: false, error: null, done: outOfOffice ? 'Out-of-office reply sent.' : 'Reply sent.' });
    } catch (error) {
      setState({ busy: false, error, done: '' });
    }
  }
  return html`<form class="stack" onSubmit=${(e) => { e.preventDefault(); send(false); }} data-testid="lead-reply-form">
    <label for="lead-reply">Reply as the lead</label>
    <textarea id="lead-reply" rows="3" data-testid="lead-reply-text" value=${text} onInput=${(e) => setText(e.target.value)}></textarea>
    <${ProblemAlert} error=${state.error} testid="lead-reply-error" />
    ${state.done && html`<p class="muted" role="status" data-testid="lead-reply-done">${state.done} <a href="#/inbox">Open the inbox</a></p>`}
    <div class="button-row">
      <button type="submit" class="btn btn-primary" data-testid="lead-reply-send" ...${changeProps(canEdit, state.busy)}>Send reply</button>
      <button type="button" class="btn btn-ghost" data-testid="lead-reply-ooo" ...${changeProps(canEdit, state.busy)} onClick=${() => send(true)}>
        Send an out-of-office
      </button>
    </div>
  </form>`;
}
