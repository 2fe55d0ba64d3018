// Errors in words a user reads: titles, field messages, names; and a problem's extension members kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldLabel, fieldWords, plainWords, problemTitle } from '../src/words.js';
import { problemToError } from '../src/http.js';
import { checkSignIn, requiredErrors } from '../src/forms.js';

test('a title per status, never the status line', () => {
  assert.equal(problemTitle(422), 'Please check what you entered');
  assert.equal(problemTitle(429), 'Limit reached');
  assert.equal(problemTitle(418), 'The request was refused');
  assert.equal(problemTitle(507), 'Something went wrong on our side');
  for (const status of [400, 401, 404, 409, 422, 500, 503]) assert.doesNotMatch(problemTitle(status), /Unprocessable|Entity/);
});

test("a validator's messages become a person's", () => {
  assert.equal(fieldWords('Field required'), 'Required');
  assert.equal(fieldWords('String should have at least 1 character'), 'Required');
  assert.equal(fieldWords('String should have at most 200 characters'), 'At most 200 characters');
  assert.equal(fieldWords('Input should be a valid integer, unable to parse string as an integer'), 'Enter a number');
  assert.equal(fieldWords('Input should be less than or equal to 100'), 'At most 100');
  assert.equal(fieldWords("Input should be 'sandbox' or 'apollo'"), 'Choose sandbox or apollo');
  assert.equal(fieldWords('Value error, no such time_zone'), 'no such time zone');
  assert.equal(fieldWords('An email address must have an @-sign.'), 'An email address must have an @-sign.');
});

test('snake_case never reaches a user; a setting named in capitals stays as it is', () => {
  assert.equal(plainWords('company_size_min must be at most company_size_max'), 'company size min must be at most company size max');
  assert.equal(plainWords('set HUNTER_API_KEY to enrich with hunter'), 'set HUNTER_API_KEY to enrich with hunter');
  assert.equal(fieldLabel('weights.companySize'), 'Weights: company size');
  assert.equal(fieldLabel('first_name'), 'First name');
});

test('a problem keeps its extension members and speaks plainly', () => {
  const e = problemToError(429, 'Too Many Requests', {
    type: 'https://leadflood.dev/problems/too-many-requests',
    title: 'Too Many Requests',
    status: 429,
    detail: 'the org has 5 active runs, the most it may have at once',
    requestId: 'r-9',
    limit: 'active_runs',
    max: 5,
    current: 5,
    frees: ['run-1', 'run-2'],
    retryAfterS: 30,
  });
  assert.equal(e.title, 'Limit reached');
  assert.equal(e.limit, 'active_runs');
  assert.equal(e.max, 5);
  assert.equal(e.current, 5);
  assert.deepEqual(e.frees, ['run-1', 'run-2']);
  assert.deepEqual(e.extensions, { limit: 'active_runs', max: 5, current: 5, frees: ['run-1', 'run-2'], retryAfterS: 30 });
  const clash = problemToError(409, '', { status: 409, detail: 'x', title: 'Conflict', name: 'shadow', message: 'm' });
  assert.equal(clash.name, 'ApiError'); // an extension never overwrites the error's own members
  assert.equal(clash.extensions.name, 'shadow');
});

test('a 422 reads in words: field names camelCase, messages plain', () => {
  const e = problemToError(422, 'Unprocessable Entity', {
    title: 'Unprocessable Entity',
    status: 422,
    detail: 'the request is not valid',
    errors: [{ field: 'body.first_name', message: 'String should have at least 1 character' }],
  });
  assert.deepEqual(e.errors, [{ field: 'first_name', message: 'Required' }]);
  assert.doesNotMatch(`${e.title} ${e.detail}`, /Unprocessable/);
});

test('an empty sign-in is refused before any request', () => {
  assert.deepEqual(requiredErrors({ email: ' ', password: 'x' }, { email: 'Enter your email' }), [
    { field: 'email', message: 'Enter your email' },
  ]);
  const none = checkSignIn('', '');
  assert.deepEqual(none.errors.map((x) => x.field), ['email', 'password']);
  assert.equal(checkSignIn('nobody', 'pw').errors[0].field, 'email');
  assert.equal(checkSignIn('a@b.example', 'pw'), null);
});
