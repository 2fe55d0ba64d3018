// The fetch wrapper pages use: adds the bearer token and, on a 401, refreshes
// the session ONCE and retries ONCE; if that fails the session is expired and
// the router sends the user to the login page.
import { send, ApiError } from './http.js';
import { getAccessToken, refreshSession, expireSession } from './auth.js';

export { ApiError };

async function request(method, path, body, opts = {}) {
  const used = getAccessToken();
  try {
    return await send(method, path, { ...opts, body, token: used });
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
  }
  // If another request already refreshed while ours was in flight, the token
  // has changed and we can just retry with it instead of refreshing again.
  const refreshed = getAccessToken() !== used || (await refreshSession());
  if (refreshed) {
    try {
      return await send(method, path, { ...opts, body, token: getAccessToken() });
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
    }
  }
  expireSession();
  throw new ApiError({ status: 401, title: 'Session expired', detail: 'Please sign in again.' });
}

export const api = {
  get: (path) => request('GET', path),
  post: (path, body) => request('POST', path, body),
  /** POST that the server makes idempotent on `key`: sent again (a retry, a double click), it is the same request. */
  postOnce: (path, body, key) => request('POST', path, body, { extraHeaders: { 'Idempotency-Key': key } }),
  put: (path, body) => request('PUT', path, body),
  patch: (path, body) => request('PATCH', path, body),
  delete: (path) => request('DELETE', path),
  /**
   * POST a raw body (a File, Blob or string) as `contentType`; JSON answer. `onProgress(0..1)` as it
   * uploads; `signal` cancels it (an AbortError).
   */
  upload: (path, body, contentType, onProgress, signal) => request('POST', path, body, { contentType, onProgress, signal }),
  /** GET a file with the bearer token: resolves to { blob, filename }. */
  download: (path, accept = '*/*') => request('GET', path, undefined, { as: 'blob', accept: `${accept}, application/problem+json` }),
};
