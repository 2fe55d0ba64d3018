import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { ProblemAlert, fieldMessage } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { formatTime } from '../../format.js';
import { useFocusOnError } from '../../forms.js';
import { countWords } from '../../counts.js';
import { usePagedList } from '../../pagedList.js';
import { DataTable } from '../../components/DataTable.js';
import { ListTotal, LoadMore } from '../../components/ListTotal.js';

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
  // Each change made here (an invitation, a role, a removal) is an entry in the audit log: read it again after one.
  const [changes, setChanges] = useState(0);
  const changed = () => setChanges((n) => n + 1);
  return html`<section>
    <header class="page-head"><h1>Settings</h1></header>
    <${SettingsTabs} current="team" />
    <${ProblemAlert} error=${users.error} testid="users-error" />
    ${!users.data && !users.error && html`<${Spinner} label="Loading the team…" />`}
    ${users.data && html`<p class="muted" data-testid="your-role">Your role: <strong>${role}</strong> (${ROLE_WORDS[role]})</p>`}
    ${users.data && html`<${Members} users=${users} role=${role} onChanged=${changed} />`}
    ${users.data && managesPeople(role) && html`<${Invitations} onChanged=${changed} />`}
    ${users.data && managesPeople(role) && html`<${AuditLog} changes=${changes} />`}
  </section>`;
}

/** An email address as a link: each row's one stop in the tab order (the arrow keys reach its buttons). */
const mailto = (email, testid) => html`<a href=${`mailto:${email}`} data-testid=${testid}>${email}</a>`;

function Members({ users, role, onChanged }) {
  const [error, setError] = useState(null);
  // The row whose role is being changed: a form of its own, so a stray arrow key never changes anyone's role.
  const [editing, setEditing] = useState(null); // { userId, role, busy }
  // Where focus goes back to once the row's form closes (its own "Change role…"), not the page's start.
  const [returnTo, setReturnTo] = useState(null);
  useEffect(() => {
    if (!returnTo || editing) return;
    document.querySelector(`[data-testid="member-change-role"][data-user="${returnTo}"]`)?.focus();
    setReturnTo(null);
  }, [returnTo, editing, users.data]);
  // The row's form opened: its list box takes the focus (autofocus acts only as a page loads).
  useEffect(() => {
    if (editing?.userId) document.querySelector(`[data-testid="member-role"][data-user="${editing.userId}"]`)?.focus();
  }, [editing?.userId]);
  const stopEditing = (userId) => {
    setEditing(null);
    setReturnTo(userId);
  };
  const manage = managesPeople(role);
  const people = users.data.users;
  const editable = (u) => manage && !u.you && (role === 'owner' || u.role !== 'owner');
  async function act(promise) {
    setError(null);
    try {
      await promise;
      users.reload();
      onChanged();
      return true;
    } catch (err) {
      setError(err);
      return false;
    }
  }
  async function saveRole(u) {
    setEditing({ ...editing, busy: true });
    if (await act(api.patch(`/v1/users/${u.userId}`, { role: editing.role }))) stopEditing(u.userId);
    else setEditing((now) => now && { ...now, busy: false });
  }
  const columns = [
    { key: 'email', label: 'Email', render: (u) => html`${mailto(u.email, 'member-email')}${u.you && html` <span class="muted">(you)</span>`}` },
    {
      key: 'role',
      label: 'Role',
      render: (u) =>
        editing?.userId === u.userId
          ? html`<select aria-label=${`Role of ${u.email}`} data-testid="member-role" data-user=${u.userId} value=${editing.role}
              onChange=${(e) => setEditing({ ...editing, role: e.target.value })}
              onKeyDown=${(e) => e.key === 'Escape' && stopEditing(u.userId)}>
              ${grantable(role).map((r) => html`<option value=${r}>${r}</option>`)}
            </select>`
          : html`<span data-testid="member-role-text">${u.role}</span>`,
    },
    { key: 'joinedAt', label: 'Joined', className: 'nowrap', render: (u) => formatTime(u.joinedAt) },
  ];
  if (manage) {
    columns.push({
      key: 'actions',
      label: html`<span class="sr-only">Actions</span>`,
      align: 'right',
      render: (u) => {
        if (!editable(u)) return null;
        if (editing?.userId === u.userId) {
          return html`<span class="row-actions">
            <button type="button" class="btn btn-primary btn-sm" data-testid="member-role-save" disabled=${editing.busy}
              onClick=${() => saveRole(u)}>Save role</button>
            <button type="button" class="btn btn-ghost btn-sm" onClick=${() => stopEditing(u.userId)}>Cancel</button>
          </span>`;
        }
        return html`<span class="row-actions">
          <button type="button" class="btn btn-ghost btn-sm" data-testid="member-change-role" data-user=${u.userId}
            onClick=${() => setEditing({ userId: u.userId, role: u.role, busy: false })}>
            Change role<span class="sr-only"> of ${u.email}</span>
          </button>
          <button type="button" class="btn btn-ghost btn-sm" data-testid="member-remove"
            onClick=${() => confirm(`Remove ${u.email} from the org? Their sign-ins end at once.`) && act(api.delete(`/v1/users/${u.userId}`))}>
            Remove<span class="sr-only"> ${u.email}</span>
          </button>
        </span>`;
      },
    });
  }
  return html`<article class="card card-flush" aria-label="People">
    <header class="card-head card-head-pad">
      <div>
        <h2 class="card-subtitle">People</h2>
        <p class="table-meta"><strong data-testid="members-total">${countWords(people.length, false, 'person', 'people')}</strong></p>
      </div>
    </header>
    <${ProblemAlert} error=${error} testid="members-error" />
    <div data-testid="members">
      <${DataTable} label="People" columns=${columns} rows=${people} rowKey=${(u) => u.userId} rowTestId="member-row" />
    </div>
  </article>`;
}

