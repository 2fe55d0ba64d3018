import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { ProblemAlert, fieldMessage } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { formatTime } from '../../format.js';
import { useFocusOnError } from '../../forms.js';

// Settings > Team (#/settings/team): the org's people and their roles, invitations by link, and the
// audit log. What a role may do is decided by the gateway; this page only hides what would be refused.
export const ROLES = ['owner', 'admin', 'member', 'viewer'];
export const ROLE_WORDS = {
  owner: 'Owner: everything, including making owners',
  admin: 'Admin: manages people, mailboxes and provider keys',
  member: 'Member: does the work (leads, sequences, runs)',
  viewer: 'Viewer: sees everything, changes nothing',
};
/** Whether `role` may manage people (the gateway's rule, mirrored to hide controls it would refuse). */
export const managesPeople = (role) => role === 'owner' || role === 'admin';
/** The roles `role` may grant: only an owner makes owners. */
export const grantable = (role) => (role === 'owner' ? ROLES : ROLES.filter((r) => r !== 'owner'));

export function SettingsTabs({ current }) {
  return html`<nav class="tabs" aria-label="Settings">
    <a href="#/settings" class=${current === 'mail' ? 'tab active' : 'tab'} aria-current=${current === 'mail' ? 'page' : undefined}>Mail</a>
    <a href="#/settings/team" data-testid="settings-team" class=${current === 'team' ? 'tab active' : 'tab'}
      aria-current=${current === 'team' ? 'page' : undefined}>Team and audit log</a>
    <a href="#/settings/access" data-testid="settings-access" class=${current === 'access' ? 'tab active' : 'tab'}
      aria-current=${current === 'access' ? 'page' : undefined}>Providers and access</a>
  </nav>`;
}

export function Team() {
  const users = useLoad(() => api.get('/v1/users'), []);
  const role = users.data?.yourRole;
  return html`<section>
    <header class="page-head"><h1>Settings</h1></header>
    <${SettingsTabs} current="team" />
    <${ProblemAlert} error=${users.error} testid="users-error" />
    ${!users.data && !users.error && html`<${Spinner} label="Loading the team…" />`}
    ${users.data && html`<p class="muted" data-testid="your-role">Your role: <strong>${role}</strong> (${ROLE_WORDS[role]})</p>`}
    ${users.data && html`<${Members} users=${users} role=${role} />`}
    ${users.data && managesPeople(role) && html`<${Invitations} />`}
    ${users.data && managesPeople(role) && html`<${AuditLog} />`}
  </section>`;
}

function Members({ users, role }) {
  const [error, setError] = useState(null);
  const manage = managesPeople(role);
  async function act(promise) {
    setError(null);
    try {
      await promise;
      users.reload();
    } catch (err) {
      setError(err);
    }
  }
  return html`<article class="card" aria-label="People">
    <header class="card-head"><h2 class="card-subtitle">People</h2></header>
    <${ProblemAlert} error=${error} testid="members-error" />
    <table class="table" data-testid="members">
      <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Joined</th>${manage && html`<th scope="col"><span class="sr-only">Actions</span></th>`}</tr></thead>
      <tbody>
        ${users.data.users.map((u) => {
          const editable = manage && !u.you && (role === 'owner' || u.role !== 'owner');
          return html`<tr key=${u.userId} data-testid="member-row">
            <td>${u.email}${u.you && html` <span class="muted">(you)</span>`}</td>
            <td>
              ${editable
                ? html`<select aria-label=${`Role of ${u.email}`} data-testid="member-role" value=${u.role}
                    onChange=${(e) => act(api.patch(`/v1/users/${u.userId}`, { role: e.target.value }))}>
                    ${grantable(role).map((r) => html`<option value=${r}>${r}</option>`)}
                  </select>`
                : html`<span data-testid="member-role-text">${u.role}</span>`}
            </td>
            <td>${formatTime(u.joinedAt)}</td>
            ${manage && html`<td>${editable && html`<button type="button" class="btn btn-ghost btn-sm" data-testid="member-remove"
              onClick=${() => confirm(`Remove ${u.email} from the org? Their sign-ins end at once.`) && act(api.delete(`/v1/users/${u.userId}`))}>Remove</button>`}</td>`}
          </tr>`;
        })}
      </tbody>
    </table>
  </article>`;
}

