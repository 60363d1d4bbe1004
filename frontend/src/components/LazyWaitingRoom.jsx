import { Component, lazy, Suspense } from "react";

// The waiting room is its own chunk, like the payment step: only shoppers who meet a
// product with a room on download it, and the shop's first load stays in budget.
const WaitingRoom = lazy(() => import("./WaitingRoom.jsx").then((module) => ({ default: module.WaitingRoom })));

export function LazyWaitingRoom(props) {
  return (
    <RoomBoundary>
      <Suspense fallback={<p aria-busy="true">Loading the waiting room…</p>}>
        <WaitingRoom {...props} />
      </Suspense>
    </RoomBoundary>
  );
}

// A chunk that fails to load (offline, or an old page after a deploy) gets a way out;
// the place in the queue, if any, is kept on the server and in this browser.
class RoomBoundary extends Component {
  state = { failed: false };

  static getDerivedStateFromError() {
    return { failed: true };
  }

  render() {
    if (!this.state.failed) return this.props.children;
    return (
      <div role="alert">
        <p>The waiting room could not be loaded. Any place you have in the queue is kept.</p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </div>
    );
  }
}
