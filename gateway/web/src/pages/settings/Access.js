import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { ProblemAlert, fieldMessage } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { formatTime } from '../../format.js';
import { useFocusOnError } from '../../forms.js';
import { countWords } from '../../counts.js';
import { SettingsTabs, managesPeople } from './Team.js';

// Settings > Providers and access (#/settings/access): which provider keys are set (never their values: each
// service says whether it has its own), for everyone; and, for owners and admins, internal teams' credentials for
// the gRPC services (created, shown once, revoked).
export function Access({ session }) {
  return html`<section>
    <header class="page-head"><h1>Settings</h1></header>
    <${SettingsTabs} current="access" />
    <${ProviderKeys} />
    ${managesPeople(session?.user?.role)
      ? html`<${Credentials} />`
      : html`<p class="muted" data-testid="credentials-for-admins">Internal teams' credentials are managed by an admin or the owner.</p>`}
  </section>`;
}

const PROVIDER_WORDS = {
  apollo: 'Apollo', hunter: 'Hunter', twilio: 'Twilio', google_calendar: 'Google Calendar', alert_webhook: 'Alert webhook',
};

function ProviderKeys() {
  const keys = useLoad(() => api.get('/v1/provider-keys'), []);
  const rows = keys.data?.providers || [];
  return html`<article class="card" aria-label="Provider keys">
    <header class="card-head"><h2 class="card-subtitle">Provider keys</h2></header>
    <p class="muted">Set in each service's settings by whoever runs Lead Flood (README, Configuration); shown here
      as set or not set, never their values.</p>
    <${ProblemAlert} error=${keys.error} testid="provider-keys-error" />
    ${!keys.data && !keys.error && html`<${Spinner} label="Asking the services…" />`}
    ${keys.data?.unavailable?.length > 0 && html`<p class="muted" role="status">Not answering just now: ${keys.data.unavailable.join(', ')}.</p>`}
    ${keys.data && html`<table class="table table-compact" data-testid="provider-keys">
      <thead><tr><th scope="col">Provider</th><th scope="col">For</th><th scope="col">State</th><th scope="col">Settings</th><th scope="col">While not set</th></tr></thead>
      <tbody>${rows.map((p) => html`<tr key=${p.name} data-testid=${`provider-${p.name}`}>
        <td>${PROVIDER_WORDS[p.name] || p.name}</td>
        <td>${p.purpose}</td>
        <td><span class=${p.configured ? 'badge badge-success' : 'badge badge-neutral'}>${p.configured ? 'Set' : 'Not set'}</span></td>
        <td><code>${p.settings.join(', ')}</code></td>
        <td class="muted">${p.configured ? '' : p.whenUnset}</td>
      </tr>`)}</tbody>
    </table>`}
  </article>`;
}

const SCOPE_HINT = 'service:read, service:write or service:* (services: icp, leads, inbox, sequences, runs), or *';

function Credentials() {
  const list = useLoad(() => api.get('/v1/internal-credentials'), []);
  const [form, setForm] = useState({ team: '', scopes: '' });
  const [state, setState] = useState({ busy: false, error: null, created: null });
  const focus = useFocusOnError(state.error);
  const field = (name, label, help, props = {}) => html`<div class=${fieldMessage(state.error, name) ? 'field has-error' : 'field'}>
    <label for=${`cred-${name}`}>${label}</label>
    <input id=${`cred-${name}`} name=${name} data-testid=${`credential-${name}`} value=${form[name]}
      onInput=${(e) => setForm({ ...form, [name]: e.target.value })} aria-describedby=${`cred-${name}-help`}
      aria-invalid=${fieldMessage(state.error, name) ? 'true' : undefined} ...${props} />
    <p class="muted" id=${`cred-${name}-help`}>${help}</p>
    ${fieldMessage(state.error, name) && html`<p class="field-error">${fieldMessage(state.error, name)}</p>`}
  </div>`;

  async function onSubmit(event) {
    event.preventDefault();
    const scopes = form.scopes.split(/[\s,]+/).filter(Boolean);
    setState({ busy: true, error: null, created: null });
    try {
      const created = await api.post('/v1/internal-credentials', { team: form.team.trim(), scopes });
      setForm({ team: '', scopes: '' });
      setState({ busy: false, error: null, created });
      list.reload();
    } catch (err) {
      setState({ busy: false, error: err, created: null });
    }
  }

  async function revoke(id) {
    setState({ ...state, error: null });
    try {
      await api.delete(`/v1/internal-credentials/${encodeURIComponent(id)}`);
      list.reload();
    } catch (err) {
      setState({ ...state, error: err });
    }
  }

  const rows = list.data?.credentials || [];
  // An org's few credentials come whole: their count is the list's length.
  return html`<article class="card" aria-label="Internal teams' credentials">
    <header class="card-head">
      <div>
        <h2 class="card-subtitle">Internal teams' credentials</h2>
        ${list.data && html`<p class="table-meta"><strong data-testid="credentials-total">${countWords(rows.length, false, 'credential', 'credentials')}</strong></p>`}
      </div>
    </header>
    <p class="muted">A team that calls the services over gRPC exchanges its credential at <code>POST /v1/oauth/token</code> for
      a 5-minute token (README, Internal callers). Revoking one stops new tokens at once.</p>
    <${ProblemAlert} error=${list.error} testid="credentials-error" />
    <form class="form-grid" ref=${focus} onSubmit=${onSubmit} data-testid="credential-form" aria-label="New credential">
      ${field('team', 'Team', 'lowercase letters, digits and dashes', { placeholder: 'analytics', required: true })}
      ${field('scopes', 'Scopes', SCOPE_HINT, { placeholder: 'leads:read sequences:read', required: true })}
      <${ProblemAlert} error=${state.error} testid="credential-form-error" fields=${['team', 'scopes']} />
      <div><button type="submit" class="btn btn-primary" data-testid="credential-create" disabled=${state.busy}>Create credential</button></div>
    </form>
    ${state.created && html`<div class="alert alert-info" role="status" data-testid="credential-created">
      <p><strong>Give these to the ${state.created.team} team now: the secret is not shown again.</strong></p>
      <p>Client id <code data-testid="credential-client-id">${state.created.id}</code></p>
      <p>Client secret <code data-testid="credential-secret">${state.created.clientSecret}</code></p>
    </div>`}
    ${list.data && (rows.length === 0
      ? html`<p class="muted">No internal team has a credential.</p>`
      : html`<table class="table table-compact" data-testid="credentials">
          <thead><tr><th scope="col">Team</th><th scope="col">Scopes</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">State</th></tr></thead>
          <tbody>${rows.map((c) => html`<tr key=${c.id} data-testid="credential-row">
            <td>${c.team}</td>
            <td><code>${c.scopes.join(' ')}</code></td>
            <td>${formatTime(c.createdAt)}</td>
            <td>${c.lastUsedAt ? formatTime(c.lastUsedAt) : 'never'}</td>
            <td>${c.revokedAt
              ? html`Revoked ${formatTime(c.revokedAt)}`
              : html`<button type="button" class="btn btn-ghost" data-testid="credential-revoke"
                  onClick=${() => revoke(c.id)} aria-label=${`Revoke the ${c.team} credential`}>Revoke</button>`}</td>
          </tr>`)}</tbody>
        </table>`)}
  </article>`;
}
