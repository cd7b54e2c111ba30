import { useCallback, useEffect, useRef } from 'react';

/** How long typing must pause before a search runs: one request per word typed, not one per key. */
export const TYPING_PAUSE_MS = 300;

/**
 * `callback` called `delayMs` after the last of a burst of calls, with the arguments of that last call. A call
 * pending when the component unmounts is dropped.
 */
export function useDebounced<A extends unknown[]>(callback: (...args: A) => void, delayMs = TYPING_PAUSE_MS): { call: (...args: A) => void; cancel: () => void } {
  const latest = useRef(callback);
  latest.current = callback;
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const cancel = useCallback(() => {
    if (timer.current !== null) clearTimeout(timer.current);
    timer.current = null;
  }, []);
  const call = useCallback(
    (...args: A) => {
      cancel();
      timer.current = setTimeout(() => {
        timer.current = null;
        latest.current(...args);
      }, delayMs);
    },
    [cancel, delayMs],
  );
  useEffect(() => cancel, [cancel]);
  return { call, cancel };
}
