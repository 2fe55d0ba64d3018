// Pure logic behind the ICP, search-run and leads pages: `npm test` (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_FILTERS,
  activeFilterCount,
  cleanScore,
  filtersFromQuery,
  filtersToApiQuery,
  filtersToQuery,
  leadsPath,
} from '../src/leadFilters.js';
import {
  DEFAULT_WEIGHTS,
  SENIORITIES,
  addTags,
  formToBody,
  icpToForm,
  seniorityLabel,
  toInt,
  weightsTotal,
} from '../src/icp.js';
import { count, countersSummary, isRunDone, progressPercent, runAccount } from '../src/searchRun.js';
import { filenameFromDisposition, normalizeFieldError, problemToError, send } from '../src/http.js';
import { formatAgo, listPreview, personName } from '../src/format.js';
import { datedFilename } from '../src/download.js';
import { matchRoute } from '../src/router.js';
import { changedFields } from '../src/pages/lead/LeadEditForm.js';

// ---- lead filters <-> URL <-> API

test('an empty query gives the default filters and an empty URL', () => {
  assert.deepEqual(filtersFromQuery(''), { ...DEFAULT_FILTERS });
  assert.equal(filtersToQuery(DEFAULT_FILTERS), '');
  assert.equal(leadsPath({}), '/leads');
});

test('filters survive a round trip through the URL', () => {
  const f = {
    ...DEFAULT_FILTERS,
    icpId: 'icp-1',
    searchRunId: 'run-9',
    status: 'enriched',
    minScore: '40',
    maxScore: '90',
    hasEmail: 'no',
    q: 'ada & co',
    filtered: 'all',
    sort: '-score',
  };
  const qs = filtersToQuery(f);
  assert.deepEqual(filtersFromQuery(new URLSearchParams(qs)), f);
  assert.equal(leadsPath({ searchRunId: 'r1' }), '/leads?searchRunId=r1');
});

test('defaults and blanks stay out of the URL; text is trimmed', () => {
  assert.equal(filtersToQuery({ ...DEFAULT_FILTERS, q: '  ', filtered: 'hidden', sort: '-createdAt' }), '');
  assert.equal(filtersToQuery({ ...DEFAULT_FILTERS, q: ' bob ' }), 'q=bob');
});

test('garbage in the URL falls back to the defaults', () => {
  const f = filtersFromQuery('status=bogus&hasEmail=maybe&filtered=x&sort=drop+table&minScore=abc&maxScore=250');
  assert.equal(f.status, '');
  assert.equal(f.hasEmail, '');
  assert.equal(f.filtered, 'hidden');
  assert.equal(f.sort, '-createdAt');
  assert.equal(f.minScore, '');
  assert.equal(f.maxScore, '100');
  assert.equal(cleanScore('075'), '75');
  assert.equal(cleanScore('-3'), '');
});

test('the API query always says filtered and sort, pages by cursor', () => {
  const q = new URLSearchParams(filtersToApiQuery({ ...DEFAULT_FILTERS, status: 'new' }, { cursor: 'c2' }));
  assert.equal(q.get('filtered'), 'hidden');
  assert.equal(q.get('sort'), '-createdAt');
  assert.equal(q.get('status'), 'new');
  assert.equal(q.get('limit'), '50');
  assert.equal(q.get('cursor'), 'c2');
  assert.equal(q.has('q'), false);
  const exp = new URLSearchParams(filtersToApiQuery({ ...DEFAULT_FILTERS, hasEmail: 'yes' }, { paging: false }));
  assert.equal(exp.has('limit'), false);
  assert.equal(exp.get('hasEmail'), 'yes');
});

test('active filter count ignores sort and defaults', () => {
  assert.equal(activeFilterCount(DEFAULT_FILTERS), 0);
  assert.equal(activeFilterCount({ ...DEFAULT_FILTERS, sort: 'score' }), 0);
  assert.equal(activeFilterCount({ ...DEFAULT_FILTERS, q: 'x', filtered: 'all' }), 2);
});

// ---- ICP form

test('weights total counts blanks as zero', () => {
  assert.equal(weightsTotal(DEFAULT_WEIGHTS), 100);
  assert.equal(weightsTotal({ title: '40', seniority: '', industry: 'x', companySize: 10 }), 50);
  assert.equal(weightsTotal(null), 0);
});