function Invitations({ onChanged }) {
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
      onChanged();
    } catch (error) {
      setState({ busy: false, error, made: null });
    }
  }
  async function revoke(id) {
    await api.delete(`/v1/invitations/${id}`);
    list.reload();
    onChanged();
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
      : html`<p class="table-meta"><strong data-testid="invitations-total">${countWords(list.data.invitations.length, false, 'invitation', 'invitations')} waiting</strong></p>
        <div data-testid="invitations">
          <${DataTable} label="Invitations waiting" columns=${[
            { key: 'email', label: 'Email', render: (i) => mailto(i.email, 'invitation-email') },
            { key: 'role', label: 'Role' },
            { key: 'expiresAt', label: 'Expires', className: 'nowrap', render: (i) => formatTime(i.expiresAt) },
            {
              key: 'actions',
              label: html`<span class="sr-only">Actions</span>`,
              align: 'right',
              render: (i) => html`<button type="button" class="btn btn-ghost btn-sm" data-testid="invitation-withdraw" onClick=${() => revoke(i.id)}>
                Withdraw<span class="sr-only"> the invitation of ${i.email}</span>
              </button>`,
            },
          ]} rows=${list.data.invitations} rowTestId="invitation-row" />
        </div>`)}
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

function AuditLog({ changes }) {
  // Newest first, a page at a time ("Older entries"), with the server's count of the org's entries.
  const list = usePagedList('/v1/audit-log', { items: 'items', next: 'before', param: 'before', page: 50 });
  // A change made on this page: read again, the rows loaded kept, so its entry (and the count) shows at once.
  useEffect(() => {
    if (changes) list.reload();
  }, [changes]);
  const details = (e) => Object.entries(e.details || {}).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`).join('; ');
  const columns = [
    { key: 'at', label: 'When', className: 'nowrap', render: (e) => formatTime(e.at) },
    { key: 'actorEmail', label: 'Who' },
    {
      key: 'what',
      label: 'What',
      render: (e) => html`${ACTION_WORDS[e.action] || e.action} <strong>${e.target}</strong>${details(e) && html` <span class="muted">(${details(e)})</span>`}`,
    },
    { key: 'address', label: 'From', render: (e) => e.address || '' },
  ];
  return html`<article class="card" aria-label="Audit log">
    <header class="card-head">
      <div>
        <h2 class="card-subtitle">Audit log</h2>
        <${ListTotal} list=${list} one="entry" many="entries" testid="audit-total" />
      </div>
    </header>
    <p class="muted">Privileged actions in this org: who, what, when and from where. Owners and admins see it.</p>
    <${ProblemAlert} error=${list.error} testid="audit-error" />
    ${list.loaded && (list.items.length === 0
      ? html`<p class="muted">Nothing yet.</p>`
      : html`<div data-testid="audit-log">
          <${DataTable} label="Audit log" columns=${columns} rows=${list.items} rowTestId="audit-row" compact />
        </div>`)}
    <${LoadMore} list=${list} testid="audit-more" label="Older entries" />
  </article>`;
}
