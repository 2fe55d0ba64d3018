import test from 'node:test';
import assert from 'node:assert/strict';
import { messagesHref, percent, shortDay, windowDays } from '../src/dashboard.js';
import { barHeight, highestWords } from '../src/components/BarChart.js';

test('a reply rate reads as a percentage, and nothing sent as a dash', () => {
  assert.equal(percent(0.1234), '12%');
  assert.equal(percent(0.0412), '4.1%');
  assert.equal(percent(0), '0.0%');
  assert.equal(percent(null), '—');
});

test('a figure links to its list: the category, the window and the day', () => {
  assert.equal(messagesHref('sent', 14), '#/inbox/messages?category=sent&days=14');
  assert.equal(messagesHref('bounced', 7, '2026-12-07'), '#/inbox/messages?category=bounced&days=7&day=2026-12-07');
});

test('a day label is the calendar date, whatever the zone', () => {
  assert.equal(shortDay('2026-12-07', 'en-GB'), '7 Dec');
});

test('the window comes from the URL, one of the offered ones', () => {
  assert.equal(windowDays(new URLSearchParams('days=30')), 30);
  assert.equal(windowDays(new URLSearchParams('days=31')), 14);
  assert.equal(windowDays(new URLSearchParams('')), 14);
});

test('bars scale to the highest, and a small non-zero one is still seen', () => {
  assert.equal(barHeight(0, 10), 0);
  assert.equal(barHeight(10, 10), 110);
  assert.equal(barHeight(1, 1000), 2);
});

test('an empty chart says no "highest"; one with bars says the highest', () => {
  const series = [{ key: 'sent' }, { key: 'replied' }];
  const day = (sent, replied) => ({ values: { sent, replied } });
  assert.equal(highestWords(series, [day(0, 0), day(0, 0)]), '');
  assert.equal(highestWords(series, []), '');
  assert.equal(highestWords(series, [day(3, 1), day(1200, 0)]), 'highest: 1,200');
});
