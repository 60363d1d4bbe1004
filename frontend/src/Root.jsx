import { lazy, Suspense } from "react";
import { App } from "./App.jsx";
import { ChunkBoundary } from "./components/ChunkBoundary.jsx";
import { isAdminPath, usePath } from "./router.jsx";

// The console is its own chunk, fetched only on /admin: shoppers never download it.
const AdminConsole = lazy(() => import("./admin/AdminConsole.jsx"));

export function Root({ shop = {}, admin = {} }) {
  const path = usePath();
  if (!isAdminPath(path)) return <App {...shop} />;
  return (
    <ChunkBoundary message="The operator console could not be loaded.">
      <Suspense fallback={<p aria-busy="true">Loading the operator console…</p>}>
        <AdminConsole {...admin} />
      </Suspense>
    </ChunkBoundary>
  );
}
