// Providers not set up are shown so, not offered: `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anyNotSetUp, providerOptions } from '../src/providers.js';

const SOURCES = [
  { value: 'sandbox', label: 'Sandbox (demo data)' },
  { value: 'apollo', label: 'Apollo' },
];
const keys = (providers) => ({ providers, unavailable: [] });

test('a provider whose key is not set is disabled and labelled with the setting to set', () => {
  const shown = providerOptions(SOURCES, keys([{ name: 'apollo', configured: false, settings: ['APOLLO_API_KEY'] }]));
  assert.deepEqual(shown[0], SOURCES[0]); // the sandbox needs no key
  assert.deepEqual(shown[1], { value: 'apollo', label: 'Apollo (not set up: APOLLO_API_KEY)', disabled: true });
  assert.equal(anyNotSetUp(shown), true);
});

test('a provider set up, missing from the answer, or an answer not in yet stays offered', () => {
  assert.deepEqual(providerOptions(SOURCES, keys([{ name: 'apollo', configured: true, settings: ['APOLLO_API_KEY'] }])), SOURCES);
  assert.deepEqual(providerOptions(SOURCES, keys([])), SOURCES); // its service did not answer: the server still decides
  assert.deepEqual(providerOptions(SOURCES, null), SOURCES);
  assert.equal(anyNotSetUp(SOURCES), false);
});

test("an option's value maps to its provider's name", () => {
  const calendars = [{ value: 'sandbox', label: 'Sandbox' }, { value: 'google', label: 'Google Calendar' }];
  const answer = keys([{ name: 'google_calendar', configured: false, settings: ['GOOGLE_CALENDAR_ACCESS_TOKEN'] }]);
  const shown = providerOptions(calendars, answer, { google: 'google_calendar' });
  assert.equal(shown[1].label, 'Google Calendar (not set up: GOOGLE_CALENDAR_ACCESS_TOKEN)');
  assert.equal(shown[1].disabled, true);
});
