import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useDebounced, useLoad } from '../../hooks.js';
import { countWords, withParams } from '../../counts.js';
import { usePagedList } from '../../pagedList.js';
import { ListTotal, LoadMore } from '../../components/ListTotal.js';
import { ProblemAlert, fieldMessage } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { formatTime } from '../../format.js';
import { useFocusOnError } from '../../forms.js';
import { SettingsTabs, managesPeople } from './Team.js';
import { canChange, changeProps } from '../../roles.js';
import { suppressionReason } from './suppressionReasons.js';

// Settings of the mail room: the mailboxes the org sends from, and who is never sent to.
export function MailSettings({ session }) {
  const role = session?.user?.role;
  return html`<section>
    <header class="page-head"><h1>Settings</h1></header>
    <${SettingsTabs} current="mail" />
    <${Mailboxes} admin=${managesPeople(role)} />
    <${Suppressions} canEdit=${canChange(role)} />
  </section>`;
}

const EMPTY_MAILBOX = { fromAddress: '', fromName: '', smtpHost: '', smtpPort: '587', smtpUsername: '', smtpPasswordRef: '', dailyCap: '200', minSpacingS: '0', timeZone: 'UTC' };
const NUMBERS = new Set(['smtpPort', 'dailyCap', 'minSpacingS']);

/** The org's mailboxes, for everyone; adding one or choosing the default, for admins and owners (as the gateway says). */
function Mailboxes({ admin }) {
  const list = useLoad(() => api.get('/v1/mailboxes'), []);
  const [form, setForm] = useState(EMPTY_MAILBOX);
  const [state, setState] = useState({ busy: false, error: null });
  const set = (name) => (e) => setForm({ ...form, [name]: e.target.value });

  async function onSubmit(event) {
    event.preventDefault();
    const body = {};
    for (const [name, value] of Object.entries(form)) {
      if (value === '' && name !== 'fromName') continue;
      body[name] = NUMBERS.has(name) ? Number(value) : value;
    }
    setState({ busy: true, error: null });
    try {
      await api.post('/v1/mailboxes', body);
      setForm(EMPTY_MAILBOX);
      setState({ busy: false, error: null });
      list.reload();
    } catch (error) {
      setState({ busy: false, error });
    }
  }
  async function makeDefault(id) {
    await api.patch(`/v1/mailboxes/${encodeURIComponent(id)}`, { makeDefault: true });
    list.reload();
  }

  const mailboxFormRef = useFocusOnError(state.error);
  const field = (name, label, props = {}) => html`<div class=${fieldMessage(state.error, name) ? 'field has-error' : 'field'}>
    <label for=${`mb-${name}`}>${label}</label>
    <input id=${`mb-${name}`} name=${name} data-testid=${`mailbox-${name}`} value=${form[name]} onInput=${set(name)}
      aria-invalid=${fieldMessage(state.error, name) ? 'true' : undefined} ...${props} />
    ${fieldMessage(state.error, name) && html`<p class="field-error">${fieldMessage(state.error, name)}</p>`}
  </div>`;

  // The org's few mailboxes come whole: their count is the list's length.
  const count = list.data && countWords(list.data.mailboxes.length, false, 'mailbox', 'mailboxes');
  return html`<article class="card" aria-label="Mailboxes">
    <header class="card-head">
      <div>
        <h2 class="card-subtitle">Mailboxes</h2>
        ${count && html`<p class="table-meta"><strong data-testid="mailboxes-total">${count}</strong></p>`}
      </div>
    </header>
    <${ProblemAlert} error=${list.error} testid="mailboxes-error" />
    ${!list.data && !list.error && html`<${Spinner} label="Loading mailboxes…" />`}
    ${list.data && html`<table class="table" data-testid="mailboxes">
      <thead><tr><th>From</th><th>SMTP</th><th>Sent today</th><th>Spacing</th><th>Time zone</th><th></th></tr></thead>
      <tbody>
        ${list.data.mailboxes.map((m) => html`<tr data-testid="mailbox-row">
          <td>${m.fromName ? `${m.fromName} <${m.fromAddress}>` : m.fromAddress}</td>
          <td>${m.smtpHost}:${m.smtpPort}${m.smtpStarttls ? ' (STARTTLS)' : ''}</td>
          <td>${m.sentToday} of ${m.dailyCap}</td>
          <td>${m.minSpacingS ? `${m.minSpacingS} s` : '—'}</td>
          <td>${m.timeZone}</td>
          <td>${m.isDefault ? html`<span class="badge badge-success">default</span>`
            : admin && html`<button type="button" class="btn btn-ghost" onClick=${() => makeDefault(m.id)}>Make default</button>`}</td>
        </tr>`)}
      </tbody>
    </table>`}
    ${!admin && html`<p class="muted" data-testid="mailboxes-for-admins">Mailboxes are added by an admin or the owner.</p>`}
    ${admin && html`<form class="form-grid" ref=${mailboxFormRef} onSubmit=${onSubmit} data-testid="mailbox-form">
      ${field('fromAddress', 'From address', { type: 'email', required: true })}
      ${field('fromName', 'From name')}
      ${field('smtpHost', 'SMTP host', { required: true })}
      ${field('smtpPort', 'SMTP port', { type: 'number', min: 1, max: 65535 })}
      ${field('smtpUsername', 'SMTP user')}
      ${field('smtpPasswordRef', 'Password setting (its name)', { placeholder: 'SMTP_PASSWORD_SALES' })}
      ${field('dailyCap', 'Daily cap', { type: 'number', min: 1 })}
      ${field('minSpacingS', 'Seconds between sends', { type: 'number', min: 0 })}
      ${field('timeZone', 'Time zone (the cap\u2019s day)')}
      <${ProblemAlert} error=${state.error} testid="mailbox-form-error" fields=${Object.keys(EMPTY_MAILBOX)} />
      <div><button type="submit" class="btn btn-primary" data-testid="mailbox-add" disabled=${state.busy}>Add mailbox</button></div>
    </form>`}
  </article>`;
}

