// Pure: a lead's sales activity shaped and said (its enrollments, conversations and call tasks); no DOM, no
// requests (those are activity.js's). Unit-tested in test/lead-activity.test.js.

const at = (iso) => (iso ? new Date(iso).getTime() : 0);

/** A sort, newest first by the ISO time in `key`. */
export const newestFirst = (key) => (a, b) => at(b[key]) - at(a[key]);

/** Enrollments with their sequence (`sequence`: { id, name, state, steps }, null when not found), newest first. */
export function withSequences(enrollments, sequences) {
  const byId = new Map(sequences.map((s) => [s.id, s]));
  return enrollments.map((e) => ({ ...e, sequence: byId.get(e.sequenceId) || null })).sort(newestFirst('createdAt'));
}

/** The tasks of this lead only, newest first. */
export function ownTasks(tasks, leadId) {
  return tasks.filter((t) => t.leadId === leadId).sort(newestFirst('createdAt'));
}

/** Whether a live event is about this lead (a message to or from it, a step sent, an enrollment stopped...). */
export function namesLead(event, leadId) {
  const data = event?.data || {};
  return data.leadId === leadId || data.message?.leadId === leadId;
}

/** The text with its first letter capital: a stop reason ("the lead replied") said as a line of its own. */
export const sentence = (text) => (text ? text.charAt(0).toUpperCase() + text.slice(1) : '');

/** Where an enrollment stands among its sequence's steps: "step 2 of 3", or "3 of 3 steps done" once it ended. */
export function stepWords(enrollment) {
  const steps = enrollment.sequence?.steps?.length || 0;
  const of = steps ? ` of ${steps}` : '';
  if (enrollment.currentStep) return `step ${enrollment.currentStep}${of}`;
  const done = Number(enrollment.stepsDone) || 0;
  return `${done}${of} ${steps === 1 || (!steps && done === 1) ? 'step' : 'steps'} done`;
}

/** A conversation's name: its subject; texts have none. */
export function threadWords(thread) {
  if (thread.subject) return thread.subject;
  return thread.channel === 'sms' ? 'Text messages' : 'Conversation';
}

/** Who wrote the last message, before its first words: the lead, or the team (the mailbox or number). */
export function lastMessageWords(thread) {
  const theirs = thread.leadAddress && String(thread.lastFrom || '').toLowerCase() === thread.leadAddress.toLowerCase();
  const who = theirs ? 'They wrote' : 'You wrote';
  return thread.snippet ? `${who}: ${thread.snippet}` : who;
}

/** Who asked for a call: a sequence's call step (by its name when known) or a lead run. */
export function taskOriginWords(task, sequences = []) {
  if (task.sequenceId) {
    const name = sequences.find((s) => s.id === task.sequenceId)?.name;
    return name ? `from the sequence ${name}` : 'from a sequence';
  }
  return task.runId ? 'from a lead run' : '';
}
