import { html } from 'htm/preact';
import { logout } from '../auth.js';

// Grows with the app (ICP, Leads, Sequences, Inbox, Runs, Analytics...).
const NAV = [{ href: '#/leads/new', label: 'New lead', match: '/leads' }];

export function TopBar({ user, path }) {
  return html`<header class="topbar">
    <div class="topbar-inner">
      <a class="brand" href="#/leads/new">
        <span class="brand-mark" aria-hidden="true"></span>Lead Flood
      </a>
      <nav class="nav" aria-label="Main">
        ${NAV.map(
          (item) => html`<a
            href=${item.href}
            class=${path.startsWith(item.match) ? 'nav-link active' : 'nav-link'}
            >${item.label}</a
          >`,
        )}
      </nav>
      <div class="account">
        <span class="account-email" data-testid="signed-in-email">${user.email}</span>
        <button type="button" class="btn btn-ghost" data-testid="sign-out" onClick=${logout}>
          Sign out
        </button>
      </div>
    </div>
  </header>`;
}
