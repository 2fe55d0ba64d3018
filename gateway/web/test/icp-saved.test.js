import assert from 'node:assert/strict';
import { test } from 'node:test';
import { savedWords, scoringChanged } from '../src/pages/icp/saved.js';

const icp = { name: 'VP Sales', titles: ['VP Sales'], seniorities: ['vp'], industries: [], locations: [], keywords: [],
  companySizeMin: 50, companySizeMax: null, minScore: 40, weights: { title: 30, seniority: 20 } };

test('a new minimum says which leads it hid and showed again', () => {
  assert.deepEqual(savedWords(icp, { ...icp, minScore: 60, leadsHidden: 12, leadsShown: 0 }), [
    'Minimum score 40 → 60: this ICP’s leads scoring under 60 are hidden from the leads list (12 leads hidden).',
  ]);
  assert.match(savedWords(icp, { ...icp, minScore: 30, leadsHidden: 0, leadsShown: 1 })[0], /\(1 lead shown again\)\.$/);
  assert.match(savedWords(icp, { ...icp, minScore: 45, leadsHidden: 0, leadsShown: 0 })[0], /\(none changed\)\.$/);
});

test('other rules say the scores wait to be scored again; a name alone says nothing', () => {
  assert.equal(scoringChanged(icp, { ...icp, name: 'Another', minScore: 90 }), false);
  assert.deepEqual(savedWords(icp, { ...icp, name: 'Another' }), []);
  const weights = savedWords(icp, { ...icp, weights: { title: 40, seniority: 10 } });
  assert.equal(weights.length, 1);
  assert.match(weights[0], /keep the scores they have/);
  assert.equal(savedWords(icp, { ...icp, titles: ['CTO'], minScore: 50 }).length, 2);
  assert.deepEqual(savedWords(null, icp), []); // a new ICP has no leads yet
});
