import { useEffect } from 'preact/hooks';
import { POLL_MS } from '../../hooks.js';

/**
 * While `active`, run `reload` POLL_MS after each new answer (`answer` changes when one lands), so slow
 * answers never pile up; an error answer counts too, and the next tick tries again.
 */
export function useRefreshWhile(active, answer, reload) {
  useEffect(() => {
    if (!active) return undefined;
    const timer = setTimeout(reload, POLL_MS);
    return () => clearTimeout(timer);
  }, [active, answer]);
}
