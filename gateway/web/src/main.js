// Entry point: mounts the app and maps hash routes to pages.
// Add a page = add a row to ROUTES (and, if it belongs in the menu, to
// components/TopBar.js NAV).
// A page is remounted whenever the URL changes, query included, unless its
// route says `keepOnQuery`: then only a new path remounts it and the page
// reacts to its `query` prop itself (filters bound to the URL, selected run).
// Routes with the same `samePage` are one page across their paths
// (the inbox, with a conversation open or not): it stays mounted, list and all.
import { render } from 'preact';
import { html } from 'htm/preact';
import { useEffect, useLayoutEffect } from 'preact/hooks';
import { restoreSession, useSession } from './auth.js';
import { matchRoute, Redirect, useRoute } from './router.js';
import { TopBar } from './components/TopBar.js';
import { Spinner } from './components/Spinner.js';
import { focusPageSearch, isSearchShortcut } from './keys.js';
import { keepFocusInView } from './focusInView.js';
import { Login } from './pages/Login.js';
import { NewLead } from './pages/NewLead.js';
import { LeadDetail } from './pages/LeadDetail.js';
import { Leads } from './pages/Leads.js';
import { IcpList } from './pages/icp/IcpList.js';
import { IcpPage } from './pages/icp/IcpPage.js';
import { CapturedMail } from './pages/mail/CapturedMail.js';
import { Inbox } from './pages/inbox/Inbox.js';
import { MailSettings } from './pages/settings/MailSettings.js';
import { Team } from './pages/settings/Team.js';
import { Access } from './pages/settings/Access.js';
import { Join } from './pages/Join.js';
import { SequenceList } from './pages/sequences/SequenceList.js';
import { SequencePage } from './pages/sequences/SequencePage.js';
import { Tasks } from './pages/sequences/Tasks.js';
import { RunsPage } from './pages/runs/RunsPage.js';
import { RunPage } from './pages/runs/RunPage.js';
import { Operations } from './pages/operations/Operations.js';
import { Dashboard } from './pages/dashboard/Dashboard.js';
import { Messages } from './pages/inbox/Messages.js';

const HOME = '/dashboard';

/**
 * "Skip to content", the first stop on every page: past the menu to the page itself. The router owns the
 * URL's hash, so the link moves focus itself rather than jumping to `#content`.
 */
function SkipLink() {
  const skip = (e) => {
    e.preventDefault();
    const main = document.getElementById('content');
    main?.focus();
    main?.scrollIntoView();
  };
  return html`<a class="skip-link" href="#content" data-testid="skip-link" onClick=${skip}>Skip to content</a>`;
}

// The app places the scroll itself: a new page at its top, the leads list where the user left it. The browser's
// own restoring on Back (of a hash URL, a page whose content is drawn a moment later) raced with both.
if ('scrollRestoration' in history) history.scrollRestoration = 'manual';

// `/` anywhere but in a field: to the page's search box (the leads table's filter), as many sites do.
document.addEventListener('keydown', (e) => {
  if (isSearchShortcut(e) && focusPageSearch()) e.preventDefault();
});

// Order matters: "/leads/new" must win over "/leads/:id" (and "/icps/new" over "/icps/:id").
const ROUTES = [
  { path: '/login', page: Login, title: 'Sign in', public: true },
  { path: '/dashboard', page: Dashboard, title: 'Home' },
  { path: '/icps', page: IcpList, title: 'ICPs' },
  { path: '/icps/new', page: IcpPage, title: 'New ICP' },
  { path: '/icps/:id', page: IcpPage, title: 'ICP', keepOnQuery: true },
  { path: '/leads', page: Leads, title: 'Leads', keepOnQuery: true, keepsScroll: true },
  { path: '/leads/new', page: NewLead, title: 'New lead' },
  { path: '/leads/:id', page: LeadDetail, title: 'Lead' },
  { path: '/sequences', page: SequenceList, title: 'Sequences' },
  { path: '/sequences/new', page: SequencePage, title: 'New sequence' },
  { path: '/sequences/:id', page: SequencePage, title: 'Sequence' },
  { path: '/tasks', page: Tasks, title: 'Tasks' },
  { path: '/inbox', page: Inbox, title: 'Inbox', keepOnQuery: true, samePage: 'inbox' },
  { path: '/inbox/messages', page: Messages, title: 'Emails' },
  { path: '/inbox/:id', page: Inbox, title: 'Inbox', keepOnQuery: true, samePage: 'inbox' },
  { path: '/mail', page: CapturedMail, title: 'Captured mail' },
  { path: '/settings', page: MailSettings, title: 'Settings' },
  { path: '/settings/team', page: Team, title: 'Team' },
  { path: '/settings/access', page: Access, title: 'Providers and access' },
  { path: '/join/:token', page: Join, title: 'Join', public: true },
  { path: '/mail/:id', page: CapturedMail, title: 'Captured mail' },
  { path: '/runs', page: RunsPage, title: 'Lead runs' },
  { path: '/runs/:id', page: RunPage, title: 'Lead run' },
  { path: '/operations', page: Operations, title: 'Operations' },
];

/**
 * What a page is mounted under: a new key is a new page. Opening a conversation in the inbox is the same page
 * (`samePage`): remounted, its list was drawn again from nothing above the conversation, pushing it far below
 * the screen on a phone.
 */
function pageKey(route, match) {
  if (match?.route.samePage) return `same:${match.route.samePage}`;
  return match?.route.keepOnQuery ? route.path : route.raw;
}

function App() {
  const session = useSession();
  const route = useRoute();
  const match = matchRoute(ROUTES, route.path);
  const signedIn = session.status === 'signed-in';
  const key = pageKey(route, match);

  useEffect(() => {
    document.title = match ? `${match.route.title} · Lead Flood` : 'Lead Flood';
  }, [match?.route]);
  // A new page starts at its top (the browser would keep the last page's scroll), unless the page keeps
  // its own place (the leads list, on coming back from a lead). Within one page (a conversation opened in
  // the inbox) the scroll is the page's: it brings what it opened into view (focus on its heading), and
  // a jump to the top here would undo that.
  const scrollKey = match?.route.samePage ? key : route.path;
  useLayoutEffect(() => {
    if (!match?.route.keepsScroll) window.scrollTo(0, 0);
  }, [scrollKey]);

  if (session.status === 'restoring') {
    return html`<main class="splash" id="content" tabindex="-1"><${Spinner} label="Loading Lead Flood…" /></main>`;
  }
  if (!match) return html`<${Redirect} to=${signedIn ? HOME : '/login'} />`;

  if (!signedIn && !match.route.public) {
    // Come back here after signing in, unless the user signed out on purpose.
    const next = session.endedBy === 'user' ? '' : `?next=${encodeURIComponent(route.raw)}`;
    return html`<${Redirect} to=${`/login${next}`} />`;
  }
  if (signedIn && match.route.path === '/login') {
    const next = route.query.get('next');
    return html`<${Redirect} to=${next && next.startsWith('/') ? next : HOME} />`;
  }

  const Page = match.route.page;
  return html`
    <${SkipLink} />
    ${signedIn && html`<${TopBar} user=${session.user} path=${route.path} />`}
    <main class="main" id="content" tabindex="-1">
      <${Page}
        key=${key}
        params=${match.params}
        query=${route.query}
        session=${session}
      />
    </main>
  `;
}

const app = document.getElementById('app');
keepFocusInView(app);
render(html`<${App} />`, app);
restoreSession();
