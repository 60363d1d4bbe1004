import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../api.js";
import { MyOrders } from "./MyOrders.jsx";

const confirmed = {
  orderId: "o-1",
  productName: "Headphones",
  quantity: 2,
  totalAmount: 159.98,
  status: "CONFIRMED",
  createdAt: "2026-11-27T00:00:01.000Z",
};

it("lists the shopper's orders with their status", async () => {
  const listOrders = vi.fn().mockResolvedValue({
    orders: [confirmed, { ...confirmed, orderId: "o-0", status: "CANCELLED", cancelledAt: "2026-11-27T00:01:00Z" }],
  });
  render(<MyOrders api={{ listOrders }} userId="alice" />);
  expect(await screen.findByRole("cell", { name: "o-1" })).toBeInTheDocument();
  expect(screen.getAllByRole("cell", { name: "$159.98" })).toHaveLength(2);
  expect(listOrders).toHaveBeenCalledWith("alice");
  const [, first, second] = screen.getAllByRole("row");
  expect(first).toHaveTextContent("Confirmed");
  expect(within(first).getByRole("button", { name: "Cancel order o-1" })).toBeInTheDocument();
  expect(second).toHaveTextContent("Cancelled");
  expect(within(second).queryByRole("button")).not.toBeInTheDocument();
});

it("says when there are no orders", async () => {
  render(<MyOrders api={{ listOrders: vi.fn().mockResolvedValue({ orders: [] }) }} userId="bob" />);
  expect(await screen.findByText("No orders yet for bob.")).toBeInTheDocument();
});

it("cancels an order only after the shopper confirms", async () => {
  const cancelOrder = vi.fn(async (orderId) => ({ ...confirmed, orderId, status: "CANCELLED" }));
  const onCancelled = vi.fn();
  const api = { listOrders: vi.fn().mockResolvedValue({ orders: [confirmed] }), cancelOrder };
  render(<MyOrders api={api} userId="a@example.com" onCancelled={onCancelled} />);
  const user = userEvent.setup();

  await user.click(await screen.findByRole("button", { name: "Cancel order o-1" }));
  const dialog = screen.getByRole("dialog", { name: "Cancel this order?" });
  expect(dialog).toHaveTextContent("2 × Headphones");
  await user.click(within(dialog).getByRole("button", { name: "Keep order" }));
  expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  expect(cancelOrder).not.toHaveBeenCalled();

  await user.click(screen.getByRole("button", { name: "Cancel order o-1" }));
  await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Cancel order" }));

  await waitFor(() => expect(screen.getAllByRole("row")[1]).toHaveTextContent("Cancelled"));
  expect(cancelOrder).toHaveBeenCalledWith("o-1", "a@example.com");
  expect(onCancelled).toHaveBeenCalledWith(expect.objectContaining({ status: "CANCELLED" }));
  expect(screen.getByRole("status")).toHaveTextContent("Order cancelled: 2 × Headphones.");
  expect(screen.queryByRole("button", { name: "Cancel order o-1" })).not.toBeInTheDocument();
});

it("explains that the cancellation window has passed", async () => {
  const cancelOrder = vi.fn().mockRejectedValue(new ApiError(409, "ORDER_NOT_CANCELLABLE", "window of 15 minutes passed"));
  const api = { listOrders: vi.fn().mockResolvedValue({ orders: [confirmed] }), cancelOrder };
  render(<MyOrders api={api} userId="alice" />);
  const user = userEvent.setup();
  await user.click(await screen.findByRole("button", { name: "Cancel order o-1" }));
  await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Cancel order" }));

  const alert = await screen.findByRole("alert");
  expect(alert).toHaveTextContent("This order can no longer be cancelled: its cancellation window has passed.");
  expect(alert).toHaveTextContent("window of 15 minutes passed");
  expect(screen.getAllByRole("row")[1]).toHaveTextContent("Confirmed");
});

