// Pure rules of the lead-run pages: what a run's progress means, the new-run form <-> API body, the
// diagnostics shown, and how receipts and queue figures read. No DOM here: test/runs-ops.test.js.

export const RUN_STATES_ACTIVE = new Set(['created', 'running']);
export const RUN_STATES_FINISHED = new Set(['completed', 'failed', 'cancelled']);

/** A run is worth polling while it is running (a created run only moves when someone starts it). */
export const isRunning = (run) => run?.state === 'running';
export const isFinished = (run) => RUN_STATES_FINISHED.has(run?.state);
export const canCancel = (run) => RUN_STATES_ACTIVE.has(run?.state);

/**
 * How far a run is, from its one source of truth, `progress`: leads settled (done or failed) of those
 * sourced. A completed run is full even when it sourced nobody; a running run that has not sourced yet
 * is at 0 and says so.
 */
export function runProgress(run) {
  const p = run?.progress || {};
  const total = Number(p.total) || 0;
  const settled = (Number(p.done) || 0) + (Number(p.failed) || 0);
  const percent = run?.state === 'completed' ? 100 : total > 0 ? Math.min(100, Math.floor((settled / total) * 100)) : 0;
  let caption;
  if (run?.state === 'created') caption = 'Not started';
  else if (total === 0) caption = run?.state === 'running' ? 'Sourcing leads…' : 'No leads';
  else caption = `${formatCount(settled)} of ${formatCount(total)} leads${p.failed ? ` (${formatCount(p.failed)} failed)` : ''}`;
  return { settled, total, percent, caption };
}

/** The per-run figures, in the order an operator reads them. `testid` = `diag-run-<key>`. */
export const DIAGNOSTICS = [
  { key: 'sourced', label: 'Sourced', hint: 'People the searches found for this run, before the minimum score and the check for leads already in touch' },
  { key: 'filteredByScore', label: 'Filtered by score', tone: 'warn' },
  { key: 'withEmail', label: 'With email', hint: 'Of the leads worked (not those skipped or under the minimum)' },
  { key: 'withoutEmail', label: 'Without email', tone: 'warn', hint: 'Of the leads worked (not those skipped or under the minimum)' },
  { key: 'booked', label: 'Booked', tone: 'success' },
  { key: 'noSlot', label: 'No slot', tone: 'warn', hint: 'Leads with no free slot after every attempt: sent an availability request instead' },
  { key: 'drafted', label: 'Drafted' },
  { key: 'sent', label: 'Sent', tone: 'success' },
  { key: 'simulated', label: 'Simulated', hint: 'Dry run: actions done without sending or booking anything' },
  { key: 'failed', label: 'Failed', tone: 'danger', hint: 'Leads whose every action failed, or that could not be worked' },
  { key: 'failedActions', label: 'Failed actions', tone: 'danger', hint: 'Actions refused, such as an email the mail room would not send, as they last ended: each receipt says why, and Try again on the lead does them again' },
  { key: 'skipped', label: 'Skipped', tone: 'warn', hint: 'Leads already in a sequence, or in a conversation lately: left out, each receipt says why' },
  { key: 'calendarRetries', label: 'Calendar retries', hint: 'Slot searches that found nothing and were tried again wider' },
  { key: 'staleRecoveries', label: 'Stale recoveries', hint: 'Leads taken back from a worker that stopped answering' },
];

/** Whether a run's lead can be tried again: it failed, or an action of it failed as it last ended (`outcomes` are
 * each action's latest, "email:failed"); the server says the same (RetryLead). */
export const canTryAgain = (lead) =>
  lead?.status === 'failed' || (lead?.status === 'done' && (lead.outcomes || []).some((o) => o.endsWith(':failed')));

/** A count in the reader's locale: 10000 -> "10,000" (or "10 000", "10.000"). */
export const formatCount = (n, locale = undefined) => new Intl.NumberFormat(locale).format(Number(n) || 0);

/**
 * Why a sourced run works fewer leads than asked, in words, or null: "Found 5 of the 8 leads asked for: the source
 * had no more scoring at or over the ICP's minimum (2 skipped as already in touch)."
 */
