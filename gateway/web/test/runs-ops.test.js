// The lead-run pages' pure rules (src/pages/runs/model.js): `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatLatency,
  formatSeconds,
  gauge,
  isHttpsLink,
  outcomeChip,
  runBody,
  runPlan,
  runProgress,
  runTitle,
  shortOfLimit,
  formatCount,
  receiptKind,
  canTryAgain,
  EMPTY_FORM,
} from '../src/pages/runs/model.js';
import { countWords, RATE_BASIS } from '../src/dashboard.js';

test('a run settles leads done or failed of those sourced; completed is full', () => {
  const running = { state: 'running', progress: { total: 8, done: 3, failed: 1 } };
  assert.deepEqual(runProgress(running), { settled: 4, total: 8, percent: 50, caption: '4 of 8 leads (1 failed)' });
  assert.equal(runProgress({ state: 'running', progress: { total: 0 } }).caption, 'Sourcing leads…');
  assert.equal(runProgress({ state: 'created', progress: {} }).caption, 'Not started');
  assert.equal(runProgress({ state: 'completed', progress: { total: 0 } }).percent, 100);
  assert.equal(runProgress({ state: 'failed', progress: { total: 0 } }).caption, 'No leads');
  assert.equal(runProgress({ state: 'running', progress: { total: 3, done: 2 } }).percent, 66); // floored: never 100 early
});

test('gauges say how full and whether at the limit', () => {
  assert.deepEqual(gauge(3, 3), { current: 3, max: 3, percent: 100, full: true });
  assert.deepEqual(gauge(1, 4), { current: 1, max: 4, percent: 25, full: false });
  assert.equal(gauge(5, 0).full, false);
});

test('durations read short', () => {
  assert.equal(formatSeconds(0.42), '0.4 s');
  assert.equal(formatSeconds(42.4), '42 s');
  assert.equal(formatSeconds(75), '1 min 15 s');
  assert.equal(formatSeconds(120), '2 min');
  assert.equal(formatSeconds(7300), '2 h 1 min');
  assert.equal(formatSeconds(-1), '—');
  assert.equal(formatLatency(850), '850 ms');
  assert.equal(formatLatency(1530), '1.5 s');
  assert.equal(formatLatency(0), '—');
});

test('only an https target is a link', () => {
  assert.ok(isHttpsLink('https://calendar.example.com/e/1'));
  assert.ok(!isHttpsLink('http://calendar.example.com/e/1'));
  assert.ok(!isHttpsLink('javascript:alert(1)'));
  assert.ok(!isHttpsLink('<msg-1@acme>'));
  assert.ok(!isHttpsLink(null));
});

test('outcomes become chips', () => {
  assert.deepEqual(outcomeChip('meeting:booked'), { kind: 'meeting', status: 'booked', label: 'meeting booked', tone: 'success' });
  assert.equal(outcomeChip('meeting:no_slot').label, 'meeting no slot');
  assert.equal(outcomeChip('call_task:failed').tone, 'danger');
});

test('the form becomes the API body, numbers as numbers and a bad one as typed', () => {
  const body = runBody({ ...EMPTY_FORM, icpId: 'i1', limit: '7', calendar: true, provider: 'google', windowDays: 'x', dryRun: true });
  assert.deepEqual(body, {
    icpId: 'i1',
    limit: 7,
    dryRun: true,
    channels: { email: 'send', sms: false, call: false },
    calendar: { enabled: true, provider: 'google', durationMinutes: 30, windowDays: 'x' },
    email: { subject: '', body: '' },
    recentContactDays: 30,
  });
  const plan = { channels: { email: 'draft', sms: true, call: false }, calendar: { enabled: true, provider: 'google', durationMinutes: 30 } };
  assert.equal(runPlan(plan), 'email drafts · SMS · meeting (google, 30 min)');
  assert.equal(runPlan({ channels: { email: 'off' }, calendar: {} }), 'no actions');
});

test('a sourced run short of its limit says how many it found and why; a full one says nothing', () => {
  const short = { limit: 8, sourcedAt: '2026-12-07T11:00:00Z', progress: { total: 5, skipped: 2 } };
  assert.equal(
    shortOfLimit(short, 'en-US'),
    "Found 5 of the 8 leads asked for: the source had no more scoring at or over the ICP's minimum (2 skipped as already in touch).",
  );
  assert.equal(shortOfLimit({ ...short, progress: { total: 8 } }, 'en-US'), null);
  assert.equal(shortOfLimit({ ...short, sourcedAt: null }, 'en-US'), null); // not sourced yet: nothing to say
});

test('counts are written in the reader\'s locale, runs named by their ICP and time, skips in words', () => {
  assert.equal(formatCount(10000, 'en-US'), '10,000');
  assert.equal(formatCount(10000, 'de-DE'), '10.000');
  // "97 of 10000" no more: the caption's numbers are the reader's own ("97 of 10,000").
  assert.equal(runProgress({ state: 'running', progress: { total: 10000, done: 97 } }).caption, `97 of ${formatCount(10000)} leads`);
  assert.notEqual(formatCount(10000), '10000');
  assert.match(runTitle({ createdAt: '2026-12-07T11:40:00Z' }, 'Fintech CFOs', 'en-GB'), /^Fintech CFOs · 7 Dec 2026, \d\d:\d\d:\d\d$/); // to the second: two runs started in a minute differ
  assert.equal(receiptKind('contact_check'), 'Already in touch');
  assert.equal(countWords(1, 'dead letter', 'dead letters', 'en-US'), '1 dead letter');
  assert.equal(countWords(1200, 'dead letter', 'dead letters', 'en-US'), '1,200 dead letters');
  assert.equal(RATE_BASIS, 'replies ÷ emails sent');
});

test('a lead is offered Try again when it failed or an action of it failed as it last ended', () => {
  assert.equal(canTryAgain({ status: 'failed', outcomes: [] }), true);
  assert.equal(canTryAgain({ status: 'done', outcomes: ['call_task:created', 'email:failed'] }), true);
  assert.equal(canTryAgain({ status: 'done', outcomes: ['call_task:created', 'email:sent'] }), false);
  assert.equal(canTryAgain({ status: 'skipped', outcomes: ['contact_check:skipped'] }), false);
  assert.equal(canTryAgain({ status: 'running', outcomes: ['email:failed'] }), false);
});
