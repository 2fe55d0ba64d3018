import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { logout } from '../auth.js';

// Grows with the app (Sequences, Inbox, Analytics...). `active` says which
// paths light the item up: "/leads/new" is "New lead", not "Leads".
const NAV = [
  { href: '#/dashboard', label: 'Home', testid: 'nav-home', active: (p) => p === '/dashboard' },
  { href: '#/icps', label: 'ICPs', testid: 'nav-icps', active: (p) => p === '/icps' || p.startsWith('/icps/') },
  {
    href: '#/leads',
    label: 'Leads',
    testid: 'nav-leads',
    active: (p) => p === '/leads' || (p.startsWith('/leads/') && p !== '/leads/new'),
  },
  { href: '#/leads/new', label: 'New lead', testid: 'nav-new-lead', active: (p) => p === '/leads/new' },
  {
    href: '#/sequences',
    label: 'Sequences',
    testid: 'nav-sequences',
    active: (p) => p === '/sequences' || p.startsWith('/sequences/'),
  },
  { href: '#/runs', label: 'Runs', testid: 'nav-runs', active: (p) => p === '/runs' || p.startsWith('/runs/') },
  { href: '#/operations', label: 'Operations', testid: 'nav-operations', active: (p) => p === '/operations' },
  { href: '#/tasks', label: 'Tasks', testid: 'nav-tasks', active: (p) => p === '/tasks' },
  { href: '#/inbox', label: 'Inbox', testid: 'nav-inbox', active: (p) => p === '/inbox' || (p.startsWith('/inbox/') && p !== '/inbox/messages') },
  { href: '#/settings', label: 'Settings', testid: 'nav-settings', active: (p) => p === '/settings' },
  { href: '#/mail', label: 'Mail', testid: 'nav-mail', active: (p) => p === '/mail' || p.startsWith('/mail/') },
];

export function TopBar({ user, path }) {
  const [open, setOpen] = useState(false); // the menu, on a phone
  useEffect(() => setOpen(false), [path]);
  return html`<header class="topbar">
    <div class="topbar-inner">
      <a class="brand" href="#/icps">
        <span class="brand-mark" aria-hidden="true"></span>Lead Flood
      </a>
      <button
        type="button"
        class="btn btn-ghost btn-sm menu-toggle"
        data-testid="menu-toggle"
        aria-expanded=${open ? 'true' : 'false'}
        aria-controls="main-nav"
        onClick=${() => setOpen((v) => !v)}
      >
        Menu
      </button>
      <nav id="main-nav" class=${open ? 'nav is-open' : 'nav'} aria-label="Main">
        ${NAV.map(
          (item) => html`<a
            href=${item.href}
            data-testid=${item.testid}
            class=${item.active(path) ? 'nav-link active' : 'nav-link'}
            aria-current=${item.active(path) ? 'page' : undefined}
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
