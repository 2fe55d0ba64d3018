// Small shared hooks for pages.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { changeWatch } from './live.js';

export const POLL_MS = 1000;

// Worth retrying: the server was unreachable or briefly broken. A 4xx (e.g.
// 404) will not fix itself, so polling stops on those.
export const isTransient = (err) => !err?.status || err.status >= 500;

/**
 * Load something once per `deps` change: { data, error, loading, reload, setData }.
 * Answers to superseded loads are dropped, so a slow old request never
 * overwrites a newer one.
 */
export function useLoad(loader, deps) {
  const [s, setS] = useState({ data: null, error: null, loading: true });
  const seq = useRef(0);
  const run = useCallback(() => {
    const mine = ++seq.current;
    setS((p) => ({ ...p, loading: true }));
    return loader().then(
      (data) => mine === seq.current && setS({ data, error: null, loading: false }),
      (error) => mine === seq.current && setS((p) => ({ data: p.data, error, loading: false })),
    );
  }, deps);
  useEffect(() => {
    run();
    return () => {
      seq.current++; // unmounted or deps changed: ignore what is in flight
    };
  }, [run]);
  const setData = useCallback((fn) => setS((p) => ({ ...p, data: typeof fn === 'function' ? fn(p.data) : fn })), []);
  return { ...s, reload: run, setData };
}

/**
 * Read `fetcher` again while `key` is set, until isDone(data) or a
 * non-transient error: { data, error, polling }. A new key starts over.
 * With `match`, it reads again when a live event matches (src/live.js), and
 * every FALLBACK_MS only while the stream is down; without it, every POLL_MS.
 * Each read waits for the previous answer, so slow responses never pile up.
 * A transient error is tried again after POLL_MS. onData sees every answer.
 */
export function usePoll(key, fetcher, isDone, onData, match) {
  const [s, setS] = useState({ data: null, error: null, polling: Boolean(key) });
  const latest = useRef({ fetcher, isDone, onData, match });
  latest.current = { fetcher, isDone, onData, match };

  useEffect(() => {
    if (!key) {
      setS({ data: null, error: null, polling: false });
      return undefined;
    }
    let stopped = false;
    let timer;
    // Listening before the first read: a change while a read is in flight is not missed.
    const watch = latest.current.match ? changeWatch((e) => latest.current.match(e, key)) : null;
    setS({ data: null, error: null, polling: true });
    async function tick() {
      let data = null;
      let error = null;
      try {
        data = await latest.current.fetcher(key);
      } catch (err) {
        error = err;
      }
      if (stopped) return;
      const done = error ? !isTransient(error) : latest.current.isDone(data);
      setS((p) => ({ data: error ? p.data : data, error, polling: !done }));
      if (!error) latest.current.onData?.(data);
      if (done) return;
      if (watch && !error) watch.next(tick);
      else timer = setTimeout(tick, POLL_MS);
    }
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
      watch?.cancel();
    };
  }, [key]);
  return s;
}

/** `value`, but only after it has stopped changing for `ms`. */
export function useDebounced(value, ms = 300) {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}