test('tags: commas split, blanks dropped, duplicates ignored in any case', () => {
  assert.deepEqual(addTags(['VP Sales'], ' head of  sales, vp sales ,,CTO'), ['VP Sales', 'head of sales', 'CTO']);
  assert.deepEqual(addTags([], '   '), []);
  const before = ['a'];
  addTags(before, 'b');
  assert.deepEqual(before, ['a'], 'does not mutate');
});

test('ICP <-> form: blanks become null, seniorities keep the canonical order', () => {
  const form = icpToForm(null);
  assert.equal(form.minScore, '50');
  assert.equal(weightsTotal(form.weights), 100);
  form.name = '  Sales leaders ';
  form.seniorities = ['vp', 'owner'];
  form.companySizeMax = '200';
  const body = formToBody(form);
  assert.equal(body.name, 'Sales leaders');
  assert.deepEqual(body.seniorities, ['owner', 'vp']);
  assert.equal(body.companySizeMin, null);
  assert.equal(body.companySizeMax, 200);
  assert.equal(body.minScore, 50);
  assert.deepEqual(body.weights, DEFAULT_WEIGHTS);

  const icp = {
    id: 'i1', name: 'X', titles: ['CTO'], seniorities: ['c_suite'], industries: [], locations: [], keywords: [],
    companySizeMin: 0, companySizeMax: null, minScore: 0, weights: { ...DEFAULT_WEIGHTS, title: 50 },
  };
  const f2 = icpToForm(icp);
  assert.equal(f2.companySizeMin, '', '0 means no bound');
  assert.equal(f2.minScore, '0');
  assert.equal(f2.weights.title, '50');
  assert.equal(formToBody(f2).weights.title, 50);
});

test('toInt and seniority labels', () => {
  assert.equal(toInt(''), null);
  assert.equal(toInt(' 7 '), 7);
  assert.equal(toInt('1.5'), '1.5', 'left for the server to reject');
  assert.equal(seniorityLabel('c_suite'), 'C-suite');
  assert.equal(seniorityLabel('wizard'), 'wizard');
  assert.equal(SENIORITIES.length, 11);
});

// ---- search runs

test('progress: people fetched against the limit, full when completed', () => {
  assert.equal(progressPercent({ status: 'running', peopleFetched: 25, limit: 100 }), 25);
  assert.equal(progressPercent({ status: 'running', peopleFetched: 500, limit: 100 }), 100);
  assert.equal(progressPercent({ status: 'completed', peopleFetched: 37, limit: 100 }), 100);
  assert.equal(progressPercent({ status: 'queued', peopleFetched: 0, limit: 0 }), 0);
  assert.equal(progressPercent(null), 0);
  assert.equal(isRunDone({ status: 'failed' }), true);
  assert.equal(isRunDone({ status: 'cancelled' }), true); // a cancelled run is watched no longer
  assert.equal(isRunDone({ status: 'running' }), false);
});

test('counter summary and the plain account of a run', () => {
  const d = { fetched: 120, duplicates: 5, filtered: 30, withEmail: 100, withoutEmail: 15, created: 80, updated: 4, failed: 1 };
  assert.equal(countersSummary(d), '120 fetched · 80 created · 4 updated · 5 duplicates · 30 filtered · 1 failed');
  assert.equal(countersSummary({}), '0 fetched');
  assert.equal(count({ fetched: '7' }, 'fetched'), 7);
  assert.equal(count(null, 'fetched'), 0);
  const lines = runAccount({ source: 'sandbox', limit: 120, pagesFetched: 1, peopleFetched: 120, diagnostics: d }, 60);
  assert.equal(lines[0], '120 people fetched from sandbox in 1 page (limit 120).');
  assert.ok(lines.some((l) => l.includes('30 leads scored below the minimum score of 60')));
  assert.ok(lines.some((l) => l.includes('1 person could not be saved')));
});

// ---- HTTP helpers

test('field errors keep nested names, drop request locations and list indexes', () => {
  assert.equal(normalizeFieldError({ field: 'weights.title' }).field, 'weights.title');
  assert.equal(normalizeFieldError({ field: 'body.weights.title' }).field, 'weights.title');
  assert.equal(normalizeFieldError({ field: 'titles.0' }).field, 'titles');
  assert.equal(normalizeFieldError({ field: '/companySizeMin' }).field, 'companySizeMin');
  assert.equal(normalizeFieldError({ field: 'body' }).field, 'body');
  const e = problemToError(422, '', { errors: [{ field: 'minScore', message: 'too big' }] });
  assert.deepEqual(e.errors, [{ field: 'minScore', message: 'too big' }]);
});

