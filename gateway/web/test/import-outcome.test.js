import assert from 'node:assert/strict';
import { test } from 'node:test';
import { importOutcome } from '../src/importOutcome.js';

test('an import whose every row failed says nothing was imported, not "finished"', () => {
  const all = importOutcome({ result: { created: 0, updated: 0, failed: 12, errors: [] } });
  assert.equal(all.title, 'Nothing imported');
  assert.equal(all.summary, 'No lead was imported: all 12 rows had errors.');
  assert.equal(importOutcome({ result: { created: 0, updated: 0, failed: 1 } }).summary, 'No lead was imported: its only row had an error.');
  assert.equal(importOutcome({ result: { created: 0, updated: 0, failed: 0 } }).summary, 'No lead was imported: the file had no rows.');
});

test('a partial import says how many went in and how many were skipped', () => {
  const some = importOutcome({ result: { created: 20, updated: 10, failed: 2 } });
  assert.equal(some.title, 'Import finished with errors');
  assert.equal(some.summary, '30 leads imported (20 new, 10 updated); 2 rows had errors and were skipped.');
  const whole = importOutcome({ result: { created: 1, updated: 0, failed: 0 } });
  assert.deepEqual([whole.title, whole.summary], ['Import finished', '1 lead imported (1 new, 0 updated).']);
});

test('a failed or cancelled import keeps its title', () => {
  assert.equal(importOutcome({ error: new Error('x') }).title, 'Import failed');
  assert.equal(importOutcome({ cancelled: true }).title, 'Import cancelled');
});
