import { useCallback, useEffect, useRef, useState } from "react";

// Data that refreshes itself: every `intervalMs` while the tab is visible, at once when
// it becomes visible again, and on demand (after an operator's change). One request at
// a time; a refresh asked for meanwhile runs right after, so a change is never shown
// stale until the next tick. A new `load` (another sale) starts over and ignores
// answers that were meant for the previous one.
export function usePoll(load, intervalMs) {
  const [state, setState] = useState({ data: null, error: null, loaded: false, updatedAt: null });
  const loadRef = useRef(load);
  const running = useRef(false);
  const again = useRef(false);
  const generation = useRef(0);

  const refresh = useCallback(async () => {
    if (running.current) {
      again.current = true;
      return;
    }
    running.current = true;
    try {
      do {
        again.current = false;
        const mine = generation.current;
        try {
          const data = await loadRef.current();
          if (mine === generation.current) setState({ data, error: null, loaded: true, updatedAt: Date.now() });
        } catch (error) {
          if (mine === generation.current) setState((previous) => ({ ...previous, error, loaded: true }));
        }
      } while (again.current);
    } finally {
      running.current = false;
    }
  }, []);

  useEffect(() => {
    loadRef.current = load;
    generation.current += 1;
    setState({ data: null, error: null, loaded: false, updatedAt: null });
    refresh();
    const tick = () => document.visibilityState !== "hidden" && refresh();
    const timer = setInterval(tick, intervalMs);
    document.addEventListener("visibilitychange", tick);
    return () => {
      generation.current += 1;
      clearInterval(timer);
      document.removeEventListener("visibilitychange", tick);
    };
  }, [load, intervalMs, refresh]);

  return { ...state, refresh };
}