describe("paid orders", () => {
  const SERVER = Date.parse("2026-11-27T14:00:00Z");
  const config = { publishableKey: "pk_test_local", jsUrl: "http://stripe.test/v3/", serverTime: new Date(SERVER).toISOString() };
  const held = {
    ...confirmed,
    orderId: "o-held",
    status: "AWAITING_PAYMENT",
    checkout: "pay",
    currency: "eur",
    holdExpiresAt: new Date(SERVER + 7 * 60_000 + 30_000).toISOString(),
  };
  const orders = [
    held,
    { ...confirmed, orderId: "o-paid", checkout: "pay", paidAt: "2026-11-27T00:02:00Z" },
    { ...confirmed, orderId: "o-ended", status: "RELEASED", checkout: "pay", releasedAt: "2026-11-27T00:10:00Z" },
    { ...confirmed, orderId: "o-gone", status: "CANCELLED" },
    { ...confirmed, orderId: "o-refund", status: "CANCELLED", refund: { refundId: "re_1", reason: "cancelled" } },
    { ...confirmed, orderId: "o-late", status: "RELEASED", refund: { refundId: "re_2", reason: "late_payment" } },
  ];
  const row = (id) => screen.getByRole("cell", { name: id }).closest("tr");

  it("shows each state, and time left with Pay now on a held order", async () => {
    const onPay = vi.fn();
    const api = { listOrders: vi.fn().mockResolvedValue({ orders }), paymentsConfig: vi.fn(async () => config) };
    render(<MyOrders api={api} userId="alice" onPay={onPay} />);
    await screen.findByRole("cell", { name: "o-held" });

    await waitFor(() => expect(row("o-held")).toHaveTextContent(/Awaiting paymentuntil \d\d:\d\d, 7 min left/));
    expect(within(row("o-held")).getByRole("cell", { name: "€159.98" })).toBeInTheDocument();
    expect(row("o-paid")).toHaveTextContent("Confirmed");
    expect(row("o-ended")).toHaveTextContent("Released (hold ended)");
    expect(row("o-gone")).toHaveTextContent("Cancelled");
    expect(row("o-refund")).toHaveTextContent("RefundedCancelled; refunded in full");
    expect(row("o-late")).toHaveTextContent("RefundedPaid after the hold ended; refunded in full");
    expect(api.paymentsConfig).toHaveBeenCalledTimes(1);

    // Pay now only where there is a hold; cancel only what is still live.
    expect(screen.getAllByRole("button", { name: /^Pay now/ })).toHaveLength(1);
    expect(screen.getAllByRole("button", { name: /^Cancel order/ }).map((b) => b.getAttribute("aria-label"))).toEqual([
      "Cancel order o-held",
      "Cancel order o-paid",
    ]);
    await userEvent.setup().click(screen.getByRole("button", { name: "Pay now for order o-held" }));
    expect(onPay).toHaveBeenCalledWith(held);
  });

  it("shows a hold past its time as released, without Pay now", async () => {
    const api = {
      listOrders: vi.fn().mockResolvedValue({ orders: [{ ...held, holdExpiresAt: new Date(SERVER - 1000).toISOString() }] }),
      paymentsConfig: vi.fn(async () => config),
    };
    render(<MyOrders api={api} userId="alice" onPay={vi.fn()} />);
    await waitFor(() => expect(screen.getAllByRole("row")[1]).toHaveTextContent("Released (hold ended)"));
    expect(screen.queryByRole("button", { name: /Pay now/ })).not.toBeInTheDocument();
  });

  it("lets a shopper give up a hold, shown as cancelled", async () => {
    const cancelOrder = vi.fn(async (orderId) => ({ orderId, status: "RELEASED", releaseReason: "cancelled" }));
    const api = { listOrders: vi.fn().mockResolvedValue({ orders: [held] }), paymentsConfig: vi.fn(async () => config), cancelOrder };
    render(<MyOrders api={api} userId="alice" onPay={vi.fn()} />);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Cancel order o-held" }));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Cancel order" }));
    await waitFor(() => expect(screen.getAllByRole("row")[1]).toHaveTextContent("Cancelled"));
    expect(screen.queryByRole("button", { name: /Pay now/ })).not.toBeInTheDocument();
  });

  it("asks nothing about payments when no order is held", async () => {
    const api = { listOrders: vi.fn().mockResolvedValue({ orders: [confirmed] }), paymentsConfig: vi.fn() };
    render(<MyOrders api={api} userId="alice" />);
    await screen.findByRole("cell", { name: "o-1" });
    expect(api.paymentsConfig).not.toHaveBeenCalled();
  });
});
