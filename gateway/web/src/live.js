// Live updates: one EventSource per tab (GET /v1/events), shared by every page that listens.
//
// EventSource cannot send the bearer token, so each connection starts with a single-use ticket from
// POST /v1/events/tickets (through `api`, which refreshes an expired token). On an error the source is
// closed (its URL's ticket is spent) and a new one opened with a new ticket after a growing pause,
// naming the last event seen (`lastEventId`) so the server replays what was missed or says `reset`.
// Pages treat an event as "read again": REST stays the truth, the stream only says when.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { getAccessToken, onSessionChange } from './auth.js';

// The domain events pages listen to (EventSource needs each name it hears).
export const EVENT_TYPES = [
  'icp.search_run.changed',
  'leads.lead.created',
  'leads.lead.updated',
  'leads.lead.deleted',
  'inbox.message.sent',
  'inbox.message.received',
  'inbox.message.bounced',
  'inbox.message.failed',
  'inbox.recipient.unsubscribed',
  'sequences.step.sent',
  'sequences.enrollment.stopped',
  'runs.run.progressed',
  'runs.run.finished',
  'runs.meeting.booked',
];
export const FALLBACK_MS = 15000; // the slow poll of a page while the stream is down
const LINGER_MS = 5000; // kept open this long after the last page stops listening (a page change)
const MAX_BACKOFF_MS = 30000;

const listeners = new Set();
const stateListeners = new Set();
let source = null;
let state = 'down'; // connecting | live | down
let lastEventId = '';
let backoff = 1000;
let retryTimer = null;
let lingerTimer = null;
let connecting = false;
let generation = 0; // a new session's stream never takes a ticket asked for by the last one
let sessionUser = null;

// Signed out, or signed in as someone else: the stream was the last user's org's. Close it, forget its place.
onSessionChange((session) => {
  const user = session.status === 'signed-in' ? session.user?.userId || null : null;
  if (user === sessionUser) return;
  sessionUser = user;
  generation++;
  clearTimeout(retryTimer);
  closeSource();
  connecting = false;
  lastEventId = '';
  backoff = 1000;
  setState('down');
  if (user) connect();
});

export const liveState = () => state;

function setState(next) {
  if (next === state) return;
  state = next;
  for (const fn of stateListeners) fn(next);
}

function emit(event) {
  for (const fn of [...listeners]) {
    try {
      fn(event);
    } catch (err) {
      console.error(err);
    }
  }
}

function closeSource() {
  if (source) source.close();
  source = null;
}

function retry() {
  closeSource();
  setState('down');
  clearTimeout(retryTimer);
  if (!listeners.size) return;
  retryTimer = setTimeout(connect, backoff);
  backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
}

async function connect() {
  if (source || connecting || !listeners.size || !getAccessToken()) return;
  connecting = true;
  setState('connecting');
  const mine = generation;
  let ticket;
  try {
    ticket = await api.post('/v1/events/tickets');
  } catch {
    if (mine !== generation) return;
    connecting = false;
    retry();
    return;
  }
  if (mine !== generation) return; // the session changed meanwhile: its own connect is under way
  connecting = false;
  if (!listeners.size) return setState('down');
  const url = ticket.url + (lastEventId ? `&lastEventId=${encodeURIComponent(lastEventId)}` : '');
  const es = new EventSource(url);
  source = es;
  es.addEventListener('ready', () => {
    backoff = 1000;
    setState('live');
  });
  es.addEventListener('reset', () => emit({ type: 'reset', data: {} }));
  es.addEventListener('expired', () => {
    closeSource();
    connect();
  });
  es.onerror = () => {
    if (source === es) retry();
  };
  for (const type of EVENT_TYPES) {
    es.addEventListener(type, (e) => {
      if (e.lastEventId) lastEventId = e.lastEventId;
      let data = {};
      try {
        data = JSON.parse(e.data);
      } catch {
        /* a malformed event still says "something changed" */
      }
      emit({ type, data, id: e.lastEventId });
    });
  }
}

