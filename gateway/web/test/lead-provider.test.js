// A lead's fields and the provider's values in words, and what linking leads to an ICP did (#18).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appliedWords, leadFieldWords, leadValueWords, seniorityWords, sizeWords, sourceWords } from '../src/words.js';
import { bulkWords } from '../src/leadBulk.js';
import { changedFields } from '../src/pages/lead/LeadEditForm.js';

test('seniorities are words, not codes', () => {
  assert.equal(seniorityWords('vp'), 'VP');
  assert.equal(seniorityWords('c_suite'), 'C-suite');
  assert.equal(seniorityWords('VP'), 'VP');
  assert.equal(seniorityWords('board_member'), 'Board member'); // a provider's own code, still in words
  assert.equal(seniorityWords(''), '');
  assert.equal(leadValueWords('seniority', 'head'), 'Head');
});

test('a company size is a headcount or a range of employees', () => {
  assert.equal(sizeWords(120), '120 employees');
  assert.equal(sizeWords(1), '1 employee');
  assert.equal(sizeWords(51, 200), '51–200 employees');
  assert.equal(sizeWords(1001, 5000), '1,001–5,000 employees');
  assert.equal(sizeWords('51-200'), '51–200 employees');
  assert.equal(sizeWords('250'), '250 employees');
  assert.equal(sizeWords(null, null), '');
  assert.equal(leadValueWords('companySize', '11-50'), '11–50 employees');
});

test('fields and sources are named as a user would', () => {
  assert.equal(leadFieldWords('linkedinUrl'), 'LinkedIn');
  assert.equal(leadFieldWords('companySize'), 'Company size');
  assert.equal(leadFieldWords('somethingNew'), 'Something new');
  assert.equal(sourceWords('manual'), 'Added by hand');
  assert.equal(sourceWords('import'), 'Imported from a file');
  assert.equal(sourceWords('sandbox'), 'Search (sandbox)');
  assert.equal(leadValueWords('emailStatus', 'accept_all'), 'Accept all');
});

test('applying says what changed, the score before and after, and the hand edits kept', () => {
  assert.equal(appliedWords(['seniority'], [], 30, 50), 'Applied seniority. Score 30 → 50.');
  assert.equal(
    appliedWords(['industry', 'linkedinUrl', 'companySize'], ['location'], 40, 40),
    'Applied industry, LinkedIn and company size. Score unchanged at 40. Kept your edit of location.',
  );
  assert.equal(appliedWords([], ['title', 'location']), 'Nothing to apply: the lead already holds those values. Kept your edits of title and location.');
});

test('linking a selection to an ICP is said in words', () => {
  const base = { scored: 0, filtered: 0, notFound: 0, notLinked: 0, icpDeleted: 0 };
  assert.equal(bulkWords('score', { ...base, scored: 3, icpName: 'VP Sales' }), '3 leads linked to VP Sales and scored');
  assert.equal(
    bulkWords('score', { ...base, scored: 1, filtered: 1, notLinked: 2, icpDeleted: 1, notFound: 1 }),
    '1 lead scored again, 1 under the ICP’s minimum score (shown with filtered leads), 2 not linked to an ICP, 1 whose ICP was deleted, 1 not found',
  );
});

test('the edit form sends a company size as a number, and a cleared one as 0', () => {
  const lead = { companySize: 120, seniority: 'vp', location: '' };
  assert.deepEqual(changedFields(lead, { ...lead, companySize: '250' }), { companySize: 250 });
  assert.deepEqual(changedFields(lead, { ...lead, companySize: '' }), { companySize: 0 });
  assert.deepEqual(changedFields(lead, { ...lead, seniority: 'head', location: 'Berlin' }), { seniority: 'head', location: 'Berlin' });
});
