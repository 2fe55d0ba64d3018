// The leads table's total and bulk actions in words; the selection's export in parts: `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bulkWords, csvRowCount, joinCsv, parts, selectionInOrder, totalWords } from '../src/leadBulk.js';

test('the total reads as a number of leads, capped with a +', () => {
  assert.equal(totalWords(1234, false), '1,234 leads');
  assert.equal(totalWords(1, false), '1 lead');
  assert.equal(totalWords(0, false), '0 leads');
  assert.equal(totalWords(10000, true), '10,000+ leads');
  assert.equal(totalWords(null, false), '');
});

test('bulk results in words', () => {
  assert.equal(bulkWords('delete', { deleted: 12, notFound: 0 }), '12 deleted');
  assert.equal(bulkWords('delete', { deleted: 2, notFound: 1 }), '2 deleted, 1 already gone');
  assert.equal(bulkWords('enrich', { started: 12, alreadyRunning: 3, notFound: 0 }), '12 enrichments started, 3 already being enriched');
  assert.equal(bulkWords('enrich', { started: 1, alreadyRunning: 0, notFound: 0 }), '1 enrichment started');
  assert.equal(
    bulkWords('enrich', { started: 2, alreadyRunning: 0, notFound: 0, refused: 1, refusedBecause: ['the lead needs an email'] }),
    '2 enrichments started, 1 not enriched (the lead needs an email)',
  );
  assert.equal(bulkWords('export', { exported: 3 }), '3 leads exported');
});

test('a selection is exported in table order, in parts, as one CSV', () => {
  assert.deepEqual(selectionInOrder([{ id: 'a' }, { id: 'b' }, { id: 'c' }], ['x', 'c', 'a']), ['a', 'c', 'x']);
  assert.deepEqual(parts([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
  assert.equal(joinCsv(['id,email\r\n1,a\r\n', 'id,email\r\n2,b\r\n']), 'id,email\r\n1,a\r\n2,b\r\n');
  assert.equal(joinCsv(['id\n1\n', 'id\n']), 'id\n1\n');
});

test('a CSV\'s rows are counted, not its quoted line breaks', () => {
  assert.equal(csvRowCount('id,title\r\n1,"VP\nSales"\r\n2,CEO\r\n'), 2);
  assert.equal(csvRowCount('id,title\n'), 0);
  assert.equal(csvRowCount('id\n1'), 1);
});