/** Listen to every live event while mounted; returns the stop function. Opens the stream if need be. */
export function listen(fn) {
  listeners.add(fn);
  clearTimeout(lingerTimer);
  connect();
  return () => {
    listeners.delete(fn);
    if (listeners.size) return;
    clearTimeout(lingerTimer);
    lingerTimer = setTimeout(() => {
      if (listeners.size) return;
      clearTimeout(retryTimer);
      closeSource();
      setState('down');
    }, LINGER_MS);
  };
}

export function onLiveState(fn) {
  stateListeners.add(fn);
  return () => stateListeners.delete(fn);
}

/** 'live' | 'connecting' | 'down', re-rendering on change. */
export function useLiveState() {
  const [s, setS] = useState(state);
  useEffect(() => {
    setS(state);
    return onLiveState(setS);
  }, []);
  return s;
}

/**
 * Keep a page current: `reload` (returning a promise) runs again when a live event `match`es (and on a
 * `reset`, and when the stream comes back, as events may have been missed), at most one at a time with one
 * more queued, never closer than `minGapMs`; while the stream is down and `active`, every `fallbackMs`.
 * Returns the stream's state, for the page to say "Live" or not.
 */
export function useLiveRefresh(reload, { match = () => true, active = true, fallbackMs = FALLBACK_MS, minGapMs = 1000 } = {}) {
  const latest = useRef({ reload, match, active });
  latest.current = { reload, match, active };
  const live = useLiveState();

  useEffect(() => {
    let running = false;
    let queued = false;
    let timer = null;
    let lastAt = 0;
    let stopped = false;
    async function run() {
      if (stopped) return;
      if (running) {
        queued = true;
        return;
      }
      const wait = lastAt + minGapMs - Date.now();
      if (wait > 0) {
        if (!timer) timer = setTimeout(() => ((timer = null), run()), wait);
        return;
      }
      running = true;
      lastAt = Date.now();
      try {
        await latest.current.reload();
      } catch {
        /* the page shows its own error */
      }
      running = false;
      if (queued) {
        queued = false;
        run();
      }
    }
    let wasLive = state === 'live';
    const stopState = onLiveState((s) => {
      if (s === 'live' && !wasLive && latest.current.active) run();
      wasLive = s === 'live';
    });
    const stop = listen((event) => {
      if (!latest.current.active) return;
      if (event.type === 'reset' || latest.current.match(event)) run();
    });
    return () => {
      stopped = true;
      clearTimeout(timer);
      stop();
      stopState();
    };
  }, []);

  useEffect(() => {
    if (live === 'live' || !active) return undefined;
    const poll = setInterval(() => latest.current.reload(), fallbackMs);
    return () => clearInterval(poll);
  }, [live, active, fallbackMs]);
  return live;
}

/**
 * A watch loop's "wait for the next change", listening from the moment it is made: `next(then)` calls
 * `then` once, at the next live event that `match`es (or a `reset`, or the stream coming back), or after
 * `fallbackMs` while the stream is down. A change that came while the loop was busy (reading the last
 * one) is not lost: the next `next` answers at once (after `gapMs`, so a burst is read once).
 * `cancel()` stops listening.
 */
export function changeWatch(match, { fallbackMs = FALLBACK_MS, gapMs = 250 } = {}) {
  let pending = false;
  let waiting = null;
  let timer = null;
  let was = state;
  const hit = () => {
    if (!waiting) {
      pending = true;
      return;
    }
    const then = waiting;
    waiting = null;
    clearTimeout(timer);
    then();
  };
  const arm = (s) => {
    clearTimeout(timer);
    timer = s === 'live' ? null : setTimeout(hit, fallbackMs);
  };
  const stop = listen((event) => {
    if (event.type === 'reset' || match(event)) hit();
  });
  const stopState = onLiveState((s) => {
    if (s === 'live' && was !== 'live') hit();
    was = s;
    if (waiting) arm(s);
  });
  return {
    next(then) {
      if (pending) {
        pending = false;
        waiting = then;
        clearTimeout(timer);
        timer = setTimeout(hit, gapMs);
        return;
      }
      waiting = then;
      arm(state);
    },
    cancel() {
      waiting = null;
      clearTimeout(timer);
      stop();
      stopState();
    },
  };
}

/** For tests: the module's state back to the start. */
export function _resetForTests() {
  closeSource();
  listeners.clear();
  stateListeners.clear();
  state = 'down';
  lastEventId = '';
  backoff = 1000;
}
