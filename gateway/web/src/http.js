// Low-level HTTP: one fetch, JSON in/out, RFC 9457 problem+json -> ApiError.
// It knows nothing about sessions, so auth.js can use it without an import
// cycle; pages should use api.js, which adds the token and the 401 refresh.
import { fieldWords, plainWords, problemTitle } from './words.js';

// The members RFC 9457 (and the gateway) define; any other member of a problem is an extension.
const STANDARD = new Set(['type', 'title', 'status', 'detail', 'instance', 'requestId', 'errors']);

/**
 * An HTTP failure shaped like an RFC 9457 problem, ready to display: `title` in words for its status,
 * `detail` and field messages without snake_case. The problem's extension members (a 429's `limit`,
 * `max`, `current`, `frees`) are kept, in `extensions` and as properties of their own.
 */
export class ApiError extends Error {
  constructor({ status = 0, title, detail = '', errors = [], type = 'about:blank', instance = null, requestId = null, extensions = {} }) {
    super(detail ? `${title}: ${detail}` : title);
    this.name = 'ApiError';
    this.status = status; // 0 = the request never got an HTTP answer
    this.title = title;
    this.detail = detail;
    this.errors = errors; // [{ field, message }]
    this.type = type;
    this.instance = instance;
    this.requestId = requestId; // the gateway's correlation id, for support/logs
    this.extensions = extensions;
    for (const [key, value] of Object.entries(extensions)) if (!(key in this)) this[key] = value;
  }
}

/**
 * Send a request and return the parsed JSON body (null for an empty body/204).
 * Throws ApiError for any non-2xx answer or network failure.
 *
 * Non-JSON exchanges (CSV import/export):
 * - `contentType` sends `body` as-is (a string, Blob or File) with that type;
 * - `as: 'blob'` resolves to `{ blob, filename }` instead of parsed JSON
 *   (filename from Content-Disposition, or null). Errors are still problems.
 * - `onProgress(fraction)` (with `contentType`) reports the body's upload, 0 to 1, as it goes out.
 * `signal` (an AbortSignal) cancels the request: it rejects with an AbortError.
 * `extraHeaders` adds request headers (e.g. an Idempotency-Key).
 */
export async function send(method, path, { body, token, signal, contentType, as, accept, onProgress, extraHeaders } = {}) {
  if (onProgress) return sendWithProgress(method, path, { body, token, contentType, onProgress, signal });
  const headers = { ...extraHeaders, Accept: accept || 'application/json, application/problem+json' };
  const raw = contentType !== undefined;
  if (body !== undefined) headers['Content-Type'] = raw ? contentType : 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;

  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
      signal,
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err; // the caller cancelled: not an error to show
    throw new ApiError(NETWORK_ERROR);
  }

  if (res.ok && as === 'blob') {
    return { blob: await res.blob(), filename: filenameFromDisposition(res.headers.get('Content-Disposition')) };
  }
  const data = await readJson(res);
  if (res.ok) return data;
  throw problemToError(res.status, res.statusText, data);
}

const NETWORK_ERROR = {
  title: problemTitle(0),
  detail: 'Could not reach the server. Check your connection and try again.',
};

/**
 * A raw body sent with its upload's progress: fetch() cannot report an upload's progress, an
 * XMLHttpRequest can. The same answer and errors as `send`; `signal` aborts it (an AbortError, as
 * fetch's). `XHR` is for tests.
 */
export function sendWithProgress(method, path, { body, token, contentType, onProgress, signal, XHR = globalThis.XMLHttpRequest }) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const xhr = new XHR();
    xhr.open(method, path);
    xhr.setRequestHeader('Accept', 'application/json, application/problem+json');
    xhr.setRequestHeader('Content-Type', contentType);
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(Math.min(1, e.loaded / e.total));
    };
    xhr.onload = () => {
      const data = parseJson(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(problemToError(xhr.status, xhr.statusText, data));
    };
    xhr.onerror = () => reject(new ApiError(NETWORK_ERROR));
    xhr.onabort = () => reject(abortError());
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

function abortError() {
  return new DOMException('The request was cancelled', 'AbortError');
}

/**
 * The file name in a Content-Disposition header, or null:
 * 'attachment; filename="leads.csv"' -> 'leads.csv'; RFC 5987
 * filename*=UTF-8''... wins over filename=. Path parts are stripped.
 */
export function filenameFromDisposition(header) {
  if (!header) return null;
  let name = null;
  const star = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header);
  if (star) {
    try {
      name = decodeURIComponent(star[2].trim().replace(/^"|"$/g, ''));
    } catch {
      name = null;
    }
  }
  if (!name) {
    const plain = /filename\s*=\s*("((?:\\.|[^"\\])*)"|[^;]+)/i.exec(header);
    if (plain) name = plain[2] !== undefined ? plain[2].replace(/\\(.)/g, '$1') : plain[1].trim();
  }
  if (!name) return null;
  name = name.split(/[\\/]/).pop().trim();
  return name || null;
}

async function readJson(res) {
  return parseJson(await res.text());
}

function parseJson(text) {
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
  const code = Number(p.status) || status;
  return new ApiError({
    status: code,
    // The status line's phrase ("Unprocessable Entity") is HTTP's, not the user's: the title is ours.
    title: problemTitle(code, p.type),
    detail: typeof detail === 'string' ? plainWords(detail) : '',
    errors: Array.isArray(errors) ? errors.map(normalizeFieldError) : [],
    type: p.type,
    instance: p.instance,
    requestId: p.requestId,
    extensions: Object.fromEntries(Object.entries(p).filter(([key]) => !STANDARD.has(key))),
  });
}

// The API promises camelCase request names ("firstName", "weights.title").
// Drop a leading request location ("body.email", "/email") and trailing list
// indexes ("titles.0" -> "titles") so the error still lands on its field.
export function normalizeFieldError(e) {
  const parts = String(e?.field ?? '').split(/[./]/).filter(Boolean);
  while (parts.length > 1 && LOCATIONS.has(parts[0])) parts.shift();
  while (parts.length > 1 && /^\d+$/.test(parts[parts.length - 1])) parts.pop();
  return { field: parts.join('.'), message: fieldWords(e?.message ?? '') };
}

const LOCATIONS = new Set(['body', 'query', 'path', 'header']);
