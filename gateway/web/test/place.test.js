// The leads list's place, kept while the user looks at a lead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backPath, forgetPlaces, keepPlace, placeOf, refreshLimit } from '../src/listPlace.js';

test('a list keeps its rows, scroll and path by its query; Back finds them', () => {
  forgetPlaces();
  assert.equal(backPath('/leads'), '/leads');
  keepPlace('status=new&limit=50', { items: [{ id: 'a' }], nextCursor: 'c1' });
  keepPlace('status=new&limit=50', { scrollY: 1200, path: '/leads?status=new' });
  assert.deepEqual(placeOf('status=new&limit=50'), { items: [{ id: 'a' }], nextCursor: 'c1', scrollY: 1200, path: '/leads?status=new' });
  assert.equal(placeOf('status=failed&limit=50'), null); // another filter is another place
  assert.equal(backPath('/leads'), '/leads?status=new');
  forgetPlaces();
  assert.equal(placeOf('status=new&limit=50'), null);
});

test('the rows loaded come back in one request: at least a page, at most what the API gives', () => {
  assert.equal(refreshLimit(0), 50);
  assert.equal(refreshLimit(200), 200);
  assert.equal(refreshLimit(900), 500);
});

test('a header click sorts by its column; a second click turns the order round', async () => {
  const { headerSort, headerSortState } = await import('../src/leadFilters.js');
  assert.equal(headerSort('-createdAt', 'score'), '-score'); // the highest first
  assert.equal(headerSort('-score', 'score'), 'score');
  assert.equal(headerSort('score', 'score'), '-score');
  assert.equal(headerSort('-score', 'name'), 'lastName'); // A-Z first
  assert.equal(headerSort('lastName', 'name'), '-lastName');
  assert.equal(headerSort('-score', 'email'), '-score'); // not a sortable column
  assert.equal(headerSortState('-score', 'score'), 'descending');
  assert.equal(headerSortState('lastName', 'name'), 'ascending');
  assert.equal(headerSortState('lastName', 'score'), 'none');
  assert.equal(headerSortState('lastName', 'email'), undefined);
});