export function shortOfLimit(run, locale = undefined) {
  const p = run?.progress || {};
  if (!run?.sourcedAt || (Number(p.total) || 0) >= (Number(run.limit) || 0)) return null;
  const skipped = Number(p.skipped) || 0;
  const why = skipped ? ` (${formatCount(skipped, locale)} skipped as already in touch)` : '';
  return `Found ${formatCount(p.total, locale)} of the ${formatCount(run.limit, locale)} leads asked for: the source had no more scoring at or over the ICP's minimum${why}.`;
}

/** Seconds as a short duration: 0.4 -> "0.4 s", 75 -> "1 min 15 s", 7300 -> "2 h 1 min". */
export function formatSeconds(s) {
  const n = Number(s);
  if (!Number.isFinite(n) || n < 0) return '—';
  if (n < 10) return `${Math.round(n * 10) / 10} s`;
  if (n < 60) return `${Math.round(n)} s`;
  const total = Math.round(n);
  if (total < 3600) {
    const sec = total % 60;
    return `${Math.floor(total / 60)} min${sec ? ` ${sec} s` : ''}`;
  }
  const min = Math.floor((total % 3600) / 60);
  return `${Math.floor(total / 3600)} h${min ? ` ${min} min` : ''}`;
}

/** Milliseconds of a receipt: 850 -> "850 ms", 1530 -> "1.5 s"; 0 or less (skipped, not timed) -> "—". */
export function formatLatency(ms) {
  const n = Number(ms);
  if (!Number.isFinite(n) || n <= 0) return '—';
  return n < 1000 ? `${Math.round(n)} ms` : `${Math.round(n / 100) / 10} s`;
}

/** A receipt's target is a link to follow only when it is https (a booked event, say); anything else is an id. */
export const isHttpsLink = (v) => typeof v === 'string' && /^https:\/\/[^\s]+$/i.test(v);

/** "email:sent" -> { kind: "email", status: "sent", label: "email sent", tone }. */
export function outcomeChip(outcome) {
  const [kind, status = ''] = String(outcome).split(':');
  return { kind, status, label: `${kind.replace(/_/g, ' ')} ${status.replace(/_/g, ' ')}`.trim(), tone: outcomeTone(status) };
}

// A receipt's action and status in words, said once each (a dry run's receipt is "simulated": no second badge).
const KIND_WORDS = {
  meeting: 'Meeting',
  email: 'Email',
  availability_email: 'Availability request',
  sms: 'Text',
  call_task: 'Call task',
  contact_check: 'Already in touch',
};
const STATUS_WORDS = {
  booked: 'booked',
  no_slot: 'no free slot',
  sent: 'sent',
  drafted: 'drafted',
  queued: 'queued',
  suppressed: 'not sent: on the suppression list',
  skipped: 'skipped',
  failed: 'failed',
  retrying: 'retrying',
  created: 'created',
  simulated: 'simulated (dry run)',
};
// What a receipt's target is, when it is an id rather than a link: folded under its Details.
const TARGET_LABELS = { email: 'Message ID', availability_email: 'Message ID', sms: 'Message ID', call_task: 'Task ID' };

/** "availability_email" -> "Availability request". */
export const receiptKind = (kind) => KIND_WORDS[kind] || String(kind || '').replace(/_/g, ' ');

/**
 * A receipt's one status, in words, with its tone: "no free slot", "simulated (dry run)"; a dry run's receipt that
 * did something else (skipped: no email) says so once: "skipped (dry run)".
 */
export function receiptStatus(receipt) {
  const words = STATUS_WORDS[receipt.status] || String(receipt.status || '').replace(/_/g, ' ');
  const dry = receipt.simulated && receipt.status !== 'simulated';
  return { words: dry ? `${words} (dry run)` : words, tone: outcomeTone(receipt.status) };
}

/** The ids a receipt names, for its folded Details: [[label, value]], the receipt's own last. */
export function receiptIds(receipt) {
  const ids = [];
  if (receipt.target && !isHttpsLink(receipt.target)) ids.push([TARGET_LABELS[receipt.kind] || 'Target', receipt.target]);
  ids.push(['Receipt ID', receipt.id]);
  return ids;
}

