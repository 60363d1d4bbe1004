import { lazy, Suspense } from "react";
import { formatClock } from "../format.js";
import { ChunkBoundary } from "./ChunkBoundary.jsx";

// The payment step (and the card form behind it) is its own chunk: shoppers who only
// buy instant products never download it, and the shop's first load stays in budget.
const Checkout = lazy(() => import("./Checkout.jsx").then((module) => ({ default: module.Checkout })));

export function LazyCheckout(props) {
  // If the chunk fails, the shopper learns the hold is still theirs for now.
  const message = `The payment step could not be loaded. Your units stay held until ${formatClock(props.order.holdExpiresAt)}.`;
  return (
    <ChunkBoundary message={message}>
      <Suspense fallback={<p aria-busy="true">Loading the payment step…</p>}>
        <Checkout {...props} />
      </Suspense>
    </ChunkBoundary>
  );
}
