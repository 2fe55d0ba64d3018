// A lead's sales activity, read from the lists the rest of the app reads, each asked for this lead only: its
// enrollments (every sequence's), its conversations and its open call tasks. Shaped and said in activityWords.js.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { useLiveRefresh } from '../../live.js';
import { readAll } from '../../pagedList.js';
import { namesLead, newestFirst, ownTasks, withSequences } from './activityWords.js';

const SEQUENCES_AT_ONCE = 4;

/** Every sequence of the org, archived ones too: an enrollment outlives its sequence's archiving. */
async function allSequences() {
  const [kept, archived] = await Promise.all([
    readAll('/v1/sequences', { items: 'sequences' }),
    readAll('/v1/sequences?state=archived', { items: 'sequences' }),
  ]);
  return [...kept, ...archived];
}

/** `work(item)` for each item, a few at a time; resolves to the answers in the items' order. */
async function eachFew(items, work, few = SEQUENCES_AT_ONCE) {
  const answers = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      answers[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(few, items.length) }, worker));
  return answers;
}

/**
 * The lead's enrollments, newest first, each with its sequence. The enrollments list takes a lead only within one
 * sequence (GET /v1/sequences/{id}/enrollments?leadId=), so each sequence is asked.
 */
async function leadEnrollments(leadId, sequences) {
  const pages = await eachFew(sequences, (sequence) =>
    api.get(`/v1/sequences/${encodeURIComponent(sequence.id)}/enrollments?${new URLSearchParams({ leadId, limit: '50' })}`),
  );
  return withSequences(pages.map((page) => page?.enrollments || []).flat(), sequences);
}

/** The lead's conversations (archived ones too, marked so), newest message first. */
async function leadThreads(leadId) {
  const [kept, archived] = await Promise.all(
    ['all', 'archived'].map((filter) => readAll(`/v1/inbox/threads?${new URLSearchParams({ leadId, filter })}`, { items: 'threads' })),
  );
  return [...kept, ...archived].sort(newestFirst('lastMessageAt'));
}

/**
 * The lead's open call tasks, newest first. Kept to the lead here too: until the task list takes `leadId`
 * (asked of the sequences service's owners), the server answers every open task and they are read to the end.
 */
async function leadTasks(leadId) {
  const tasks = await readAll(`/v1/tasks?${new URLSearchParams({ state: 'open', leadId })}`, { items: 'tasks' });
  return ownTasks(tasks, leadId);
}

/**
 * { enrollments, threads, tasks, errors: { enrollments, threads, tasks }, sequences } for the lead: each part
 * null until first read, kept through a failed read (its error beside it); read again when a live event names the
 * lead. The sequences are read once (their names and steps), the lead's parts on every reload.
 */
export function useLeadActivity(leadId) {
  const sequences = useLoad(allSequences, []);
  const [state, setState] = useState({ enrollments: null, threads: null, tasks: null, errors: {} });
  const current = useRef(state);
  current.current = state;

  const sequencesRead = Boolean(sequences.data || sequences.error);

  const reload = useCallback(async () => {
    if (!sequencesRead) return; // once, with the sequences (the conversations and calls do not wait on a failure)
    const reading = { threads: leadThreads(leadId), tasks: leadTasks(leadId) };
    if (sequences.data) reading.enrollments = leadEnrollments(leadId, sequences.data);
    const results = await Promise.allSettled(Object.values(reading));
    const next = { ...current.current, errors: {} };
    Object.keys(reading).forEach((key, i) => {
      if (results[i].status === 'fulfilled') next[key] = results[i].value;
      else next.errors[key] = results[i].reason;
    });
    setState(next);
  }, [leadId, sequences.data, sequencesRead]);

  useEffect(() => {
    reload();
  }, [reload]);
  useLiveRefresh(reload, { match: (e) => namesLead(e, leadId), active: sequencesRead });

  const errors = { ...state.errors, enrollments: state.errors.enrollments || sequences.error };
  return { ...state, errors, sequences: sequences.data || [] };
}
