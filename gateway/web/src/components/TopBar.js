import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { logout } from '../auth.js';
import { canChange } from '../roles.js';

// Grows with the app (Sequences, Inbox, Analytics...). `active` says which
// paths light the item up: "/leads/new" is "New lead", not "Leads". `more`: on a laptop-sized screen
// (under 1,280 px) the item waits behind "More", so the bar keeps to one line; wider, every item shows.
const NAV = [
  { href: '#/dashboard', label: 'Home', testid: 'nav-home', active: (p) => p === '/dashboard' },
  { href: '#/icps', label: 'ICPs', testid: 'nav-icps', active: (p) => p === '/icps' || p.startsWith('/icps/') },
  {
    href: '#/leads',
    label: 'Leads',
    testid: 'nav-leads',
    active: (p) => p === '/leads' || (p.startsWith('/leads/') && p !== '/leads/new'),
  },
  { href: '#/leads/new', label: 'New lead', more: true, testid: 'nav-new-lead', active: (p) => p === '/leads/new', changes: true },
  {
    href: '#/sequences',
    label: 'Sequences',
    testid: 'nav-sequences',
    active: (p) => p === '/sequences' || p.startsWith('/sequences/'),
  },
  { href: '#/runs', label: 'Runs', testid: 'nav-runs', active: (p) => p === '/runs' || p.startsWith('/runs/') },
  { href: '#/operations', label: 'Operations', more: true, testid: 'nav-operations', active: (p) => p === '/operations' },
  { href: '#/tasks', label: 'Tasks', more: true, testid: 'nav-tasks', active: (p) => p === '/tasks' },
  { href: '#/inbox', label: 'Inbox', testid: 'nav-inbox', active: (p) => p === '/inbox' || (p.startsWith('/inbox/') && p !== '/inbox/messages') },
  { href: '#/settings', label: 'Settings', more: true, testid: 'nav-settings', active: (p) => p === '/settings' },
  { href: '#/mail', label: 'Mail', more: true, testid: 'nav-mail', active: (p) => p === '/mail' || p.startsWith('/mail/') },
];

export function TopBar({ user, path }) {
  const [open, setOpen] = useState(false); // the menu, on a phone
  const [moreOpen, setMoreOpen] = useState(false); // "More", on a laptop
  const more = useRef(null);
  useEffect(() => {
    setOpen(false);
    setMoreOpen(false);
  }, [path]);
  useEffect(() => {
    if (!moreOpen) return undefined;
    const close = (e) => {
      if (!more.current?.contains(e.target)) setMoreOpen(false); // a click anywhere else
    };
    document.addEventListener('click', close);
    return () => document.removeEventListener('click', close);
  }, [moreOpen]);
  // The phone's "Menu" closes with Escape as "More" does, focus back on its button: heard on the bar itself (focus on
  // the button or a link in the menu) from the moment it renders, and on the page while the menu is open.
  const menuButton = useRef(null);
  const closeMenu = (e) => {
    if (e.key !== 'Escape' || !menuOpen.current) return;
    setOpen(false);
    menuButton.current?.focus();
  };
  const menuOpen = useRef(open);
  menuOpen.current = open;
  useEffect(() => {
    if (!open) return undefined;
    const onKey = (e) => !e.defaultPrevented && closeMenu(e);
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [open]);
  // Escape is heard on "More" itself (its button or a link in it has the focus), from the moment it renders:
  // a listener added by an effect after opening missed an Escape pressed at once.
  const onMoreKey = (e) => {
    if (e.key !== 'Escape' || !moreOpen) return;
    e.preventDefault(); // said once: the phone menu's listener leaves it
    setMoreOpen(false);
    more.current?.querySelector('button')?.focus();
  };
  const link = (item) => html`<a
    key=${item.href}
    href=${item.href}
    data-testid=${item.testid}
    class=${item.active(path) ? 'nav-link active' : 'nav-link'}
    aria-current=${item.active(path) ? 'page' : undefined}
    >${item.label}</a
  >`;
  // A viewer is not offered what only creates (the gateway would refuse it).
  const nav = NAV.filter((item) => !item.changes || canChange(user.role));
  const inMore = nav.filter((item) => item.more);
  return html`<header class="topbar">
    <div class="topbar-inner" onKeyDown=${(e) => {
      if (!e.defaultPrevented && menuOpen.current && e.key === 'Escape') {
        e.preventDefault();
        closeMenu(e);
      }
    }}>
      <a class="brand" href="#/icps">
        <span class="brand-mark" aria-hidden="true"></span>Lead Flood
      </a>
      <button
        type="button"
        class="btn btn-ghost btn-sm menu-toggle"
        ref=${menuButton}
        data-testid="menu-toggle"
        aria-expanded=${open ? 'true' : 'false'}
        aria-controls="main-nav"
        onClick=${() => setOpen((v) => !v)}
      >
        Menu
      </button>
      <nav id="main-nav" class=${open ? 'nav is-open' : 'nav'} aria-label="Main">
        ${nav.filter((item) => !item.more).map(link)}
        <div class="nav-more" ref=${more} onKeyDown=${onMoreKey}>
          <button
            type="button"
            class=${inMore.some((item) => item.active(path)) ? 'nav-more-toggle active' : 'nav-more-toggle'}
            data-testid="nav-more"
            aria-expanded=${moreOpen ? 'true' : 'false'}
            aria-controls="nav-more-list"
            onClick=${() => setMoreOpen((v) => !v)}
          >
            More<span aria-hidden="true"> ▾</span>
          </button>
          <div id="nav-more-list" class=${moreOpen ? 'nav-more-list is-open' : 'nav-more-list'}>${inMore.map(link)}</div>
        </div>
      </nav>
      <div class="account">
        <span class="account-email" data-testid="signed-in-email" title=${user.email}>${user.email}</span>
        <button type="button" class="btn btn-ghost" data-testid="sign-out" onClick=${logout}>
          Sign out
        </button>
      </div>
    </div>
  </header>`;
}
