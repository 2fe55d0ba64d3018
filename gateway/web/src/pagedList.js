// A list the server pages and counts: its first page (with the total) whenever the list's URL changes, "Load
// more" by the server's cursor, and reading it again (a live event, a change made here) without dropping the
// rows the user has loaded.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { withParams } from './counts.js';

const EMPTY = { items: [], next: null, total: null, totalCapped: false, firstPage: null, loaded: false, loading: true, loadingMore: false, error: null };

/**
 * `path`: the list's URL with its filters ("/v1/tasks?state=open"). Options: `items`, the key of a page's rows
 * ("tasks"); `next`, the key of the next page's position ("nextCursor", "nextAfter", "before") and `param`, the
 * query parameter taking it ("cursor", "after", "before"); `page` rows a page, `max` the most the API gives at
 * once; `rowKey`. Returns { items, total, totalCapped, hasMore, loaded, loading, loadingMore, error, loadMore,
 * reload, setItems, firstPage }: `total` is the server's count from the first page (null until read), kept by "Load
 * more"; `firstPage` the first page's whole answer (for what else it carries, e.g. the inbox's tab counts).
 */
export function usePagedList(path, { items: key, next = 'nextCursor', param = 'cursor', page = 50, max = 200, rowKey = (r) => r.id }) {
  const [s, setS] = useState(EMPTY);
  const current = useRef(path);
  const shown = useRef(0);
  shown.current = s.items.length;

  /** The first page again; `keep`: as many rows as are shown (one request), so the user keeps their place. */
  const readFirst = useCallback(
    (keep) => {
      const asked = path;
      const limit = keep ? Math.min(max, Math.max(page, shown.current)) : page;
      setS((p) => ({ ...p, loading: true }));
      return api.get(withParams(path, { limit })).then(
        (data) => {
          if (current.current !== asked) return;
          setS((p) => {
            const rows = data?.[key] || [];
            // Rows loaded past what one request reads again stay as they were, after the fresh ones.
            const fresh = new Set(rows.map(rowKey));
            const kept = keep && p.items.length > limit ? p.items.slice(limit).filter((r) => !fresh.has(rowKey(r))) : [];
            return {
              items: [...rows, ...kept],
              next: kept.length ? p.next : data?.[next] ?? null,
              total: data?.total ?? null,
              totalCapped: !!data?.totalCapped,
              firstPage: data,
              loaded: true,
              loading: false,
              loadingMore: false,
              error: null,
            };
          });
        },
        (error) => {
          if (current.current === asked) setS((p) => ({ ...p, loading: false, error }));
        },
      );
    },
    [path],
  );

  useEffect(() => {
    current.current = path;
    setS(EMPTY);
    readFirst(false);
  }, [readFirst]);

  function loadMore() {
    if (!s.next || s.loadingMore) return;
    const asked = path;
    setS((p) => ({ ...p, loadingMore: true, error: null }));
    api.get(withParams(path, { limit: page, [param]: s.next })).then(
      (data) => {
        if (current.current !== asked) return;
        setS((p) => {
          // A row added meanwhile can shift the pages: never show one twice.
          const seen = new Set(p.items.map(rowKey));
          const more = (data?.[key] || []).filter((r) => !seen.has(rowKey(r)));
          return { ...p, items: [...p.items, ...more], next: data?.[next] ?? null, loadingMore: false };
        });
      },
      (error) => {
        if (current.current === asked) setS((p) => ({ ...p, loadingMore: false, error }));
      },
    );
  }

  const reload = useCallback(() => readFirst(true), [readFirst]);
  /** Rows changed here (an action's answer), shown at once; `reload` then brings the server's count. */
  const setItems = useCallback((change) => setS((p) => ({ ...p, items: change(p.items) })), []);
  return { ...s, hasMore: Boolean(s.next), loadMore, reload, setItems };
}

/**
 * Every row of a list the server pages, read page after page by its cursor: for a picker that offers them all (a
 * sequence to enroll in), never for a table (which pages with usePagedList). Resolves to the rows, in order.
 */
export async function readAll(path, { items: key, next = 'nextCursor', param = 'cursor', max = 200 }) {
  let page = await api.get(withParams(path, { limit: max }));
  const rows = [...(page?.[key] || [])];
  while (page?.[next]) {
    page = await api.get(withParams(path, { limit: max, [param]: page[next] }));
    rows.push(...(page?.[key] || []));
  }
  return rows;
}
