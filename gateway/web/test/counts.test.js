// Every list's total in words, and the lists' URLs with their paging: `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countWords, withParams } from '../src/counts.js';

test('a total reads as a number of things, capped with a +', () => {
  assert.equal(countWords(1234, false, 'run', 'runs'), '1,234 runs');
  assert.equal(countWords(1, false, 'suppressed address', 'suppressed addresses'), '1 suppressed address');
  assert.equal(countWords(0, false, 'task', 'tasks'), '0 tasks');
  assert.equal(countWords(10000, true, 'entry', 'entries'), '10,000+ entries');
  assert.equal(countWords(null, false, 'run', 'runs'), '');
  assert.equal(countWords(undefined, true, 'run', 'runs'), '');
});

test('paging parameters join a list URL, its own filters kept', () => {
  assert.equal(withParams('/v1/tasks?state=done', { limit: 50 }), '/v1/tasks?state=done&limit=50');
  assert.equal(withParams('/v1/lead-runs', { limit: 50, cursor: 'a b' }), '/v1/lead-runs?limit=50&cursor=a+b');
  assert.equal(withParams('/v1/suppressions', { q: '' }), '/v1/suppressions'); // an empty filter is left out
  assert.equal(withParams('/v1/audit-log?before=9', { before: 4 }), '/v1/audit-log?before=4');
});
