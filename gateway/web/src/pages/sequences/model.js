// Pure helpers of the sequence pages: the builder's form <-> the API's body, field names of errors,
// the words for states, delays, windows and why an enrollment waits. No DOM, no fetch.

export const CHANNELS = [
  { value: 'email', label: 'Email' },
  { value: 'sms', label: 'Text (SMS)' },
  { value: 'call_task', label: 'Call task' },
];
export const DELAY_UNITS = [
  { value: 'business_days', label: 'business days' },
  { value: 'hours', label: 'hours' },
];
// ISO 8601 numbering, as the API's window.days: Monday is 1.
export const WEEKDAYS = [
  { value: 1, label: 'Mon' },
  { value: 2, label: 'Tue' },
  { value: 3, label: 'Wed' },
  { value: 4, label: 'Thu' },
  { value: 5, label: 'Fri' },
  { value: 6, label: 'Sat' },
  { value: 7, label: 'Sun' },
];
// What a template may use (the sequences contract's PreviewStep lists them): `{{ lead.<name> }}`.
export const VARIABLES = [
  'firstName', 'lastName', 'fullName', 'companyName', 'title', 'email',
  'companyDomain', 'industry', 'location', 'seniority', 'linkedinUrl',
];
export const ENROLLMENT_STATES = [
  'active', 'paused', 'completed', 'replied', 'bounced', 'unsubscribed', 'meeting_booked', 'failed', 'stopped',
];
const IN_PROGRESS = new Set(['active', 'paused']);

/** The lifecycle moves a sequence in `state` allows, in the order the page shows them. */
export function lifecycleActions(state) {
  return {
    draft: ['activate', 'archive'],
    active: ['pause', 'archive'],
    paused: ['resume', 'archive'],
  }[state] || [];
}

export const ACTION_LABELS = { activate: 'Activate', pause: 'Pause', resume: 'Resume', archive: 'Archive' };

/** What a step's two templates are called for its channel (an SMS has no subject). */
export function templateLabels(channel) {
  if (channel === 'sms') return { subject: null, body: 'Text' };
  if (channel === 'call_task') return { subject: 'Task title', body: 'Notes' };
  return { subject: 'Subject', body: 'Body' };
}

let keys = 0;
const newKey = () => `new-${++keys}`;

export function newStep(channel = 'email') {
  return { key: newKey(), id: '', channel, delayAmount: '0', delayUnit: 'business_days', subjectTemplate: '', bodyTemplate: '', variants: [] };
}

/** The builder's state for a saved sequence (or a new one, sending in `zone`). */
export function sequenceToForm(sequence, zone = 'UTC') {
  if (!sequence) {
    return {
      name: '',
      window: { days: [1, 2, 3, 4, 5], startTime: '09:00', endTime: '17:00', timeZone: zone },
      mailboxId: '',
      steps: [newStep()],
    };
  }
  return {
    name: sequence.name,
    window: { ...sequence.window, days: [...sequence.window.days] },
    mailboxId: sequence.mailboxId || '',
    steps: sequence.steps.map((s) => ({
      key: s.id,
      id: s.id,
      channel: s.channel,
      delayAmount: String(s.delayAmount),
      delayUnit: s.delayUnit,
      subjectTemplate: s.subjectTemplate,
      bodyTemplate: s.bodyTemplate,
      variants: s.variants,
    })),
  };
}

/** The API's body for the builder's state (PUT takes all of it; a step keeps its id). */
export function formToBody(form) {
  return {
    name: form.name,
    window: { ...form.window, days: [...form.window.days].sort((a, b) => a - b) },
    mailboxId: form.mailboxId,
    steps: form.steps.map((s) => ({
      ...(s.id ? { id: s.id } : {}),
      channel: s.channel,
      delayAmount: toInt(s.delayAmount),
      delayUnit: s.delayUnit,
      subjectTemplate: s.channel === 'sms' ? '' : s.subjectTemplate,
      bodyTemplate: s.bodyTemplate,
      variants: s.variants,
    })),
  };
}

// An empty box is no delay; anything else goes as typed, so the API can say what is wrong with it.
function toInt(value) {
  const text = String(value).trim();
  return text === '' ? 0 : Number(text);
}

/**
 * One name per field, whoever found the fault: the service says `steps[0].bodyTemplate`, the
 * gateway's own checks `steps.0.bodyTemplate`.
 */
export function fieldKey(field) {
  return String(field || '').replace(/\.(\d+)(?=\.|$)/g, '[$1]');
}

/** The message for `field` (e.g. `steps[1].subjectTemplate`) in an ApiError, or ''. */
export function messageFor(error, field) {
  return error?.errors?.find((e) => fieldKey(e.field) === field)?.message || '';
}

