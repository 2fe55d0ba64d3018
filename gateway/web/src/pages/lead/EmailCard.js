import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { ProblemAlert, fieldMessage } from '../../components/ProblemAlert.js';

// Writing an email to the lead, sent through the mail room. One Idempotency-Key per email written:
// a double click or a retried request is the same message, never a second one.
const newKey = () => crypto.randomUUID();

export function EmailCard({ lead }) {
  const [form, setForm] = useState({ subject: '', text: '' });
  const [key, setKey] = useState(newKey);
  const [state, setState] = useState({ sending: false, error: null, sent: null });
  if (!lead.email) return null;

  async function onSubmit(event) {
    event.preventDefault();
    if (!form.subject.trim() || !form.text.trim()) {
      setState({ sending: false, sent: null, error: { title: 'Write a subject and a message', errors: [] } });
      return;
    }
    setState({ sending: true, error: null, sent: null });
    try {
      const sent = await api.postOnce(
        '/v1/messages',
        { to: lead.email, toName: `${lead.firstName} ${lead.lastName}`.trim(), leadId: lead.id, ...form },
        key,
      );
      setState({ sending: false, error: null, sent });
      setForm({ subject: '', text: '' });
      setKey(newKey());
    } catch (error) {
      setState({ sending: false, error, sent: null });
    }
  }

  const { sending, error, sent } = state;
  return html`<article class="card" aria-label="Email">
    <header class="card-head"><h2 class="card-subtitle">Email ${lead.firstName || 'this lead'}</h2></header>
    <form class="stack" onSubmit=${onSubmit} data-testid="email-form">
      <div class=${fieldMessage(error, 'subject') ? 'field has-error' : 'field'}>
        <label for="email-subject">Subject</label>
        <input id="email-subject" data-testid="email-subject" value=${form.subject} maxlength="998"
          onInput=${(e) => setForm({ ...form, subject: e.target.value })} />
      </div>
      <div class="field">
        <label for="email-text">Message</label>
        <textarea id="email-text" data-testid="email-text" rows="5" value=${form.text}
          onInput=${(e) => setForm({ ...form, text: e.target.value })}></textarea>
      </div>
      <${ProblemAlert} error=${error} testid="email-error" />
      ${sent &&
      html`<p class="muted" role="status" data-testid="email-sent">
        ${sent.outcome === 'queued' ? 'Sent to the mail room: it goes out now.' : `Not sent: ${sent.reason}`}
        ${' '}<a href="#/mail">See the captured mail</a>
      </p>`}
      <div><button type="submit" class="btn btn-primary" data-testid="email-send" disabled=${sending}>
        ${sending ? 'Sending…' : 'Send email'}
      </button></div>
    </form>
  </article>`;
}
