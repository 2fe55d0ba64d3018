// `/` to search, not while typing: `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSearchShortcut, isTyping } from '../src/keys.js';

const el = (tagName, extra = {}) => ({ tagName, getAttribute: (name) => extra[name] ?? null, ...extra });
const key = (k, target, mods = {}) => ({ key: k, target, ctrlKey: false, metaKey: false, altKey: false, defaultPrevented: false, ...mods });

test('typing in a field, a text area or an editable region is not a shortcut; a list box is not typing', () => {
  for (const tag of ['INPUT', 'TEXTAREA']) assert.equal(isTyping(el(tag)), true);
  assert.equal(isTyping(el('SELECT')), false);
  for (const type of ['text', 'search', 'number', 'email']) assert.equal(isTyping(el('INPUT', { type })), true);
  for (const type of ['checkbox', 'file', 'radio', 'button']) assert.equal(isTyping(el('INPUT', { type })), false);
  assert.equal(isTyping(el('DIV', { isContentEditable: true })), true);
  assert.equal(isTyping(el('DIV', { role: 'textbox' })), true);
  assert.equal(isTyping(el('BUTTON')), false);
  assert.equal(isTyping(el('BODY')), false);
  assert.equal(isTyping(null), false);
});

test('/ on the page is the search shortcut, with no modifier and not already taken', () => {
  assert.equal(isSearchShortcut(key('/', el('BODY'))), true);
  assert.equal(isSearchShortcut(key('/', el('A'))), true);
  assert.equal(isSearchShortcut(key('/', el('INPUT'))), false);
  assert.equal(isSearchShortcut(key('/', el('SELECT'))), true); // a filter's list box: on to the search box
  assert.equal(isSearchShortcut(key('/', el('TEXTAREA'))), false);
  assert.equal(isSearchShortcut(key('/', el('BODY'), { ctrlKey: true })), false);
  assert.equal(isSearchShortcut(key('/', el('BODY'), { metaKey: true })), false);
  assert.equal(isSearchShortcut(key('/', el('BODY'), { defaultPrevented: true })), false);
  assert.equal(isSearchShortcut(key('?', el('BODY'))), false);
});
