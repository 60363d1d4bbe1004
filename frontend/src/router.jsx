// Path-based routing in a few lines: the shop is "/", the operator console "/admin/…".
// The History API plus one event is all two areas need; a router library is not.
import { useSyncExternalStore } from "react";

const NAVIGATED = "flashsale:navigate";

function subscribe(onChange) {
  window.addEventListener("popstate", onChange);
  window.addEventListener(NAVIGATED, onChange);
  return () => {
    window.removeEventListener("popstate", onChange);
    window.removeEventListener(NAVIGATED, onChange);
  };
}

const currentPath = () => window.location.pathname;

export function usePath() {
  return useSyncExternalStore(subscribe, currentPath);
}

// `state` rides along in the history entry (a "Sale saved." for the next page, say).
export function navigate(to, { replace = false, state = {} } = {}) {
  window.history[replace ? "replaceState" : "pushState"](state, "", to);
  window.dispatchEvent(new Event(NAVIGATED));
}

export const isAdminPath = (path) => path === "/admin" || path.startsWith("/admin/");

// A real link (open in a new tab, copy the address) that navigates in place on a plain click.
export function Link({ to, onClick, children, ...rest }) {
  function follow(event) {
    onClick?.(event);
    const modified = event.metaKey || event.ctrlKey || event.shiftKey || event.altKey;
    if (event.defaultPrevented || event.button !== 0 || modified) return;
    event.preventDefault();
    navigate(to);
  }
  return (
    <a {...rest} href={to} onClick={follow}>
      {children}
    </a>
  );
}
