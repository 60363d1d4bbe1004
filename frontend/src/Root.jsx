import { Component, lazy, Suspense } from "react";
import { App } from "./App.jsx";
import { isAdminPath, usePath } from "./router.jsx";

// The console is its own chunk, fetched only on /admin: shoppers never download it.
const AdminConsole = lazy(() => import("./admin/AdminConsole.jsx"));

export function Root({ shop = {}, admin = {} }) {
  const path = usePath();
  if (!isAdminPath(path)) return <App {...shop} />;
  return (
    <ChunkBoundary>
      <Suspense fallback={<p aria-busy="true">Loading the operator console…</p>}>
        <AdminConsole {...admin} />
      </Suspense>
    </ChunkBoundary>
  );
}

// A chunk that fails to load (offline, or an old page after a deploy replaced it)
// gets a way out instead of a blank page.
class ChunkBoundary extends Component {
  state = { failed: false };

  static getDerivedStateFromError() {
    return { failed: true };
  }

  render() {
    if (!this.state.failed) return this.props.children;
    return (
      <main>
        <p role="alert">The operator console could not be loaded.</p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </main>
    );
  }
}
