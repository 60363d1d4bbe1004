import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { expect, it, vi } from "vitest";
import { ApiError } from "../api.js";
import { fakeStripe, typeCard } from "../fakeStripe.js";
import { formatClock } from "../format.js";
import { Checkout } from "./Checkout.jsx";

// The server's clock is hours away from this machine's: every countdown must follow it.
const SERVER = Date.parse("2026-11-27T14:00:00Z");
const at = (ms) => new Date(SERVER + ms).toISOString();

const held = {
  orderId: "o-1",
  productName: "Lamp",
  quantity: 2,
  totalAmount: 49,
  currency: "usd",
  status: "AWAITING_PAYMENT",
  checkout: "pay",
  holdExpiresAt: at(9 * 60_000 + 30_000),
  payment: { provider: "stripe", paymentIntentId: "pi_1", clientSecret: "pi_1_secret_x", status: "requires_payment_method" },
};
const processing = { ...held, payment: { ...held.payment, status: "processing" } };
const confirmed = { ...held, status: "CONFIRMED", paidAt: at(60_000), payment: { ...held.payment, status: "succeeded" } };

function payApi(fields = {}) {
  return {
    paymentsConfig: vi.fn(async () => ({
      provider: "stripe",
      publishableKey: "pk_test_local",
      jsUrl: "http://stripe.test/js.stripe.com/v3/",
      serverTime: new Date(SERVER).toISOString(),
    })),
    payOrder: vi.fn(async () => processing),
    getOrder: vi.fn().mockResolvedValueOnce(processing).mockResolvedValue(confirmed),
    ...fields,
  };
}

function renderCheckout({ api = payApi(), order = held, stripe = fakeStripe(), ...props } = {}) {
  const onDone = vi.fn();
  const onChanged = vi.fn();
  const loadStripeJs = vi.fn(props.loadStripeJs ?? stripe.load);
  render(
    <Checkout
      api={api}
      order={order}
      pollMs={1}
      onDone={onDone}
      onChanged={onChanged}
      {...props}
      loadStripeJs={loadStripeJs}
    />,
  );
  return { api, stripe, onDone, onChanged, loadStripeJs, user: userEvent.setup() };
}

const payButton = () => screen.findByRole("button", { name: "Pay $49.00" });
// The button is there before Stripe.js has loaded and enabled only after: on a
// busy machine that takes longer than one render, so wait for it.
const enabledPayButton = async () => {
  const button = await payButton();
  await waitFor(() => expect(button).toBeEnabled(), { timeout: 4000 });
  return button;
};

it("shows the hold counting down on the server's clock, not the device's", async () => {
  const { api, stripe, loadStripeJs } = renderCheckout();
  expect(await screen.findByRole("timer", { name: "Time left to pay" })).toHaveTextContent(/^9:(30|29)$/);
  expect(screen.getByText(/Held for you until/)).toHaveTextContent(`Held for you until ${formatClock(held.holdExpiresAt)}`);
  expect(screen.getByRole("heading", { name: "Pay for your order" })).toHaveFocus();
  expect(screen.getByText(/2 × Lamp/)).toHaveTextContent("2 × Lamp, $49.00");
  await enabledPayButton();
  expect(api.paymentsConfig).toHaveBeenCalledTimes(1);
  expect(loadStripeJs).toHaveBeenCalledWith("http://stripe.test/js.stripe.com/v3/");
  expect(stripe.calls.keys).toEqual(["pk_test_local"]);
});

it("announces the time left once a minute, never from the ticking clock", async () => {
  renderCheckout();
  const timer = await screen.findByRole("timer");
  // role=timer is aria-live=off; no live region may contain it.
  expect(timer.closest("[aria-live], [role=status], [role=alert]")).toBeNull();
  expect(screen.getByTestId("hold-announcement")).toHaveTextContent("9 minutes left to pay.");
  expect(screen.getByTestId("hold-announcement")).toHaveAttribute("aria-live", "polite");
});

