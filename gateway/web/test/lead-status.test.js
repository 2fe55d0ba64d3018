import assert from 'node:assert/strict';
import { test } from 'node:test';
import { finishedEnrichments, leadStatus } from '../src/leadStatus.js';

test('while enriching there is one status, whatever the lead, job and history say', () => {
  const lead = { status: 'processing' };
  assert.equal(leadStatus(lead, { status: 'running', attempts: 1, maxAttempts: 3 }).word, 'enriching');
  assert.equal(leadStatus(lead, { status: 'running', attempts: 1, maxAttempts: 3 }).detail, 'Enriching this lead… (attempt 1 of 3)');
  assert.equal(leadStatus(lead, { status: 'queued', attempts: 0, maxAttempts: 3 }).detail, 'Waiting for a worker to start.');
  const retry = leadStatus(lead, { status: 'queued', attempts: 1, maxAttempts: 3, error: 'provider timed out' });
  assert.equal(retry.detail, 'The last try did not work (provider timed out). Trying again: attempt 2 of 3.');
  assert.equal(retry.error, null);
  assert.deepEqual(finishedEnrichments([{ status: 'queued' }, { status: 'completed' }, { status: 'failed' }]).length, 2);
});

test('a failed enrichment has one message: the lead\'s, else the job\'s', () => {
  assert.equal(leadStatus({ status: 'failed', error: 'no such domain' }, { status: 'failed', error: 'no such domain' }).error, 'no such domain');
  assert.equal(leadStatus({ status: 'failed' }, { status: 'failed', error: 'boom' }).error, 'boom');
  assert.equal(leadStatus({ status: 'enriched' }, { status: 'completed' }).word, 'enriched');
});
