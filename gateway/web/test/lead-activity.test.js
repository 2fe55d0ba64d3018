import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  lastMessageWords,
  namesLead,
  sentence,
  ownTasks,
  stepWords,
  taskOriginWords,
  threadWords,
  withSequences,
} from '../src/pages/lead/activityWords.js';
import { timeZoneWords } from '../src/words.js';

const sequences = [
  { id: 's1', name: 'Welcome', state: 'active', steps: [{}, {}, {}] },
  { id: 's2', name: 'Old', state: 'archived', steps: [{}] },
];

test('enrollments carry their sequence, newest first, and say their step', () => {
  const listed = withSequences(
    [
      { id: 'e1', sequenceId: 's2', createdAt: '2026-01-01T00:00:00Z', stepsDone: 1 },
      { id: 'e2', sequenceId: 's1', createdAt: '2026-02-01T00:00:00Z', currentStep: 2, stepsDone: 1 },
      { id: 'e3', sequenceId: 'gone', createdAt: '2025-12-01T00:00:00Z', stepsDone: 0 },
    ],
    sequences,
  );
  assert.deepEqual(listed.map((e) => [e.id, e.sequence?.name ?? null]), [['e2', 'Welcome'], ['e1', 'Old'], ['e3', null]]);
  assert.equal(stepWords(listed[0]), 'step 2 of 3');
  assert.equal(stepWords(listed[1]), '1 of 1 step done');
  assert.equal(stepWords(listed[2]), '0 steps done'); // its sequence is unknown: no "of"
  assert.equal(sentence('the lead replied'), 'The lead replied');
  assert.equal(sentence(''), '');
});

test('only the lead\'s own tasks are kept, and each says who asked for the call', () => {
  const tasks = [
    { id: 't1', leadId: 'L', sequenceId: 's1', createdAt: '2026-01-01T00:00:00Z' },
    { id: 't2', leadId: 'other', runId: 'r', createdAt: '2026-03-01T00:00:00Z' },
    { id: 't3', leadId: 'L', runId: 'r', createdAt: '2026-02-01T00:00:00Z' },
  ];
  assert.deepEqual(ownTasks(tasks, 'L').map((t) => t.id), ['t3', 't1']);
  assert.equal(taskOriginWords(tasks[0], sequences), 'from the sequence Welcome');
  assert.equal(taskOriginWords({ sequenceId: 'gone' }, sequences), 'from a sequence');
  assert.equal(taskOriginWords(tasks[2]), 'from a lead run');
});

test('a conversation is named by its subject, and its last message by who wrote it', () => {
  assert.equal(threadWords({ subject: 'Tuesday?' }), 'Tuesday?');
  assert.equal(threadWords({ subject: '', channel: 'sms' }), 'Text messages');
  const thread = { leadAddress: 'Ada@X.io', snippet: 'Yes, Tuesday.' };
  assert.equal(lastMessageWords({ ...thread, lastFrom: 'ada@x.io' }), 'They wrote: Yes, Tuesday.');
  assert.equal(lastMessageWords({ ...thread, lastFrom: 'sales@us.io' }), 'You wrote: Yes, Tuesday.');
});

test('live events about the lead are told from others', () => {
  assert.equal(namesLead({ data: { leadId: 'L' } }, 'L'), true); // a step sent, an enrollment stopped, a reply
  assert.equal(namesLead({ data: { message: { leadId: 'L' } } }, 'L'), true); // a message sent, bounced
  assert.equal(namesLead({ data: { leadId: 'M' } }, 'L'), false);
  assert.equal(namesLead({}, 'L'), false);
});

test('a lead\'s time zone says what is true when there is none', () => {
  assert.equal(timeZoneWords({ timeZone: 'Europe/Berlin', timeZoneSource: 'location' }), 'Europe/Berlin (from the location)');
  assert.equal(timeZoneWords({ timeZone: 'Asia/Tokyo', timeZoneSource: 'manual' }), 'Asia/Tokyo');
  assert.equal(timeZoneWords({ location: '' }), 'Not known (no location): sequences send in their own time zone');
  assert.equal(
    timeZoneWords({ location: 'United States' }),
    'Not known: “United States” names no single time zone, so sequences send in their own',
  );
  assert.doesNotMatch(timeZoneWords({}), /org/);
});