/**
 * Two instants as one span in the reader's locale and time zone: "8 Dec 2026, 10:00 – 10:30" (the day said once
 * when both fall on it). Null when either is missing.
 */
export function formatSpan(startIso, endIso, locale = undefined, timeZone = undefined) {
  if (!startIso || !endIso) return null;
  const start = new Date(startIso);
  const end = new Date(endIso);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) return null;
  const format = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone });
  return format.formatRange(start, end);
}

export function outcomeTone(status) {
  if (['booked', 'sent', 'drafted', 'created', 'done'].includes(status)) return 'success';
  if (['failed'].includes(status)) return 'danger';
  if (['no_slot', 'skipped'].includes(status)) return 'warn';
  return 'neutral';
}

/** A gauge: "2 / 3", how full (0-100) and whether it is at its limit. */
export function gauge(current, max) {
  const c = Number(current) || 0;
  const m = Number(max) || 0;
  return { current: c, max: m, percent: m > 0 ? Math.min(100, (c / m) * 100) : 0, full: m > 0 && c >= m };
}

export const EMAIL_MODES = [
  { value: 'send', label: 'Send' },
  { value: 'draft', label: 'Draft only' },
  { value: 'off', label: 'Off' },
];
export const CALENDAR_PROVIDERS = [
  { value: 'sandbox', label: 'Sandbox' },
  { value: 'google', label: 'Google Calendar' },
];

// What the runs service uses when a template is left empty (services/runs: DEFAULT_SUBJECT/DEFAULT_BODY),
// shown as the boxes' placeholders.
export const DEFAULT_SUBJECT = "A quick idea for {{ lead.companyName | default('your team') }}";
export const DEFAULT_BODY =
  "Hi {{ lead.firstName | default('there') }},\n\n" +
  "I work with teams like {{ lead.companyName | default('yours') }} on finding and reaching the right " +
  'customers. Would a short call be useful?\n';

export const EMPTY_FORM = {
  icpId: '',
  limit: '20',
  dryRun: false,
  email: 'send',
  sms: false,
  call: false,
  calendar: false,
  provider: 'sandbox',
  durationMinutes: '30',
  windowDays: '5',
  subject: '',
  body: '',
  recentContactDays: '30',
};

// A number box's text as the API's integer; anything else goes as typed, for the server to name at its field.
const asInt = (text) => {
  const t = String(text).trim();
  return t !== '' && Number.isInteger(Number(t)) ? Number(t) : t;
};

/** The new-run form as POST /v1/lead-runs's body. */
export function runBody(form) {
  return {
    icpId: form.icpId,
    limit: asInt(form.limit),
    dryRun: Boolean(form.dryRun),
    channels: { email: form.email, sms: Boolean(form.sms), call: Boolean(form.call) },
    calendar: {
      enabled: Boolean(form.calendar),
      provider: form.provider,
      durationMinutes: asInt(form.durationMinutes),
      windowDays: asInt(form.windowDays),
    },
    email: { subject: form.subject, body: form.body },
    recentContactDays: asInt(form.recentContactDays ?? '30'),
  };
}

/** The channels a run uses, in words: "email sent · SMS · meeting (sandbox, 30 min)". */
export function runPlan(run) {
  const parts = [];
  const email = run?.channels?.email;
  if (email === 'send') parts.push('email');
  else if (email === 'draft') parts.push('email drafts');
  if (run?.channels?.sms) parts.push('SMS');
  if (run?.channels?.call) parts.push('call task');
  if (run?.calendar?.enabled) {
    const c = run.calendar;
    parts.push(`meeting (${c.provider || 'sandbox'}${c.durationMinutes ? `, ${c.durationMinutes} min` : ''})`);
  }
  return parts.length ? parts.join(' · ') : 'no actions';
}

export const shortId = (id) => String(id || '').slice(0, 8);

/** A run's name for headings and lists: its ICP's name and when it was made ("Fintech CFOs · 7 Dec, 11:40"). */
export function runTitle(run, icpName, locale = undefined) {
  const at = run?.createdAt ? new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(run.createdAt)) : '';
  return [icpName || 'Run', at].filter(Boolean).join(' · ');
}
