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
  EMPTY_FORM,
} from '../src/pages/runs/model.js';

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
  });
  const plan = { channels: { email: 'draft', sms: true, call: false }, calendar: { enabled: true, provider: 'google', durationMinutes: 30 } };
  assert.equal(runPlan(plan), 'email drafts · SMS · meeting (google, 30 min)');
  assert.equal(runPlan({ channels: { email: 'off' }, calendar: {} }), 'no actions');
});
