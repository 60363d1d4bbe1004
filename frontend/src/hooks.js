import { useCallback, useEffect, useRef, useState } from "react";

// Products, refreshed every few seconds and whenever the shopper comes back to the tab.
export function useProducts(api, intervalMs = 3000) {
  const [state, setState] = useState({ products: [], loaded: false, error: null });
  const inFlight = useRef(false);

  const refresh = useCallback(async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    try {
      const data = await api.listProducts();
      setState({ products: data.products, loaded: true, error: null });
    } catch (error) {
      setState((previous) => ({ ...previous, loaded: true, error }));
    } finally {
      inFlight.current = false;
    }
  }, [api]);

  useEffect(() => {
    refresh();
    const timer = setInterval(refresh, intervalMs);
    const onVisible = () => document.visibilityState === "visible" && refresh();
    window.addEventListener("focus", refresh);
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      clearInterval(timer);
      window.removeEventListener("focus", refresh);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [refresh, intervalMs]);

  return { ...state, refresh };
}

// The server's "now", ticking every second, for countdowns.
export function useServerNow(api, tickMs = 1000) {
  const [now, setNow] = useState(() => api.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(api.now()), tickMs);
    return () => clearInterval(timer);
  }, [api, tickMs]);
  return now;
}