test('Content-Disposition file names', () => {
  assert.equal(filenameFromDisposition('attachment; filename="leads.csv"'), 'leads.csv');
  assert.equal(filenameFromDisposition('attachment; filename=leads.csv'), 'leads.csv');
  assert.equal(filenameFromDisposition("attachment; filename*=UTF-8''l%C3%A9ads.csv; filename=\"x.csv\""), 'léads.csv');
  assert.equal(filenameFromDisposition('attachment; filename="../../etc/passwd"'), 'passwd');
  assert.equal(filenameFromDisposition('attachment'), null);
  assert.equal(filenameFromDisposition(null), null);
  assert.equal(datedFilename('leads', 'csv', new Date(2024, 4, 1)), 'leads-2024-05-01.csv');
});

test('send posts raw bodies with their own type and downloads blobs', async () => {
  let seen;
  globalThis.fetch = async (url, init) => {
    seen = init;
    return new Response('email\na@b.c\n', {
      status: 200,
      headers: { 'Content-Type': 'text/csv', 'Content-Disposition': 'attachment; filename="out.csv"' },
    });
  };
  const got = await send('GET', '/v1/leads/export.csv', { as: 'blob', token: 't', accept: 'text/csv' });
  assert.equal(got.filename, 'out.csv');
  assert.equal(await got.blob.text(), 'email\na@b.c\n');
  assert.equal(seen.headers.Accept, 'text/csv');

  globalThis.fetch = async (url, init) => {
    seen = init;
    return new Response(JSON.stringify({ created: 1, updated: 0, failed: 0, errors: [] }), { status: 200 });
  };
  const csv = 'email,firstName\nx@y.z,X\n';
  const res = await send('POST', '/v1/leads/import', { body: csv, contentType: 'text/csv' });
  assert.equal(res.created, 1);
  assert.equal(seen.headers['Content-Type'], 'text/csv');
  assert.equal(seen.body, csv, 'sent as-is, not JSON-encoded');

  globalThis.fetch = async () =>
    new Response(JSON.stringify({ title: 'Service Unavailable', status: 503, detail: 'APOLLO_API_KEY is not set' }), {
      status: 503,
      headers: { 'Content-Type': 'application/problem+json' },
    });
  await assert.rejects(send('GET', '/x.csv', { as: 'blob' }), (e) => e.status === 503 && /APOLLO_API_KEY/.test(e.detail));
});

// ---- display and routing

test('format helpers', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  assert.equal(formatAgo('2024-05-01T11:59:50Z', now), 'just now');
  assert.equal(formatAgo('2024-05-01T11:30:00Z', now), '30 min ago');
  assert.equal(formatAgo('2024-04-30T12:00:00Z', now), '1 day ago');
  assert.equal(formatAgo(null), '—');
  assert.equal(personName({ firstName: 'Ada', lastName: 'Lovelace' }), 'Ada Lovelace');
  assert.equal(personName({ email: 'a@b.c' }), 'a@b.c');
  assert.equal(personName({}), 'Unnamed lead');
  assert.equal(listPreview(['a', 'b', 'c', 'd', 'e']), 'a, b, c +2');
  assert.equal(listPreview([]), '');
});

test('lead edit sends only what changed; a cleared email is null', () => {
  const lead = { email: 'a@b.c', firstName: 'Ada', lastName: 'L', companyName: '', title: null };
  const form = { email: '', firstName: 'Ada ', lastName: 'Lovelace', companyName: '', title: ' CTO ' };
  assert.deepEqual(changedFields(lead, form), { email: null, lastName: 'Lovelace', title: 'CTO' });
  assert.deepEqual(changedFields(lead, { ...lead, title: '' }), {});
});

test('new routes: /icps/new and /leads win over their :id twins', () => {
  const routes = [
    { path: '/icps' },
    { path: '/icps/new' },
    { path: '/icps/:id' },
    { path: '/leads' },
    { path: '/leads/new' },
    { path: '/leads/:id' },
  ];
  assert.equal(matchRoute(routes, '/icps/new').route.path, '/icps/new');
  assert.deepEqual(matchRoute(routes, '/icps/i-1').params, { id: 'i-1' });
  assert.equal(matchRoute(routes, '/leads').route.path, '/leads');
});