function Invitations() {
  const list = useLoad(() => api.get('/v1/invitations'), []);
  const you = useLoad(() => api.get('/v1/users'), []);
  const [form, setForm] = useState({ email: '', role: 'member' });
  const [state, setState] = useState({ busy: false, error: null, made: null });
  const formRef = useFocusOnError(state.error);
  async function onSubmit(event) {
    event.preventDefault();
    setState({ busy: true, error: null, made: null });
    try {
      const made = await api.postOnce('/v1/invitations', form, crypto.randomUUID());
      setForm({ email: '', role: form.role });
      setState({ busy: false, error: null, made });
      list.reload();
    } catch (error) {
      setState({ busy: false, error, made: null });
    }
  }
  async function revoke(id) {
    await api.delete(`/v1/invitations/${id}`);
    list.reload();
  }
  const emailError = fieldMessage(state.error, 'email');
  return html`<article class="card" aria-label="Invitations">
    <header class="card-head"><h2 class="card-subtitle">Invite someone</h2></header>
    <form ref=${formRef} class="form-row" data-testid="invite-form" onSubmit=${onSubmit} noValidate>
      <div class=${emailError ? 'field has-error' : 'field'}>
        <label for="invite-email">Email</label>
        <input id="invite-email" type="email" data-testid="invite-email" value=${form.email} required
          aria-invalid=${emailError ? 'true' : undefined} onInput=${(e) => setForm({ ...form, email: e.target.value })} />
        ${emailError && html`<p class="field-error">${emailError}</p>`}
      </div>
      <div class="field">
        <label for="invite-role">Role</label>
        <select id="invite-role" data-testid="invite-role" value=${form.role} onChange=${(e) => setForm({ ...form, role: e.target.value })}>
          ${grantable(you.data?.yourRole).map((r) => html`<option value=${r}>${ROLE_WORDS[r]}</option>`)}
        </select>
      </div>
      <div><button type="submit" class="btn btn-primary" data-testid="invite-submit" disabled=${state.busy}>Invite</button></div>
    </form>
    <${ProblemAlert} error=${state.error} testid="invite-error" fields=${['email']} />
    ${state.made && html`<div class="alert alert-success" role="status" data-testid="invite-made">
      <p>Send <strong>${state.made.email}</strong> this link (it works for 7 days):</p>
      <p><input class="copy-link" readonly aria-label="Invitation link" data-testid="invite-link" value=${state.made.inviteUrl}
        onFocus=${(e) => e.target.select()} /></p>
      <p class="muted">${state.made.emailSent ? 'The invitation email was sent too.' : `No invitation email was sent${state.made.emailError ? ` (${state.made.emailError})` : ''}: hand over the link yourself.`}</p>
    </div>`}
    <h3 class="card-subtitle">Waiting to join</h3>
    ${list.data && (list.data.invitations.length === 0
      ? html`<p class="muted" data-testid="invitations-empty">No invitations waiting.</p>`
      : html`<table class="table" data-testid="invitations">
          <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Expires</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>${list.data.invitations.map((i) => html`<tr key=${i.id}>
            <td>${i.email}</td><td>${i.role}</td><td>${formatTime(i.expiresAt)}</td>
            <td><button type="button" class="btn btn-ghost btn-sm" onClick=${() => revoke(i.id)}>Withdraw</button></td>
          </tr>`)}</tbody>
        </table>`)}
  </article>`;
}

const ACTION_WORDS = {
  'invitation.created': 'invited',
  'invitation.revoked': 'withdrew the invitation of',
  'invitation.accepted': 'joined as',
  'member.role_changed': 'changed the role of',
  'member.removed': 'removed',
  'mailbox.created': 'added the mailbox',
  'mailbox.changed': 'changed the mailbox',
};

function AuditLog() {
  const [pages, setPages] = useState([]);
  const first = useLoad(() => api.get('/v1/audit-log?limit=50'), []);
  const items = [...(first.data?.items || []), ...pages.flatMap((p) => p.items)];
  const before = pages.length ? pages[pages.length - 1].before : first.data?.before;
  const more = async () => setPages([...pages, await api.get(`/v1/audit-log?limit=50&before=${before}`)]);
  const details = (e) => Object.entries(e.details || {}).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`).join('; ');
  return html`<article class="card" aria-label="Audit log">
    <header class="card-head"><h2 class="card-subtitle">Audit log</h2></header>
    <p class="muted">Privileged actions in this org: who, what, when and from where. Owners and admins see it.</p>
    <${ProblemAlert} error=${first.error} testid="audit-error" />
    ${first.data && (items.length === 0
      ? html`<p class="muted">Nothing yet.</p>`
      : html`<table class="table table-compact" data-testid="audit-log">
          <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">From</th></tr></thead>
          <tbody>${items.map((e) => html`<tr key=${e.id} data-testid="audit-row">
            <td>${formatTime(e.at)}</td>
            <td>${e.actorEmail}</td>
            <td>${ACTION_WORDS[e.action] || e.action} <strong>${e.target}</strong>${details(e) && html` <span class="muted">(${details(e)})</span>`}</td>
            <td>${e.address || ''}</td>
          </tr>`)}</tbody>
        </table>`)}
    ${before && html`<button type="button" class="btn btn-ghost" onClick=${more}>Older entries</button>`}
  </article>`;
}
