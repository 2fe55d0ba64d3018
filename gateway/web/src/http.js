// Low-level HTTP: one fetch, JSON in/out, RFC 9457 problem+json -> ApiError.
// It knows nothing about sessions, so auth.js can use it without an import
// cycle; pages should use api.js, which adds the token and the 401 refresh.

/** An HTTP failure shaped like an RFC 9457 problem, ready to display. */
export class ApiError extends Error {
  constructor({ status = 0, title, detail = '', errors = [], type = 'about:blank', instance = null, requestId = null }) {
    super(detail ? `${title}: ${detail}` : title);
    this.name = 'ApiError';
    this.status = status; // 0 = the request never got an HTTP answer
    this.title = title;
    this.detail = detail;
    this.errors = errors; // [{ field, message }]
    this.type = type;
    this.instance = instance;
    this.requestId = requestId; // the gateway's correlation id, for support/logs
  }
}

/**
 * Send a request and return the parsed JSON body (null for an empty body/204).
 * Throws ApiError for any non-2xx answer or network failure.
 */
export async function send(method, path, { body, token, signal } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;

  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err; // the caller cancelled: not an error to show
    throw new ApiError({
      title: 'Network error',
      detail: 'Could not reach the server. Check your connection and try again.',
    });
  }

  const data = await readJson(res);
  if (res.ok) return data;
  throw problemToError(res.status, res.statusText, data);
}

async function readJson(res) {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null; // e.g. an HTML error page from a proxy: fall back to the status line
  }
}

/** Build an ApiError from a problem+json body (or whatever the server sent). */
export function problemToError(status, statusText, body) {
  const p = body && typeof body === 'object' ? body : {};
  let { detail, errors } = p;
  // Tolerate FastAPI's default {detail: [{loc, msg}]} in case an endpoint
  // escapes the gateway's problem+json handler.
  if (Array.isArray(detail)) {
    errors = detail.map((d) => ({ field: (d.loc || []).join('.'), message: d.msg }));
    detail = '';
  }
  return new ApiError({
    status: p.status || status,
    title: p.title || statusText || `HTTP ${status}`,
    detail: typeof detail === 'string' ? detail : '',
    errors: Array.isArray(errors) ? errors.map(normalizeFieldError) : [],
    type: p.type,
    instance: p.instance,
    requestId: p.requestId,
  });
}

// The API promises camelCase request names ("firstName"), but keep only the
// last path segment so "body.firstName" or "/firstName" still land on the field.
function normalizeFieldError(e) {
  const field = String(e?.field ?? '').split(/[./]/).pop();
  return { field, message: String(e?.message ?? 'Invalid value') };
}