/** The fields the builder shows at their input, for ProblemAlert to leave out of its list. */
export function inlineFields(form) {
  const top = ['name', 'mailboxId', 'window', 'window.days', 'window.startTime', 'window.endTime', 'window.timeZone', 'steps'];
  const perStep = form.steps.flatMap((_, i) =>
    ['', '.channel', '.delayAmount', '.delayUnit', '.subjectTemplate', '.bodyTemplate', '.id'].map((f) => `steps[${i}]${f}`),
  );
  return [...top, ...perStep];
}

/**
 * An ApiError with every field named the builder's way, so ProblemAlert and the inputs agree. When
 * every fault is shown at its field (`inline`), the alert only says so: the detail would list them
 * again, in the service's words for the fields.
 */
export function withFieldKeys(error, inline = []) {
  if (!error?.errors?.length) return error;
  const errors = error.errors.map((e) => ({ ...e, field: fieldKey(e.field) }));
  const allInline = errors.every((e) => inline.includes(e.field));
  const n = errors.length;
  const detail = allInline ? `${n === 1 ? 'One field needs' : `${n} fields need`} a change: see below.` : error.detail;
  return Object.assign(Object.create(Object.getPrototypeOf(error)), error, { errors, detail });
}

/** "after 2 business days", "at once". */
export function delayText(step) {
  const n = Number(step.delayAmount) || 0;
  if (n === 0) return 'at once';
  const unit = step.delayUnit === 'hours' ? (n === 1 ? 'hour' : 'hours') : n === 1 ? 'business day' : 'business days';
  return `after ${n} ${unit}`;
}

/** "Mon–Fri 09:00–17:00 Europe/Berlin". */
export function windowText(window) {
  if (!window) return '';
  const days = [...(window.days || [])].sort((a, b) => a - b);
  const name = (d) => WEEKDAYS[d - 1]?.label || '?';
  const consecutive = days.length > 2 && days.every((d, i) => i === 0 || d === days[i - 1] + 1);
  const dayText = days.length === 7 ? 'Every day' : consecutive ? `${name(days[0])}–${name(days[days.length - 1])}` : days.map(name).join(', ');
  return `${dayText} ${window.startTime}–${window.endTime} ${window.timeZone}`;
}

/** "3 steps: email, email, call task". */
export function stepsSummary(steps) {
  if (!steps?.length) return 'no steps';
  const channels = steps.map((s) => s.channel.replace('_', ' '));
  return `${steps.length} ${steps.length === 1 ? 'step' : 'steps'}: ${channels.join(', ')}`;
}

const FINISHED = {
  completed: 'Every step done',
  replied: 'The lead replied',
  bounced: 'The email bounced',
  unsubscribed: 'The lead unsubscribed',
  meeting_booked: 'A meeting was booked',
  failed: 'Failed',
  stopped: 'Stopped',
};

/**
 * Why an enrollment is not being sent right now, or why it ended, in words. `when(iso)` formats
 * a time; `sequenceState` tells a draft from a paused sequence.
 */
export function waitingText(enrollment, { sequenceState = 'active', when = (t) => t, now = Date.now() } = {}) {
  const e = enrollment;
  if (!IN_PROGRESS.has(e.state)) return e.stopReason || FINISHED[e.state] || '';
  const at = e.nextDueAt ? when(e.nextDueAt) : '';
  const due = e.nextDueAt && new Date(e.nextDueAt).getTime() <= now;
  switch (e.waitingReason) {
    case 'sequence_paused':
      return sequenceState === 'draft' ? 'Waits for the sequence to be activated' : 'The sequence is paused';
    case 'window':
      return due ? 'The window is open: sending now' : `Outside the sending window in the lead's time zone: it opens ${at}`;
    case 'mailbox':
      return `Held by the mailbox's limits${e.waitingDetail ? ` (${e.waitingDetail})` : ''}; next try ${at}`;
    case 'retry':
      return `${e.waitingDetail || 'Could not be sent'}; next try ${at}`;
    case 'delay':
      return due ? 'Due now: sending' : `Waiting for step ${e.currentStep}'s delay, until ${at}`;
    default:
      return at ? `Due ${at}` : '';
  }
}

export const isInProgress = (enrollment) => IN_PROGRESS.has(enrollment.state);

/** `text` with `snippet` put in place of its [start, end) selection; and where the caret goes. */
export function insertAt(text, start, end, snippet) {
  const a = Math.max(0, Math.min(start ?? text.length, text.length));
  const b = Math.max(a, Math.min(end ?? a, text.length));
  return { text: text.slice(0, a) + snippet + text.slice(b), caret: a + snippet.length };
}

/** Lead ids in runs of at most `size` (an enroll call takes 1,000). */
export function chunks(ids, size = 1000) {
  const out = [];
  for (let i = 0; i < ids.length; i += size) out.push(ids.slice(i, i + size));
  return out;
}
