// htm drops whitespace that holds a line break at either end of a text run: "with" at a line's end, then
// `<strong>` or `${...}` on the next line, reads "withvera@example.com". `npm test` checks every page's source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const SRC = new URL('../src/', import.meta.url).pathname;

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.js') ? [path] : [];
  });
}

// A line ending in a word or a sentence's punctuation (text, not code: no `{ ( , ; =` or a tag's `>`) ...
const TEXT_END = /[\p{L}\p{N}.:!?’”)]$/u;
// ... followed by a line starting an element or an interpolation ...
const NEXT_TAG = /^(<[a-zA-Z$]|\$\{)/;
// ... unless the interpolation brings its own leading space (`${x && ' more'}`, `${x ? html` <b>…`).
const OWN_SPACE = /^\$\{[^'"`]*['"`] /;
// The other way round: an element closing at a line's end, then text on the next line ("</strong>" ⏎ "with").
const TAG_END = /(<\/[a-zA-Z0-9$]+>|\/>)$/;
const NEXT_TEXT = /^[\p{L}\p{N}(“‘]/u;
// Code, not text: a line of JavaScript that happens to end in a word.
const CODE = /^(\/\/|\*|\/\*|import |export |const |let |return\b|if \(|for \(|await |throw |case |default:)/;

test('no text run meets an element or an interpolation across a line break', () => {
  const found = [];
  for (const file of sources(SRC)) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      const text = line.trim();
      const next = (lines[i + 1] || '').trim();
      const glued = TEXT_END.test(text) && NEXT_TAG.test(next) && !OWN_SPACE.test(next);
      const gluedAfter = TAG_END.test(text) && NEXT_TEXT.test(next) && !CODE.test(next);
      if (!text || CODE.test(text) || !(glued || gluedAfter)) return;
      found.push(`${file.slice(SRC.length)}:${i + 1}: …${text.slice(-40)} ⏎ ${next.slice(0, 40)}`);
    });
  }
  assert.deepEqual(found, [], 'put the next element on the same line, or its space inside it');
});
