// How the inbox and the suppression list read: `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { messageCount, shownText, threadWho } from '../src/pages/inbox/words.js';
import { suppressionReason } from '../src/pages/settings/suppressionReasons.js';

test('a conversation is listed by its lead\'s name, by email as by text, its address or number beside it', () => {
  const names = { l1: 'Dana Kim', l2: 'Leo Ito' };
  assert.deepEqual(threadWho({ leadId: 'l1', channel: 'email', leadAddress: 'dana@firstsystems.example' }, names),
    { name: 'Dana Kim', address: 'dana@firstsystems.example' });
  assert.deepEqual(threadWho({ leadId: 'l2', channel: 'sms', leadAddress: '+14155550100' }, names),
    { name: 'Leo Ito', address: '+14155550100' });
  // No lead, or one not (yet) found: the address alone, as the name.
  assert.deepEqual(threadWho({ leadId: 'l9', channel: 'email', leadAddress: 'x@y.example' }, names),
    { name: 'x@y.example', address: '' });
  assert.deepEqual(threadWho({ leadId: null, channel: 'email', leadAddress: null, lastFrom: 'p@q.example' }, names),
    { name: 'p@q.example', address: '' });
});

test('a conversation\'s size says what it counts', () => {
  assert.equal(messageCount(1), '1 message');
  assert.equal(messageCount(2), '2 messages');
  assert.equal(messageCount(1234), '1,234 messages');
});

test('a message with nothing to show is said to have no text', () => {
  assert.equal(shownText('Away until Monday.'), 'Away until Monday.');
  assert.equal(shownText(''), null);
  assert.equal(shownText(' \n '), null);
  assert.equal(shownText(undefined), null);
});

test('why an address is suppressed reads in words', () => {
  assert.equal(suppressionReason('by-hand'), 'Added by hand');
  assert.equal(suppressionReason('hard-bounced'), 'Hard bounce');
  assert.equal(suppressionReason('unsubscribed'), 'Unsubscribed');
  assert.equal(suppressionReason('complained'), 'Marked as spam');
  assert.equal(suppressionReason('undeliverable'), 'Number cannot take texts');
  assert.equal(suppressionReason('soft-bounced'), 'Soft bounced'); // one without words of its own, made readable
});
