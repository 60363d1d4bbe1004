import { Component, lazy, Suspense } from "react";
import { formatClock } from "../format.js";

// The payment step (and the card form behind it) is its own chunk: shoppers who only
// buy instant products never download it, and the shop's first load stays in budget.
const Checkout = lazy(() => import("./Checkout.jsx").then((module) => ({ default: module.Checkout })));

export function LazyCheckout(props) {
  return (
    <StepBoundary holdExpiresAt={props.order.holdExpiresAt}>
      <Suspense fallback={<p aria-busy="true">Loading the payment step…</p>}>
        <Checkout {...props} />
      </Suspense>
    </StepBoundary>
  );
}

// A chunk that fails to load (offline, or an old page after a deploy) gets a way out,
// and the shopper learns the hold is still theirs for now.
class StepBoundary extends Component {
  state = { failed: false };

  static getDerivedStateFromError() {
    return { failed: true };
  }

  render() {
    if (!this.state.failed) return this.props.children;
    return (
      <div role="alert">
        <p>
          The payment step could not be loaded. Your units stay held until {formatClock(this.props.holdExpiresAt)}.
        </p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </div>
    );
  }
}