it("labels every card field and pays with the card's id from Stripe.js", async () => {
  const { api, user, onChanged } = renderCheckout({ mailedTo: "lena@example.com" });
  await screen.findByLabelText("Card number");
  expect(screen.getByRole("group", { name: "Card details" })).toBeInTheDocument();
  await typeCard(user, screen);
  await user.click(await payButton());

  const heading = await screen.findByRole("heading", { name: "Order Placed Successfully" });
  expect(heading.closest("[role=status]")).not.toBeNull();
  expect(screen.getByText(/paid\. Order id/)).toHaveTextContent("2 × Lamp, $49.00 paid. Order id o-1.");
  expect(screen.getByText(/A confirmation email/)).toHaveTextContent("lena@example.com");
  // The hold's PaymentIntent goes along: the server then reads Stripe, not the order.
  expect(api.payOrder).toHaveBeenCalledWith("o-1", "card_4242", "pi_1");
  expect(api.getOrder).toHaveBeenCalledTimes(2);
  expect(api.getOrder).toHaveBeenCalledWith("o-1");
  expect(onChanged).toHaveBeenCalled();
  expect(screen.queryByRole("timer")).not.toBeInTheDocument();
});

it("leaves the finished step for the shop or My orders", async () => {
  const { user, onDone } = renderCheckout({ order: confirmed });
  await user.click(screen.getByRole("button", { name: "View my orders" }));
  expect(onDone).toHaveBeenCalledWith("orders");
  await user.click(screen.getByRole("button", { name: "Continue shopping" }));
  expect(onDone).toHaveBeenCalledWith("shop");
});

it("shows the card's message when it is declined and takes another card while the hold lasts", async () => {
  const api = payApi({
    payOrder: vi
      .fn()
      .mockRejectedValueOnce(new ApiError(402, "PAYMENT_FAILED", "Your card has insufficient funds."))
      .mockResolvedValueOnce(processing),
  });
  const { user } = renderCheckout({ api });
  await screen.findByLabelText("Card number");
  await typeCard(user, screen, "4000000000000341");
  await user.click(await payButton());

  const alert = await screen.findByText("Your card wasn't charged.");
  expect(alert.closest("[role=alert]")).toHaveTextContent(
    `Your card wasn't charged. Your card has insufficient funds. You can try another card until ${formatClock(held.holdExpiresAt)}.`,
  );
  await enabledPayButton();

  await user.clear(screen.getByLabelText("Card number"));
  await user.type(screen.getByLabelText("Card number"), "4242424242424242");
  await user.click(await payButton());
  expect(await screen.findByRole("heading", { name: "Order Placed Successfully" })).toBeInTheDocument();
  expect(api.payOrder.mock.calls).toEqual([
    ["o-1", "card_0341", "pi_1"],
    ["o-1", "card_4242", "pi_1"],
  ]);
});

it("asks for the card details instead of paying without them", async () => {
  const { api, user } = renderCheckout();
  await screen.findByLabelText("Card number");
  await user.click(await payButton());
  expect((await screen.findByText("Please check your card details.")).closest("[role=alert]")).toHaveTextContent(
    "Enter the card number, expiry date and security code.",
  );
  expect(api.payOrder).not.toHaveBeenCalled();
});

it("passes on what Stripe.js says about a card it would not take", async () => {
  const { api, user } = renderCheckout({ stripe: fakeStripe({ tokenError: "Your card number is invalid." }) });
  await screen.findByLabelText("Card number");
  await typeCard(user, screen);
  await user.click(await payButton());
  await waitFor(() =>
    expect(screen.getByText("Please check your card details.").closest("[role=alert]")).toHaveTextContent(
      "Your card number is invalid.",
    ),
  );
  expect(api.payOrder).not.toHaveBeenCalled();
});

it("ends the hold when the countdown runs out", async () => {
  const order = { ...held, holdExpiresAt: at(400) };
  const api = payApi({ getOrder: vi.fn(async () => ({ ...order, status: "RELEASED", releasedAt: at(400) })) });
  const { onChanged } = renderCheckout({ api, order, tickMs: 50 });
  expect(await screen.findByTestId("hold-announcement")).toHaveTextContent("Less than a minute left to pay.");
  const alert = (await screen.findByText(/Your hold on Lamp ended/, {}, { timeout: 3000 })).closest("[role=alert]");
  expect(alert).toHaveTextContent(`Your hold on Lamp ended at ${formatClock(order.holdExpiresAt)}; the units went back on sale.`);
  expect(api.getOrder).toHaveBeenCalledWith("o-1");
  expect(screen.queryByRole("button", { name: /^Pay/ })).not.toBeInTheDocument();
  expect(onChanged).toHaveBeenCalled();
});

