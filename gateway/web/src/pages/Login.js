import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { login } from '../auth.js';
import { send } from '../http.js';
import { checkSignIn, useFocusOnError } from '../forms.js';
import { Field } from '../components/Field.js';
import { ProblemAlert } from '../components/ProblemAlert.js';

const FIELDS = ['email', 'password'];

/** Sign-in form. On success the router (main.js) moves on, not this page. */
export function Login({ session }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const demo = useDemoLogin();
  const emailRef = useRef();
  const formRef = useFocusOnError(error);

  useEffect(() => emailRef.current?.focus(), []);

  async function onSubmit(e) {
    e.preventDefault();
    const refused = checkSignIn(email, password); // known rules: no round trip to be told so
    if (refused) return setError(refused);
    setBusy(true);
    setError(null);
    try {
      await login(email.trim(), password);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return html`<div class="auth-wrap">
    <form class="card auth-card" ref=${formRef} onSubmit=${onSubmit} noValidate>
      <h1 class="auth-title">Sign in to Lead Flood</h1>
      ${session.endedBy === 'expiry' &&
      html`<div class="alert alert-info" role="status">Your session expired. Please sign in again.</div>`}
      <${ProblemAlert} error=${error} testid="login-error" fields=${FIELDS} />
      <${Field}
        id="login-email"
        label="Email"
        name="email"
        type="email"
        autocomplete="username"
        testid="login-email"
        inputRef=${emailRef}
        error=${error}
        value=${email}
        onInput=${(e) => setEmail(e.currentTarget.value)}
      />
      <${Field}
        id="login-password"
        label="Password"
        name="password"
        type="password"
        autocomplete="current-password"
        testid="login-password"
        error=${error}
        value=${password}
        onInput=${(e) => setPassword(e.currentTarget.value)}
      />
      <button type="submit" class="btn btn-primary btn-block" data-testid="login-submit" disabled=${busy}>
        ${busy ? 'Signing in…' : 'Sign in'}
      </button>
      ${demo &&
      html`<p class="demo-hint">
        <span>Demo: <code>${demo.email}</code> / <code>${demo.password}</code></span>
        <button
          type="button"
          class="btn-link"
          onClick=${() => {
            setEmail(demo.email);
            setPassword(demo.password);
          }}
        >
          Fill in
        </button>
      </p>`}
    </form>
  </div>`;
}

/**
 * The demo credentials, only if the server advertises them (local stacks).
 * A 404, a network error or a missing key all mean: no hint.
 */
function useDemoLogin() {
  const [demo, setDemo] = useState(null);
  useEffect(() => {
    let live = true;
    send('GET', '/v1/config')
      .then((cfg) => {
        const d = cfg?.demoLogin;
        if (live && d?.email && d?.password) setDemo(d);
      })
      .catch(() => {});
    return () => {
      live = false;
    };
  }, []);
  return demo;
}
