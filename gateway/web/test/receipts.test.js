// A lead run's receipts in words (src/pages/runs/model.js): each status said once, ids for the Details fold, times
// as a span in the reader's locale and zone. `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSpan, receiptIds, receiptKind, receiptStatus } from '../src/pages/runs/model.js';

test('a status is said once, in words; a dry run says so once', () => {
  assert.deepEqual(receiptStatus({ status: 'simulated', simulated: true }), { words: 'simulated (dry run)', tone: 'neutral' });
  assert.deepEqual(receiptStatus({ status: 'no_slot', simulated: false }), { words: 'no free slot', tone: 'warn' });
  assert.equal(receiptStatus({ status: 'skipped', simulated: true }).words, 'skipped (dry run)');
  assert.equal(receiptStatus({ status: 'booked', simulated: false }).words, 'booked');
  assert.equal(receiptStatus({ status: 'something_new', simulated: false }).words, 'something new');
});

test('an action is named in words', () => {
  assert.equal(receiptKind('availability_email'), 'Availability request');
  assert.equal(receiptKind('call_task'), 'Call task');
  assert.equal(receiptKind('sms'), 'Text');
});

test("the ids fold under Details, named for what they are; a link is not an id", () => {
  assert.deepEqual(receiptIds({ id: 'r1', kind: 'email', target: 'm1' }), [['Message ID', 'm1'], ['Receipt ID', 'r1']]);
  assert.deepEqual(receiptIds({ id: 'r2', kind: 'call_task', target: 't1' }), [['Task ID', 't1'], ['Receipt ID', 'r2']]);
  assert.deepEqual(receiptIds({ id: 'r3', kind: 'meeting', target: 'https://calendar.example/e/1' }), [['Receipt ID', 'r3']]);
  assert.deepEqual(receiptIds({ id: 'r4', kind: 'meeting', target: null }), [['Receipt ID', 'r4']]);
});

// Intl writes thin and no-break spaces around the dash: compared as plain spaces.
const plain = (text) => text.replace(/\s/g, ' ');

test('a meeting reads in the reader’s zone, the day said once; nothing without both ends', () => {
  assert.equal(plain(formatSpan('2026-12-08T10:00:00Z', '2026-12-08T10:30:00Z', 'en-GB', 'Europe/Berlin')), '8 Dec 2026, 11:00–11:30');
  assert.equal(
    plain(formatSpan('2026-12-08T10:00:00Z', '2026-12-13T10:00:00Z', 'en-GB', 'UTC')),
    '8 Dec 2026, 10:00 – 13 Dec 2026, 10:00',
  );
  assert.ok(!/T\d\d:/.test(formatSpan('2026-12-08T10:00:00Z', '2026-12-08T10:30:00Z', 'en-US', 'UTC')));
  assert.equal(formatSpan('2026-12-08T10:00:00Z', null), null);
  assert.equal(formatSpan('not a time', '2026-12-08T10:30:00Z'), null);
});