it("says the hold ended when the server refuses a late payment", async () => {
  const api = payApi({
    payOrder: vi.fn().mockRejectedValue(new ApiError(409, "HOLD_EXPIRED", "hold ended")),
    getOrder: vi.fn(async () => ({ ...held, status: "RELEASED" })),
  });
  const { user } = renderCheckout({ api });
  await screen.findByLabelText("Card number");
  await typeCard(user, screen);
  await user.click(await payButton());
  expect(await screen.findByText(/Your hold on Lamp ended at/)).toHaveTextContent("the units went back on sale.");
});

it("tells the shopper a payment that arrived after the hold was refunded in full", async () => {
  const refunded = {
    ...held,
    status: "RELEASED",
    refund: { refundId: "re_1", refundedAt: at(600_000), reason: "late_payment" },
  };
  const api = payApi({ getOrder: vi.fn().mockResolvedValueOnce(processing).mockResolvedValue(refunded) });
  const { user } = renderCheckout({ api });
  await screen.findByLabelText("Card number");
  await typeCard(user, screen);
  await user.click(await payButton());
  expect(await screen.findByText("Your payment arrived after your hold ended, so we refunded it in full.")).toBeInTheDocument();
  expect(screen.queryByRole("heading", { name: "Order Placed Successfully" })).not.toBeInTheDocument();
});

it("keeps the hold and the form when card payments are unavailable", async () => {
  const api = payApi({
    payOrder: vi.fn().mockRejectedValue(new ApiError(503, "PAYMENT_UNAVAILABLE", "Stripe unreachable")),
    getOrder: vi.fn(async () => held),
  });
  const { user } = renderCheckout({ api });
  await screen.findByLabelText("Card number");
  await typeCard(user, screen);
  await user.click(await payButton());
  const alert = (await screen.findByText(/Card payments aren't available right now/)).closest("[role=alert]");
  expect(alert).toHaveTextContent(`Your units stay held until ${formatClock(held.holdExpiresAt)}; please try again in a moment.`);
  await enabledPayButton();
  expect(screen.getByRole("timer")).toBeInTheDocument();
});

it("stops polling after its attempts and offers to check again", async () => {
  const api = payApi({ getOrder: vi.fn().mockResolvedValueOnce(processing).mockResolvedValueOnce(processing).mockResolvedValueOnce(processing).mockResolvedValue(confirmed) });
  const { user } = renderCheckout({ api, pollAttempts: 3 });
  await screen.findByLabelText("Card number");
  await typeCard(user, screen);
  await user.click(await payButton());
  expect(await screen.findByText(/Your bank hasn't confirmed the payment yet/)).toBeInTheDocument();
  expect(api.getOrder).toHaveBeenCalledTimes(3);
  await user.click(screen.getByRole("button", { name: "Check again" }));
  expect(await screen.findByRole("heading", { name: "Order Placed Successfully" })).toBeInTheDocument();
});

it("goes back to the form when /pay says the payment was turned down after all", async () => {
  const api = payApi({ payOrder: vi.fn(async () => held) });
  const { user } = renderCheckout({ api });
  await screen.findByLabelText("Card number");
  await typeCard(user, screen);
  await user.click(await payButton());
  expect(await screen.findByText("Your payment didn't go through.")).toBeInTheDocument();
  await enabledPayButton();
  expect(api.getOrder).not.toHaveBeenCalled();
});

it("keeps waiting while a read still carries the payment status from before /pay", async () => {
  const api = payApi({ getOrder: vi.fn().mockResolvedValueOnce(held).mockResolvedValue(confirmed) });
  const { user } = renderCheckout({ api });
  await screen.findByLabelText("Card number");
  await typeCard(user, screen);
  await user.click(await payButton());
  expect(await screen.findByRole("heading", { name: "Order Placed Successfully" })).toBeInTheDocument();
});

it("offers to load the card form again when Stripe.js could not be loaded", async () => {
  const stripe = fakeStripe();
  const loadStripeJs = vi.fn().mockRejectedValueOnce(new Error("offline")).mockImplementation(stripe.load);
  const { user } = renderCheckout({ loadStripeJs });
  expect((await screen.findByText(/The card form couldn't be loaded/)).closest("[role=alert]")).toBeInTheDocument();
  await user.click(screen.getByRole("button", { name: "Try again" }));
  expect(await screen.findByLabelText("Card number")).toBeInTheDocument();
});
