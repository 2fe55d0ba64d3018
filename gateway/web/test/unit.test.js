// Pure-logic checks that need no browser: `npm test` (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHash, matchRoute } from '../src/router.js';
import { problemToError, send, ApiError } from '../src/http.js';
import { humanize } from '../src/format.js';

test('parseHash splits path and query', () => {
  const r = parseHash('#/leads/a1?job=j9');
  assert.equal(r.path, '/leads/a1');
  assert.equal(r.query.get('job'), 'j9');
  assert.equal(parseHash('').path, '/');
});

test('matchRoute prefers earlier routes and decodes params', () => {
  const routes = [{ path: '/leads/new' }, { path: '/leads/:id' }];
  assert.equal(matchRoute(routes, '/leads/new').route.path, '/leads/new');
  assert.deepEqual(matchRoute(routes, '/leads/a%20b').params, { id: 'a b' });
  assert.equal(matchRoute(routes, '/nope'), null);
});

test('problem+json becomes an ApiError with normalized field errors', () => {
  const e = problemToError(422, 'Unprocessable', {
    title: 'Validation failed',
    status: 422,
    detail: 'Bad input',
    requestId: 'r-1',
    errors: [{ field: 'firstName', message: 'Required' }, { field: 'body.email', message: 'Invalid' }],
  });
  assert.ok(e instanceof ApiError);
  assert.equal(e.status, 422);
  assert.equal(e.title, 'Validation failed');
  assert.equal(e.requestId, 'r-1');
  assert.deepEqual(e.errors.map((x) => x.field), ['firstName', 'email']);
});

test('non-JSON error bodies fall back to the status line', () => {
  const e = problemToError(502, 'Bad Gateway', null);
  assert.equal(e.title, 'Bad Gateway');
  assert.deepEqual(e.errors, []);
});

test('send adds the bearer token and parses problems', async () => {
  let seen;
  globalThis.fetch = async (url, init) => {
    seen = init;
    return new Response(JSON.stringify({ title: 'Nope', status: 401 }), {
      status: 401,
      headers: { 'Content-Type': 'application/problem+json' },
    });
  };
  await assert.rejects(send('GET', '/v1/me', { token: 't0k' }), (e) => e.status === 401 && e.title === 'Nope');
  assert.equal(seen.headers.Authorization, 'Bearer t0k');
});

test('humanize makes labels from camelCase keys', () => {
  assert.equal(humanize('companyDomain'), 'Company domain');
  assert.equal(humanize('linkedinUrl'), 'Linkedin URL');
});
