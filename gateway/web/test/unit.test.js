// Pure-logic checks that need no browser: `npm test` (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHash, matchRoute } from '../src/router.js';
import { problemToError, send, sendWithProgress, ApiError } from '../src/http.js';
import { humanize, importState } from '../src/format.js';

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
  assert.equal(e.title, 'Please check what you entered'); // the title is ours, by status: never HTTP's phrase
  assert.equal(e.requestId, 'r-1');
  assert.deepEqual(e.errors.map((x) => x.field), ['firstName', 'email']);
});

test('a provider not set up is said so, not "temporarily unavailable"', () => {
  const body = {
    type: 'https://leadflood.dev/problems/not-set-up', title: 'Not set up', status: 503,
    detail: 'APOLLO_API_KEY is not set: the apollo people source provider is not configured', settings: ['APOLLO_API_KEY'],
  };
  const e = problemToError(503, 'Service Unavailable', body);
  assert.equal(e.title, 'Not set up');
  assert.deepEqual(e.settings, ['APOLLO_API_KEY']);
  const down = problemToError(503, 'Service Unavailable', { type: 'https://leadflood.dev/problems/service-unavailable', status: 503 });
  assert.equal(down.title, 'Temporarily unavailable');
});

test('non-JSON error bodies still get a title in words', () => {
  const e = problemToError(502, 'Bad Gateway', null);
  assert.equal(e.title, 'Temporarily unavailable');
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
  await assert.rejects(send('GET', '/v1/me', { token: 't0k' }), (e) => e.status === 401 && e.title === 'Could not sign in');
  assert.equal(seen.headers.Authorization, 'Bearer t0k');
});

test('humanize makes labels from camelCase keys', () => {
  assert.equal(humanize('companyDomain'), 'Company domain');
  assert.equal(humanize('linkedinUrl'), 'Linkedin URL');
});

// An XMLHttpRequest stand-in: reports the upload in the steps given, then answers.
function fakeXhr({ steps, status, body }) {
  return class {
    constructor() {
      this.upload = {};
      this.headers = {};
      fakeXhr.last = this;
    }
    open(method, path) {
      Object.assign(this, { method, path });
    }
    setRequestHeader(name, value) {
      this.headers[name] = value;
    }
    send(sent) {
      this.sent = sent;
      for (const loaded of steps) this.upload.onprogress({ lengthComputable: true, loaded, total: 200 });
      Object.assign(this, { status, statusText: 'x', responseText: body });
      this.onload();
    }
  };
}

test('an upload reports its progress, then resolves to the JSON answer', async () => {
  const seen = [];
  const XHR = fakeXhr({ steps: [50, 150, 200], status: 200, body: '{"created":2}' });
  const result = await sendWithProgress('POST', '/v1/leads/import', {
    body: 'a,b', token: 't1', contentType: 'text/csv', onProgress: (f) => seen.push(f), XHR,
  });
  assert.deepEqual(result, { created: 2 });
  assert.deepEqual(seen, [0.25, 0.75, 1]);
  assert.equal(fakeXhr.last.headers.Authorization, 'Bearer t1');
  assert.equal(fakeXhr.last.headers['Content-Type'], 'text/csv');
  assert.equal(fakeXhr.last.sent, 'a,b');
});

test('an upload refused by the server rejects with its problem', async () => {
  const XHR = fakeXhr({
    steps: [200], status: 413,
    body: '{"title":"Content Too Large","status":413,"detail":"nothing was imported"}',
  });
  await assert.rejects(
    sendWithProgress('POST', '/v1/leads/import', { body: 'x', contentType: 'text/csv', onProgress: () => {}, XHR }),
    (err) => err instanceof ApiError && err.status === 413 && err.detail === 'nothing was imported',
  );
});

// An XMLHttpRequest stand-in whose upload never ends on its own: only abort() ends it.
class HangingXhr {
  constructor() {
    this.upload = {};
    HangingXhr.last = this;
  }
  open() {}
  setRequestHeader() {}
  send() {
    this.upload.onprogress({ lengthComputable: true, loaded: 50, total: 200 });
  }
  abort() {
    this.aborted = true;
    this.onabort();
  }
}

test('a cancelled upload is aborted and rejects with an AbortError, as fetch does', async () => {
  const cancel = new AbortController();
  const seen = [];
  const sending = sendWithProgress('POST', '/v1/leads/import', {
    body: 'x', contentType: 'text/csv', onProgress: (f) => seen.push(f), signal: cancel.signal, XHR: HangingXhr,
  });
  assert.deepEqual(seen, [0.25]);
  cancel.abort();
  await assert.rejects(sending, (err) => err.name === 'AbortError');
  assert.equal(HangingXhr.last.aborted, true);
});

test('an upload whose signal was already aborted is not sent', async () => {
  HangingXhr.last = undefined;
  await assert.rejects(
    sendWithProgress('POST', '/v1/leads/import', {
      body: 'x', contentType: 'text/csv', onProgress: () => {}, signal: AbortSignal.abort(), XHR: HangingXhr,
    }),
    (err) => err.name === 'AbortError',
  );
  assert.equal(HangingXhr.last, undefined);
});

test('an import under way says how much has gone, then that it is writing', () => {
  assert.equal(importState(0), 'Importing… 0%');
  assert.equal(importState(0.426), 'Importing… 42%');
  assert.equal(importState(1), 'Writing leads…');
});