function Suppressions({ canEdit }) {
  const [q, setQ] = useState('');
  // Searched and counted on the server, in address order, a page at a time; asked once typing pauses.
  const searched = useDebounced(q.trim(), 300);
  const list = usePagedList(withParams('/v1/suppressions', { q: searched }), {
    items: 'suppressions', next: 'nextAfter', param: 'after', page: 100, max: 500, rowKey: (r) => r.address,
  });
  const [address, setAddress] = useState('');
  const [error, setError] = useState(null);
  async function onAdd(event) {
    event.preventDefault();
    setError(null);
    try {
      await api.post('/v1/suppressions', { address });
      setAddress('');
      list.reload();
    } catch (err) {
      setError(err);
    }
  }
  // A text box, not type="email": a phone number (for texts) is suppressed here too, the server judging either. A
  // refused one is said once, under its box (which takes focus), never again in the banner.
  const addressError = fieldMessage(error, 'address');
  const formRef = useFocusOnError(error);
  async function onRemove(row) {
    if (!window.confirm(`Send to ${row.address} again?`)) return;
    setError(null);
    try {
      await api.delete(`/v1/suppressions/${encodeURIComponent(row.address)}`);
      list.setItems((rows) => rows.filter((r) => r.address !== row.address));
      list.reload();
    } catch (err) {
      setError(err);
    }
  }
  return html`<article class="card" aria-label="Suppression list">
    <header class="card-head">
      <div>
        <h2 class="card-subtitle">Never send to</h2>
        <${ListTotal} list=${list} one=${searched ? 'suppressed address matches' : 'suppressed address'}
          many=${searched ? 'suppressed addresses match' : 'suppressed addresses'} testid="suppressions-total" />
      </div>
    </header>
    <div ref=${formRef}>
      <form class="inline-form" onSubmit=${onAdd} data-testid="suppression-form">
        <input type="text" placeholder="address@example.com or +14155550123" aria-label="Email address or phone number to suppress"
          data-testid="suppression-address" value=${address} onInput=${(e) => setAddress(e.target.value)} required
          autocomplete="off" aria-invalid=${addressError ? 'true' : undefined}
          aria-describedby=${addressError ? 'suppression-address-error' : undefined} ...${changeProps(canEdit)} />
        <button type="submit" class="btn btn-secondary" data-testid="suppression-add" ...${changeProps(canEdit)}>Add</button>
        <input type="search" placeholder="Search" aria-label="Search the list" data-testid="suppression-search" value=${q}
          onInput=${(e) => setQ(e.target.value)} />
      </form>
      ${addressError && html`<p class="field-error" id="suppression-address-error" data-testid="suppression-address-error">${addressError}</p>`}
      <${ProblemAlert} error=${error || list.error} testid="suppression-error" fields=${['address']} />
    </div>
    ${list.loaded && html`<table class="table" data-testid="suppressions">
      <thead><tr><th>Address or number</th><th>Why</th><th>Since</th><th></th></tr></thead>
      <tbody>
        ${list.items.map((row) => html`<tr key=${row.address} data-testid="suppression-row">
          <td>${row.address}</td><td data-testid="suppression-reason">${suppressionReason(row.reason)}</td><td>${formatTime(row.createdAt)}</td>
          <td><button type="button" class="btn btn-ghost" ...${changeProps(canEdit)} onClick=${() => onRemove(row)}>Remove</button></td>
        </tr>`)}
      </tbody>
    </table>`}
    <${LoadMore} list=${list} testid="suppressions-load-more" />
  </article>`;
}
