import { html } from 'htm/preact';
import { useEffect } from 'preact/hooks';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { formatTime } from '../../format.js';

// The local default's captured mail: every email the mailboxes sent, exactly as a lead would receive it.
const REFRESH_MS = 2000;

export function CapturedMail({ params }) {
  const list = useLoad(() => api.get('/v1/captured-mail?limit=100'), []);
  useEffect(() => {
    const timer = setInterval(() => list.reload(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [list.reload]);
  const mail = list.data?.mail || [];
  return html`<section>
    <header class="page-head">
      <h1>Captured mail</h1>
      <p class="muted">What the local mail server received from your mailboxes: nothing here left this machine.</p>
    </header>
    <${ProblemAlert} error=${list.error} testid="mail-error" />
    <div class="mail-layout">
      <div class="card">
        ${list.loading && !list.data && html`<${Spinner} label="Loading mail…" />`}
        ${list.data && mail.length === 0 && html`<p class="muted" data-testid="mail-empty">No mail yet: email a lead from its page.</p>`}
        <ul class="mail-list" data-testid="mail-list">
          ${mail.map(
            (m) => html`<li class=${String(m.id) === params.id ? 'selected' : ''}>
              <a href=${`#/mail/${m.id}`} data-testid="mail-item">
                <strong>${m.subject || '(no subject)'}</strong>
                <span class="muted"> to ${m.to.join(', ')} · ${formatTime(m.receivedAt)}</span>
              </a>
            </li>`,
          )}
        </ul>
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
  </article>`;
}
