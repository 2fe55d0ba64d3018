// Small shared hooks for pages.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

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
 * Poll `fetcher` every POLL_MS while `key` is set, until isDone(data) or a
 * non-transient error: { data, error, polling }. A new key starts over.
 * Each poll waits for the previous answer (setTimeout, not setInterval), so
 * slow responses never pile up. onData sees every answer (e.g. to update a list).
 */
export function usePoll(key, fetcher, isDone, onData) {
  const [s, setS] = useState({ data: null, error: null, polling: Boolean(key) });
  const latest = useRef({ fetcher, isDone, onData });
  latest.current = { fetcher, isDone, onData };

  useEffect(() => {
    if (!key) {
      setS({ data: null, error: null, polling: false });
      return undefined;
    }
    let stopped = false;
    let timer;
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
      if (!done) timer = setTimeout(tick, POLL_MS);
    }
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
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
