// The leads table's column choice and saved views: `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_COLUMNS,
  applyView,
  cleanColumns,
  currentView,
  readColumns,
  toggleColumn,
  viewBody,
  viewLabel,
  writeColumns,
} from '../src/leadViews.js';
import { DEFAULT_FILTERS } from '../src/leadFilters.js';

function memoryStorage() {
  const items = new Map();
  return { getItem: (k) => items.get(k) ?? null, setItem: (k, v) => items.set(k, String(v)) };
}

test('columns come out in table order, known ones only, Name always kept', () => {
  assert.deepEqual(cleanColumns(['score', 'email', 'bogus']), ['name', 'email', 'score']);
  assert.deepEqual(cleanColumns([]), DEFAULT_COLUMNS);
  assert.deepEqual(cleanColumns(['name']), DEFAULT_COLUMNS); // nothing but the fixed column: the defaults
  assert.deepEqual(cleanColumns('email'), DEFAULT_COLUMNS);
  assert.deepEqual(cleanColumns(null), DEFAULT_COLUMNS);
});

test('showing and hiding a column', () => {
  assert.deepEqual(toggleColumn(['name', 'email'], 'phone', true), ['name', 'email', 'phone']);
  assert.deepEqual(toggleColumn(['name', 'email', 'score'], 'email', false), ['name', 'score']);
  assert.deepEqual(toggleColumn(['name', 'email'], 'name', false), ['name', 'email']); // Name stays
  assert.deepEqual(toggleColumn(['name', 'email'], 'email', false), ['name', 'email']); // the last one stays
});

test('the column choice is remembered per user, and a bad stored value is the defaults', () => {
  const storage = memoryStorage();
  assert.deepEqual(readColumns(storage, 'u1'), DEFAULT_COLUMNS);
  writeColumns(storage, 'u1', ['name', 'phone']);
  assert.deepEqual(readColumns(storage, 'u1'), ['name', 'phone']);
  assert.deepEqual(readColumns(storage, 'u2'), DEFAULT_COLUMNS);
  storage.setItem('leadflood.leads.columns.u3', '{not json');
  assert.deepEqual(readColumns(storage, 'u3'), DEFAULT_COLUMNS);
  const refusing = { getItem: () => { throw new Error('denied'); }, setItem: () => { throw new Error('full'); } };
  assert.deepEqual(readColumns(refusing, 'u1'), DEFAULT_COLUMNS);
  writeColumns(refusing, 'u1', ['name']); // does not throw
});

test('a view saves the filters, sort and columns, and applying it gives them back', () => {
  const filters = { ...DEFAULT_FILTERS, status: 'new', q: ' acme ', sort: '-score' };
  const body = viewBody(' Hot ', filters, ['email', 'name']);
  assert.deepEqual(body, { name: 'Hot', filters: { status: 'new', q: 'acme' }, sort: '-score', columns: ['name', 'email'], shared: false });
  assert.deepEqual(applyView(body), { path: '/leads?status=new&q=acme&sort=-score', columns: ['name', 'email'] });
  assert.deepEqual(applyView({ filters: {}, sort: '-createdAt', columns: [] }), { path: '/leads', columns: DEFAULT_COLUMNS });
  // What the server keeps but this client does not know is left out, not sent on.
  assert.deepEqual(applyView({ filters: { status: 'bogus', colour: 'red' }, sort: 'nope', columns: ['name', 'email'] }).path, '/leads');
});

test('the view on screen is found by its filters, sort and columns', () => {
  const hot = { id: 'a', ...viewBody('Hot', { ...DEFAULT_FILTERS, status: 'new' }, DEFAULT_COLUMNS) };
  const slim = { id: 'b', ...viewBody('Slim', { ...DEFAULT_FILTERS, status: 'new' }, ['name', 'score']) };
  assert.equal(currentView([hot, slim], { ...DEFAULT_FILTERS, status: 'new' }, DEFAULT_COLUMNS)?.id, 'a');
  assert.equal(currentView([hot, slim], { ...DEFAULT_FILTERS, status: 'new' }, ['score', 'name'])?.id, 'b');
  assert.equal(currentView([hot, slim], DEFAULT_FILTERS, DEFAULT_COLUMNS), undefined);
});

test('a view is labelled with whose it is', () => {
  assert.equal(viewLabel({ name: 'Hot', mine: true, shared: false }), 'Hot');
  assert.equal(viewLabel({ name: 'Hot', mine: true, shared: true }), 'Hot (shared)');
  assert.equal(viewLabel({ name: 'Hot', mine: false, shared: true, ownerEmail: 'a@b.c' }), 'Hot (a@b.c)');
});
