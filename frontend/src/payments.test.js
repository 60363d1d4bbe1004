import { expect, it, vi } from "vitest";
import { holdEndedMessage, loadStripe, orderState, paymentProgress, paymentsSetup, STATE_LABELS } from "./payments.js";

it("fixes the server-clock offset once, from the middle of the config round trip", async () => {
  const device = vi.fn().mockReturnValueOnce(1_000).mockReturnValueOnce(1_200).mockReturnValue(5_000);
  const api = { paymentsConfig: vi.fn(async () => ({ serverTime: new Date(61_100).toISOString() })) };
  const setup = await paymentsSetup(api, device);
  expect(setup.offsetMs).toBe(60_000);
  expect(setup.now()).toBe(65_000);
  expect(await paymentsSetup(api, device)).toBe(setup);
  expect(api.paymentsConfig).toHaveBeenCalledTimes(1);
});

it("asks for the config again after a failed look-up", async () => {
  const api = {
    paymentsConfig: vi
      .fn()
      .mockRejectedValueOnce(new Error("down"))
      .mockResolvedValue({ serverTime: "2026-11-27T00:00:00Z", jsUrl: "x" }),
  };
  await expect(paymentsSetup(api)).rejects.toThrow("down");
  expect((await paymentsSetup(api)).config.jsUrl).toBe("x");
});

it.each([
  [{ status: "AWAITING_PAYMENT" }, "awaiting", "Awaiting payment"],
  [{ status: "CONFIRMED" }, "confirmed", "Confirmed"],
  [{}, "confirmed", "Confirmed"],
  [{ status: "RELEASED" }, "released", "Released (hold ended)"],
  [{ status: "RELEASED", releaseReason: "expired" }, "released", "Released (hold ended)"],
  [{ status: "RELEASED", releaseReason: "cancelled" }, "cancelled", "Cancelled"],
  [{ status: "CANCELLED" }, "cancelled", "Cancelled"],
  [{ status: "CANCELLED", refund: { reason: "cancelled" } }, "refunded", "Refunded"],
  [{ status: "RELEASED", refund: { reason: "late_payment" } }, "late-refund", "Refunded"],
])("reads %o as %s", (order, state, label) => {
  expect(orderState(order)).toBe(state);
  expect(STATE_LABELS[state]).toBe(label);
});

it.each([
  ["processing", "pending"],
  ["succeeded", "pending"],
  [undefined, "pending"],
  ["requires_payment_method", "failed"],
  ["requires_action", "needs-action"],
])("reads payment status %s after /pay as %s", (status, progress) => {
  expect(paymentProgress({ payment: status ? { status } : undefined })).toBe(progress);
});

it("adds Stripe.js once as a classic script and hands back its Stripe", async () => {
  const url = "http://stripe.test/js.stripe.com/v3/";
  const first = loadStripe(url);
  const again = loadStripe(url);
  const scripts = document.head.querySelectorAll(`script[src="${url}"]`);
  expect(scripts).toHaveLength(1);
  expect(scripts[0].type).toBe("");
  window.Stripe = () => ({});
  scripts[0].onload();
  expect(await first).toBe(window.Stripe);
  expect(again).toBe(first);
  delete window.Stripe;
});

it("lets a failed Stripe.js load be tried again", async () => {
  const url = "http://stripe.test/offline/v3/";
  const failed = loadStripe(url);
  document.head.querySelector(`script[src="${url}"]`).onerror();
  await expect(failed).rejects.toThrow("could not be loaded");
  expect(loadStripe(url)).not.toBe(failed);
});

it("says why a hold ended", () => {
  const order = { productName: "Lamp", holdExpiresAt: "2026-11-27T14:05:00Z", status: "RELEASED" };
  expect(holdEndedMessage({ ...order, releaseReason: "expired" })).toMatch(
    /^Your hold on Lamp ended at \d\d:\d\d; the units went back on sale\.$/,
  );
  expect(holdEndedMessage({ ...order, releaseReason: "payment_unavailable" })).toBe(
    "Card payments weren't available, so your hold on Lamp was released and nothing was charged.",
  );
  // A hold whose request was cut off before it could be paid (released by the server's check).
  expect(holdEndedMessage({ ...order, releaseReason: "not_prepared" })).toBe(
    "We couldn't get your hold on Lamp ready for payment, so it was released and nothing was charged. Please order again.",
  );
  expect(holdEndedMessage({ ...order, releaseReason: "payment_canceled" })).toBe(
    "The payment for your hold on Lamp was cancelled, so the hold was released and nothing was charged.",
  );
});
