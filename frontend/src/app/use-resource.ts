import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiFailure } from '../api/client';

export interface Resource<T> {
  data: T | null;
  /** The last failure; a failed refresh keeps the data it had. */
  error: ApiFailure | null;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads `load()` whenever `key` changes and, with `pollMs`, again that long after each answer (not while the tab is
 * hidden), so usage stays live without reloading the page. Answers to superseded requests are dropped.
 */
export function useResource<T>(load: () => Promise<T>, key: string, pollMs?: number): Resource<T> {
  const [state, setState] = useState<{ data: T | null; error: ApiFailure | null; loading: boolean; key: string }>({ data: null, error: null, loading: true, key });
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const [tick, setTick] = useState(0);

  const reload = useCallback(() => setTick((n) => n + 1), []);

  useEffect(() => {
    const mine = ++generation.current;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState((previous) => (previous.key === key ? { ...previous, loading: true } : { data: null, error: null, loading: true, key }));
    const run = () => {
      loadRef.current().then(
        (data) => {
          if (mine !== generation.current) return;
          setState({ data, error: null, loading: false, key });
          schedule();
        },
        (error: unknown) => {
          if (mine !== generation.current) return;
          const failure = error instanceof ApiFailure ? error : new ApiFailure(String(error), null);
          setState((previous) => ({ ...previous, error: failure, loading: false }));
          // Asking again will not make a missing or forbidden object appear.
          if (failure.status !== 401 && failure.status !== 403 && failure.status !== 404) schedule();
        },
      );
    };
    const schedule = () => {
      if (!pollMs) return;
      timer = setTimeout(() => {
        if (typeof document !== 'undefined' && document.hidden) schedule();
        else run();
      }, pollMs);
    };
    run();
    return () => {
      generation.current++;
      if (timer) clearTimeout(timer);
    };
  }, [key, tick, pollMs]);

  return { data: state.key === key ? state.data : null, error: state.key === key ? state.error : null, loading: state.loading, reload };
}
