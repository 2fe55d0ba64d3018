import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { adoptTokens } from '../auth.js';
import { send } from '../http.js';
import { navigate } from '../router.js';
import { useLoad } from '../hooks.js';
import { useFocusOnError } from '../forms.js';
import { Field } from '../components/Field.js';
import { ProblemAlert } from '../components/ProblemAlert.js';
import { Spinner } from '../components/Spinner.js';

/** #/join/:token: an invitation link. Shows what it invites to, asks for a password, signs the new user in. */
export function Join({ params, session }) {
  const invitation = useLoad(() => send('GET', `/v1/join/${encodeURIComponent(params.token)}`), [params.token]);
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const formRef = useFocusOnError(error);

  async function onSubmit(e) {
    e.preventDefault();
    if (password.length < 8) {
      return setError({ status: 422, errors: [{ field: 'password', message: 'At least 8 characters' }] });
    }
    setBusy(true);
    setError(null);
    try {
      await adoptTokens(await send('POST', `/v1/join/${encodeURIComponent(params.token)}`, { body: { password } }));
      // The link is spent: replaced (not pushed), so neither a reload nor Back opens it again as "not valid".
      navigate('/dashboard', { replace: true });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return html`<div class="auth-wrap">
    ${!invitation.data && !invitation.error && html`<${Spinner} label="Opening the invitation…" />`}
    ${invitation.error && html`<div class="card auth-card"><h1 class="auth-title">Join Lead Flood</h1>
      <${ProblemAlert} error=${invitation.error} testid="join-error" />
      ${session?.status === 'signed-in' &&
      html`<p class="muted" data-testid="join-signed-in">You are signed in as ${session.user.email}: <a href="#/dashboard">go to Home</a>.</p>`}</div>`}
    ${invitation.data && html`<form class="card auth-card" ref=${formRef} onSubmit=${onSubmit} noValidate data-testid="join-form">
      <h1 class="auth-title">Join ${invitation.data.orgName}</h1>
      <p class="muted">You are invited as <strong data-testid="join-role">${invitation.data.role}</strong> with <strong
        data-testid="join-email">${invitation.data.email}</strong>. Choose a password to sign in with.</p>
      <${Field} id="join-password" label="Password" name="password" type="password" autocomplete="new-password"
        testid="join-password" error=${error} value=${password} onInput=${(e) => setPassword(e.target.value)} />
      <${ProblemAlert} error=${error} testid="join-error" fields=${['password']} />
      <button type="submit" class="btn btn-primary" data-testid="join-submit" disabled=${busy}>Join</button>
    </form>`}
  </div>`;
}
