import { lazy, Suspense } from "react";
import { ChunkBoundary } from "./ChunkBoundary.jsx";

// The waiting room is its own chunk, like the payment step: only shoppers who meet a
// product with a room on download it, and the shop's first load stays in budget.
const WaitingRoom = lazy(() => import("./WaitingRoom.jsx").then((module) => ({ default: module.WaitingRoom })));

// If the chunk fails, the shopper learns the place in the queue is kept (on the
// server, and the ticket in this browser).
const FAILED = "The waiting room could not be loaded. Any place you have in the queue is kept.";

export function LazyWaitingRoom(props) {
  return (
    <ChunkBoundary message={FAILED}>
      <Suspense fallback={<p aria-busy="true">Loading the waiting room…</p>}>
        <WaitingRoom {...props} />
      </Suspense>
    </ChunkBoundary>
  );
}
