import { useEffect, useId, useRef, useState } from "react";
import { ApiError, describeError } from "../api.js";
import { formatClock, formatMoney } from "../format.js";
import {
  holdEndedMessage,
  LATE_REFUND_MESSAGE,
  loadStripe,
  orderState,
  paymentProgress,
  useClock,
  usePaymentsSetup,
} from "../payments.js";
import { CardField } from "./CardField.jsx";
import { HoldCountdown } from "./HoldCountdown.jsx";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The payment step for an order that holds units (status AWAITING_PAYMENT): the hold's
// countdown on the server's clock, Stripe's card form, POST /orders/{id}/pay, then reads
// of the order (every `pollMs`, at most `pollAttempts`) until Stripe's webhook settles it.
export function Checkout({
  api,
  order: placed,
  mailedTo,
  onDone,
  onChanged,
  loadStripeJs = loadStripe,
  pollMs = 1000,
  pollAttempts = 30,
  tickMs = 1000,
}) {
  const { setup, error: setupError } = usePaymentsSetup(api);
  const now = useClock(setup?.now ?? null, tickMs);
  const [order, setOrder] = useState(placed);
  // form → paying → confirming → done; "slow" when the webhook is late past the polls.
  const [phase, setPhase] = useState("form");
  const [notice, setNotice] = useState(null);
  const [stripe, setStripe] = useState(null);
  const [stripeError, setStripeError] = useState(null);
  const [loadAttempt, setLoadAttempt] = useState(0);
  const [card, setCard] = useState(null);
  const alive = useRef(true);
  const headingRef = useRef(null);
  const headingId = useId();

  const state = orderState(order);
  const expiresAt = Date.parse(order.holdExpiresAt);
  const expired = now !== null && now >= expiresAt;
  const holdUntil = formatClock(order.holdExpiresAt);
  const money = formatMoney(order.totalAmount, order.currency);

  useEffect(() => {
    alive.current = true;
    // Keyboard and screen-reader users land on the step, not back at the top of the page.
    headingRef.current?.focus();
    return () => {
      alive.current = false;
    };
  }, []);

  useEffect(() => {
    if (!setup) return;
    let live = true;
    setStripeError(null);
    loadStripeJs(setup.config.jsUrl).then(
      (Stripe) => live && setStripe(() => Stripe(setup.config.publishableKey)),
      (error) => live && setStripeError(error),
    );
    return () => {
      live = false;
    };
  }, [setup, loadStripeJs, loadAttempt]);

  function finish(settled) {
    setOrder(settled);
    setPhase("done");
    onChanged?.();
  }

  // The countdown reached the hold's end with no payment on its way: read the order (the
  // server releases an expired hold on read) and show what it says; if the read fails or
  // lags the clock by a moment, the hold has ended all the same. It runs on these changes
  // only: the order it reads is the one on screen when the clock ran out.
  useEffect(() => {
    if (!expired || state !== "awaiting" || phase !== "form") return;
    let live = true;
    const ended = { ...order, status: "RELEASED" };
    api.getOrder(order.orderId).then(
      (latest) => live && finish(orderState(latest) === "awaiting" ? { ...latest, status: "RELEASED" } : latest),
      () => live && finish(ended),
    );
    return () => {
      live = false;
    };
  }, [expired, state, phase]);

  // Reads the order until it leaves AWAITING_PAYMENT or the polls run out. Only /pay's own
  // answer is asked how far the payment got (the contract's word for it): a read made
  // while the webhook is on its way may still carry the status from before the payment.
  async function settle(latest, paidJustNow = false) {
    for (let attempt = 0; ; attempt += 1) {
      if (!alive.current) return;
      if (orderState(latest) !== "awaiting") {
        finish(latest);
        return;
      }
      const progress = attempt === 0 && paidJustNow ? paymentProgress(latest) : "pending";
      if (progress === "failed") {
        setNotice({ kind: "error", headline: "Your payment didn't go through.", detail: `You can try another card until ${holdUntil}.` });
        setPhase("form");
        return;
      }
      if (progress === "needs-action") {
        setNotice({
          kind: "error",
          headline: "Your bank wants to verify this card, which we can't do here yet.",
          detail: `Please try another card before ${holdUntil}.`,
        });
        setPhase("form");
        return;
      }
      if (attempt >= pollAttempts) {
        setPhase("slow");
        return;
      }
      setPhase("confirming");
      await sleep(pollMs);
      if (!alive.current) return;
      try {
        latest = await api.getOrder(order.orderId);
        setOrder(latest);
      } catch {
        // A blip on one read: the next poll tries again.
      }
    }
  }

  // After an answer that is not the card's: the order itself says what happened.
  async function reread(fallback) {
    try {
      const latest = await api.getOrder(order.orderId);
      setOrder(latest);
      return latest;
    } catch {
      return fallback;
    }
  }

  async function pay(event) {
    event.preventDefault();
    if (!card || phase !== "form" || expired) return;
    setPhase("paying");
    setNotice(null);
    let paymentMethod;
    try {
      const result = await stripe.createToken(card);
      if (result.error || !result.token?.card?.id) throw new Error(result.error?.message ?? "");
      paymentMethod = result.token.card.id;
    } catch (error) {
      // The stand-in throws before any input; real Stripe answers {error: {message}}.
      setNotice({
        kind: "error",
        headline: "Please check your card details.",
        detail: error.message && !(error instanceof TypeError) ? error.message : "Enter the card number, expiry date and security code.",
      });
      setPhase("form");
      return;
    }
    try {
      const paid = await api.payOrder(
        order.orderId,
        paymentMethod,
        order.payment?.paymentIntentId,
      );
      setOrder(paid);
      await settle(paid, true);
    } catch (error) {
      if (!alive.current) return;
      const code = error instanceof ApiError ? error.code : null;
      if (code === "PAYMENT_FAILED" || code === "INVALID_REQUEST") {
        setNotice({
          kind: "error",
          headline: code === "PAYMENT_FAILED" ? "Your card wasn't charged." : "That card couldn't be used.",
          detail: `${error.message} You can try another card until ${holdUntil}.`,
        });
        setPhase("form");
        return;
      }
      const latest = await reread(code === "HOLD_EXPIRED" ? { ...order, status: "RELEASED" } : order);
      if (!alive.current) return;
      if (orderState(latest) !== "awaiting") {
        finish(latest);
        return;
      }
      if (code === "HOLD_EXPIRED") {
        finish({ ...latest, status: "RELEASED" });
        return;
      }
      // The request may have reached Stripe before the answer was lost: follow the payment.
      if (["processing", "succeeded"].includes(latest.payment?.status)) {
        await settle(latest);
        return;
      }
      setNotice(
        code === "PAYMENT_UNAVAILABLE"
          ? {
              kind: "error",
              headline: "Card payments aren't available right now, so nothing was charged.",
              detail: `Your units stay held until ${holdUntil}; please try again in a moment.`,
            }
          : { kind: "error", ...describeError(error) },
      );
      setPhase("form");
    }
  }

  function checkAgain() {
    setPhase("confirming");
    reread(order).then((latest) => settle(latest));
  }

  const actions = (
    <div className="checkout-actions">
      <button type="button" onClick={() => onDone?.("shop")}>
        Continue shopping
      </button>
      <button type="button" onClick={() => onDone?.("orders")}>
        View my orders
      </button>
    </div>
  );

  let body;
  if (state === "confirmed") {
    body = (
      <div className="checkout-result success" role="status">
        <h3>Order Placed Successfully</h3>
        <p>
          {order.quantity} × {order.productName}, {money} paid. Order id <span className="mono">{order.orderId}</span>.
        </p>
        {mailedTo && (
          <p>
            A confirmation email is on its way to <strong>{mailedTo}</strong>.
          </p>
        )}
        {actions}
      </div>
    );
  } else if (state !== "awaiting") {
    const message = {
      released: holdEndedMessage(order),
      "late-refund": LATE_REFUND_MESSAGE,
      refunded: "This order was cancelled and your payment refunded in full.",
      cancelled: "This order was cancelled.",
    }[state];
    body = (
      <div className="checkout-result ended" role="alert">
        <p>
          <strong>{message}</strong>
        </p>
        {actions}
      </div>
    );
  } else {
    const busy = phase === "paying" || phase === "confirming";
    body = (
      <>
        {now !== null && <HoldCountdown holdExpiresAt={order.holdExpiresAt} now={now} />}
        {setupError && (
          <p role="alert">
            Card payments can't be set up right now: {describeError(setupError).detail} Your units stay held until{" "}
            {holdUntil}.
          </p>
        )}
        {stripeError && (
          <div role="alert">
            <p>The card form couldn't be loaded. Check your connection and try again.</p>
            <button type="button" onClick={() => setLoadAttempt((n) => n + 1)}>
              Try again
            </button>
          </div>
        )}
        {!stripe && !setupError && !stripeError && <p aria-busy="true">Loading the card form…</p>}
        {stripe && (
          <form className="pay-form" onSubmit={pay} aria-labelledby={headingId} noValidate>
            <CardField stripe={stripe} disabled={busy || expired || phase === "slow"} onCard={setCard} />
            <button type="submit" className="pay" disabled={!card || busy || expired || phase === "slow"}>
              {phase === "paying" ? "Paying…" : `Pay ${money}`}
            </button>
          </form>
        )}
        <div className="notice error" role="alert">
          {notice && (
            <>
              <strong>{notice.headline}</strong> <span>{notice.detail}</span>
            </>
          )}
        </div>
        <p className="progress" role="status">
          {phase === "paying" ? "Sending your payment…" : phase === "confirming" ? "Payment sent. Confirming your order…" : ""}
        </p>
        {phase === "slow" && (
          <div className="notice info">
            <p>
              Your bank hasn't confirmed the payment yet. It shows in My orders as soon as it does; if it arrives after{" "}
              {holdUntil}, we refund it in full.
            </p>
            <button type="button" onClick={checkAgain}>
              Check again
            </button>
          </div>
        )}
      </>
    );
  }

  return (
    <section className="checkout" aria-labelledby={headingId}>
      <h2 id={headingId} ref={headingRef} tabIndex={-1}>
        {state === "confirmed" ? "Payment received" : "Pay for your order"}
      </h2>
      <p className="checkout-summary">
        {order.quantity} × {order.productName}, <strong>{money}</strong>
      </p>
      {body}
    </section>
  );
}
