// The leads list's days filter (src/leadFilters.js) and the dashboard's bars that link to it (src/dashboard.js):
// a day in the URL, its midnights (in the browser's zone) in the API query. `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanDay, createdWords, dayBounds, filtersFromQuery, filtersToApiQuery, filtersToQuery } from '../src/leadFilters.js';
import { LEADS_HREF, leadsDayHref } from '../src/dashboard.js';

test('a day bar links to the leads created that day, every one whatever its score', () => {
  assert.equal(leadsDayHref('2026-12-07'), '#/leads?createdFrom=2026-12-07&createdTo=2026-12-07&filtered=all');
  assert.equal(LEADS_HREF, '#/leads?filtered=all');
});

test('days come from the URL as real calendar days, anything else dropped', () => {
  const f = filtersFromQuery('createdFrom=2026-12-01&createdTo=2026-12-07');
  assert.deepEqual([f.createdFrom, f.createdTo], ['2026-12-01', '2026-12-07']);
  assert.equal(filtersToQuery(f), 'createdFrom=2026-12-01&createdTo=2026-12-07');
  assert.equal(cleanDay('2026-02-30'), '');
  assert.equal(cleanDay('yesterday'), '');
  assert.equal(filtersFromQuery('createdFrom=2026-13-01').createdFrom, '');
});

test('the API is asked for the days’ midnights in the browser’s zone, the last day included', () => {
  const bounds = dayBounds({ createdFrom: '2026-12-07', createdTo: '2026-12-07' });
  const from = new Date(bounds.createdFrom);
  const before = new Date(bounds.createdBefore);
  // Local midnights, whatever zone the test runs in: the start of the 7th and of the 8th.
  assert.deepEqual([from.getFullYear(), from.getMonth(), from.getDate(), from.getHours()], [2026, 11, 7, 0]);
  assert.deepEqual([before.getFullYear(), before.getMonth(), before.getDate(), before.getHours()], [2026, 11, 8, 0]);
  const query = new URLSearchParams(filtersToApiQuery(filtersFromQuery('createdFrom=2026-12-07&createdTo=2026-12-07')));
  assert.equal(query.get('createdFrom'), bounds.createdFrom);
  assert.equal(query.get('createdBefore'), bounds.createdBefore);
  assert.equal(query.get('createdTo'), null); // the URL's day, never sent as such
  assert.equal(new URLSearchParams(filtersToApiQuery(filtersFromQuery(''))).get('createdFrom'), null);
});

test('the days filter says itself in words', () => {
  assert.equal(createdWords({ createdFrom: '2026-12-07', createdTo: '2026-12-07' }, 'en-GB'), 'Created 7 Dec 2026');
  assert.equal(createdWords({ createdFrom: '2026-12-01', createdTo: '2026-12-07' }, 'en-GB').replace(/\s/g, ' '), 'Created 1 – 7 Dec 2026');
  assert.equal(createdWords({ createdFrom: '2026-12-01', createdTo: '' }, 'en-GB'), 'Created from 1 Dec 2026');
  assert.equal(createdWords({}, 'en-GB'), '');
});
