// Checkout that takes money (docs/payments.md): the server's clock for hold countdowns,
// Stripe.js loaded on demand, and what an order's state means to the shopper.
import { useEffect, useState } from "react";
import { formatClock } from "./format.js";

const setups = new WeakMap();

// One GET /payments/config per API client. Its serverTime fixes the offset between the
// server's clock and this device's once (against the middle of the round trip), so every
// countdown to a holdExpiresAt agrees with the server whatever the device clock says.
export function paymentsSetup(api, deviceNow = () => Date.now()) {
  let setup = setups.get(api);
  if (!setup) {
    const sentAt = deviceNow();
    setup = api.paymentsConfig().then((config) => {
      const serverTime = Date.parse(config.serverTime ?? "");
      const offsetMs = Number.isNaN(serverTime) ? 0 : serverTime - (sentAt + deviceNow()) / 2;
      return { config, offsetMs, now: () => deviceNow() + offsetMs };
    });
    // A failed look-up is not remembered: the next payment step asks again.
    setup.catch(() => setups.delete(api));
    setups.set(api, setup);
  }
  return setup;
}

export function usePaymentsSetup(api, enabled = true) {
  const [state, setState] = useState({ setup: null, error: null });
  useEffect(() => {
    if (!enabled) return undefined;
    let live = true;
    paymentsSetup(api).then(
      (setup) => live && setState({ setup, error: null }),
      (error) => live && setState({ setup: null, error }),
    );
    return () => {
      live = false;
    };
  }, [api, enabled]);
  return state;
}

// `now()` read every tick (null while there is no clock yet).
export function useClock(now, tickMs = 1000) {
  const [value, setValue] = useState(() => (now ? now() : null));
  useEffect(() => {
    if (!now) return undefined;
    setValue(now());
    const timer = setInterval(() => setValue(now()), tickMs);
    return () => clearInterval(timer);
  }, [now, tickMs]);
  return value;
}

const stripeScripts = new Map();

// Stripe.js must come from its own URL (Stripe's rules; locally localstripe serves a
// stand-in there), so it is a classic <script> added the first time a card form shows:
// shoppers who only buy instant products never download it.
export function loadStripe(url, doc = document) {
  if (!stripeScripts.has(url)) {
    const loading = new Promise((resolve, reject) => {
      const script = doc.createElement("script");
      script.src = url;
      script.async = true;
      script.onload = () => {
        const Stripe = doc.defaultView?.Stripe;
        if (typeof Stripe === "function") resolve(Stripe);
        else reject(new Error("Stripe.js loaded but did not define Stripe"));
      };
      script.onerror = () => reject(new Error("Stripe.js could not be loaded"));
      doc.head.appendChild(script);
    });
    // Offline for a moment: the next attempt adds the script again.
    loading.catch(() => stripeScripts.delete(url));
    stripeScripts.set(url, loading);
  }
  return stripeScripts.get(url);
}

// What an order's state is to the shopper. Money that went back wins over the status:
// a released hold that was paid late, or a cancelled paid order, is "refunded".
export function orderState(order) {
  if (order.refund) return order.refund.reason === "late_payment" ? "late-refund" : "refunded";
  switch (order.status) {
    case "AWAITING_PAYMENT":
      return "awaiting";
    case "RELEASED":
      // releaseReason: "expired", "payment_unavailable", "payment_canceled", "not_prepared",
      // or "cancelled" (the shopper let it go).
      return order.releaseReason === "cancelled" ? "cancelled" : "released";
    case "CANCELLED":
      return "cancelled";
    default:
      return "confirmed";
  }
}

export const STATE_LABELS = {
  awaiting: "Awaiting payment",
  confirmed: "Confirmed",
  released: "Released (hold ended)",
  cancelled: "Cancelled",
  refunded: "Refunded",
  "late-refund": "Refunded",
};

export function holdEndedMessage(order) {
  if (order.releaseReason === "payment_unavailable")
    return `Card payments weren't available, so your hold on ${order.productName} was released and nothing was charged.`;
  // The request that placed the hold never got it ready to pay (it was cut off): the
  // server let the units go; nothing was charged and the shopper may simply order again.
  if (order.releaseReason === "not_prepared")
    return `We couldn't get your hold on ${order.productName} ready for payment, so it was released and nothing was charged. Please order again.`;
  if (order.releaseReason === "payment_canceled")
    return `The payment for your hold on ${order.productName} was cancelled, so the hold was released and nothing was charged.`;
  return `Your hold on ${order.productName} ended at ${formatClock(order.holdExpiresAt)}; the units went back on sale.`;
}

export const LATE_REFUND_MESSAGE = "Your payment arrived after your hold ended, so we refunded it in full.";

// After a 200 from /pay the order waits for Stripe's webhook. What the payment says
// while it waits: still on its way, or turned down after all (the card needs another try).
export function paymentProgress(order) {
  const status = order.payment?.status;
  if (status === "requires_payment_method" || status === "canceled") return "failed";
  // The bank wants the shopper to authenticate (3-D Secure), which this checkout cannot do yet.
  if (status === "requires_action") return "needs-action";
  return "pending";
}
