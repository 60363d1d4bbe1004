import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, expect, it, vi } from "vitest";
import { createApi } from "./api.js";
import { App, initialUser, isAddress } from "./App.jsx";
import { fakeStripe, typeCard } from "./fakeStripe.js";

beforeEach(() => window.localStorage.clear());

it("buys from the grid, confirms with the order id and refreshes stock", async () => {
  let stock = 5;
  const api = {
    now: () => Date.parse("2026-11-27T00:00:00Z"),
    listProducts: vi.fn(async () => ({
      products: [{ productId: "p1", name: "Lamp", price: 24.5, stock, maxPerUser: 5 }],
      count: 1,
    })),
    listOrders: vi.fn(async () => ({ orders: [] })),
    placeOrder: vi.fn(async (order) => {
      stock -= order.quantity;
      return { orderId: "order-42", productName: "Lamp", quantity: order.quantity, totalAmount: 24.5 };
    }),
  };
  render(<App api={api} />);
  const user = userEvent.setup();

  await user.click(await screen.findByRole("button", { name: "Buy Lamp" }));

  const confirmation = await screen.findByRole("status", { name: "Order confirmation" });
  expect(confirmation).toHaveTextContent("order-42");
  await waitFor(() => expect(screen.getByTestId("stock")).toHaveTextContent("4 left"));

  await user.click(screen.getByRole("button", { name: "My orders" }));
  expect(await screen.findByText(/No orders yet/)).toBeInTheDocument();
});

function fakeAuth(session) {
  return {
    enabled: true,
    session: () => session,
    completeSignIn: vi.fn(async () => session),
    signIn: vi.fn(),
    signOut: vi.fn(),
    token: () => session?.idToken ?? null,
  };
}

function shopApi() {
  return {
    now: () => Date.parse("2026-11-27T00:00:00Z"),
    listProducts: vi.fn(async () => ({
      products: [{ productId: "p1", name: "Lamp", price: 24.5, stock: 5 }],
      count: 1,
    })),
    listOrders: vi.fn(async () => ({ orders: [] })),
    placeOrder: vi.fn(async (order) => ({
      orderId: "order-7",
      productName: "Lamp",
      quantity: order.quantity,
      totalAmount: 24.5,
    })),
  };
}

it("asks a signed-out shopper to sign in instead of buying", async () => {
  const auth = fakeAuth(null);
  const api = shopApi();
  render(<App api={api} auth={auth} />);
  await userEvent.setup().click(await screen.findByRole("button", { name: "Buy Lamp" }));
  expect(auth.signIn).toHaveBeenCalled();
  expect(api.placeOrder).not.toHaveBeenCalled();
  expect(screen.queryByLabelText("Shopping as")).not.toBeInTheDocument();
});

it("buys as the signed-in shopper", async () => {
  const auth = fakeAuth({ userId: "sub-42", email: "a@b.c", idToken: "t", expiresAt: Infinity });
  const api = shopApi();
  render(<App api={api} auth={auth} />);
  expect(await screen.findByText("Signed in as a@b.c")).toBeInTheDocument();
  await userEvent.setup().click(await screen.findByRole("button", { name: "Buy Lamp" }));
  await waitFor(() => expect(api.placeOrder).toHaveBeenCalled());
  expect(api.placeOrder.mock.calls[0][0]).toEqual({ userId: "sub-42", productId: "p1", quantity: 1 });
});

it("gives a new shopper an address as dev identity and keeps a saved one", () => {
  const first = initialUser();
  expect(first).toMatch(/^shopper-[a-z0-9]{4,}@example\.com$/);
  expect(isAddress(first)).toBe(true);
  expect(initialUser()).toBe(first);
  window.localStorage.setItem("flashsale.userId", "alice-ui");
  expect(initialUser()).toBe("alice-ui");
  expect(initialUser({ getItem: () => null, setItem: () => {} })).not.toBe(first);
});

it("says where the confirmation email goes when the identity is an address", async () => {
  window.localStorage.setItem("flashsale.userId", "lena@example.com");
  const api = shopApi();
  render(<App api={api} />);
  expect(await screen.findByLabelText("Shopping as")).toHaveValue("lena@example.com");
  await userEvent.setup().click(await screen.findByRole("button", { name: "Buy Lamp" }));
  const confirmation = await screen.findByRole("status", { name: "Order confirmation" });
  expect(confirmation).toHaveTextContent("A confirmation email is on its way to lena@example.com.");
});

it("promises no email to an identity that is not an address", async () => {
  window.localStorage.setItem("flashsale.userId", "alice-ui");
  render(<App api={shopApi()} />);
  await userEvent.setup().click(await screen.findByRole("button", { name: "Buy Lamp" }));
  const confirmation = await screen.findByRole("status", { name: "Order confirmation" });
  expect(confirmation).toHaveTextContent("order-7");
  expect(confirmation).not.toHaveTextContent("email");
});

it("names the signed-in shopper's verified address", async () => {
  const auth = fakeAuth({ userId: "sub-42", email: "a@b.c", idToken: "t", expiresAt: Infinity });
  render(<App api={shopApi()} auth={auth} />);
  await userEvent.setup().click(await screen.findByRole("button", { name: "Buy Lamp" }));
  expect(await screen.findByRole("status", { name: "Order confirmation" })).toHaveTextContent(
    "A confirmation email is on its way to a@b.c.",
  );
});

it("cancels from My orders and refreshes the stock", async () => {
  window.localStorage.setItem("flashsale.userId", "lena@example.com");
  let stock = 4;
  const api = {
    ...shopApi(),
    listProducts: vi.fn(async () => ({ products: [{ productId: "p1", name: "Lamp", price: 24.5, stock }], count: 1 })),
    listOrders: vi.fn(async () => ({
      orders: [{ orderId: "o-9", productName: "Lamp", quantity: 1, totalAmount: 24.5, status: "CONFIRMED", createdAt: "2026-11-27T00:00:00Z" }],
    })),
    cancelOrder: vi.fn(async (orderId) => {
      stock += 1;
      return { orderId, status: "CANCELLED", cancelledAt: "2026-11-27T00:01:00Z" };
    }),
  };
  render(<App api={api} />);
  const user = userEvent.setup();
  await user.click(screen.getByRole("button", { name: "My orders" }));
  await user.click(await screen.findByRole("button", { name: "Cancel order o-9" }));
  const calls = api.listProducts.mock.calls.length;
  await user.click(screen.getByRole("button", { name: "Cancel order" }));
  await waitFor(() => expect(api.cancelOrder).toHaveBeenCalledWith("o-9", "lena@example.com"));
  await waitFor(() => expect(api.listProducts.mock.calls.length).toBeGreaterThan(calls));
  await user.click(screen.getByRole("button", { name: "Shop" }));
  expect(screen.getByTestId("stock")).toHaveTextContent("5 left");
});

it("goes back to the page that asked to sign in once the code is traded", async () => {
  window.history.replaceState({}, "", "/?code=abc&state=s");
  const auth = {
    ...fakeAuth({ userId: "sub-1", email: "op@example.com", idToken: "t", expiresAt: Infinity }),
    takeReturnPath: vi.fn(() => "/admin/sales/lamp"),
  };
  render(<App api={shopApi()} auth={auth} />);
  await waitFor(() => expect(window.location.pathname).toBe("/admin/sales/lamp"));
  expect(window.location.search).toBe("");
  window.history.replaceState({}, "", "/");
});

function payShopApi({ order = {} } = {}) {
  const held = {
    orderId: "order-9",
    productName: "Lamp",
    quantity: 1,
    totalAmount: 24.5,
    status: "AWAITING_PAYMENT",
    checkout: "pay",
    currency: "usd",
    holdExpiresAt: "2026-11-27T00:10:00Z",
    payment: { provider: "stripe", paymentIntentId: "pi_9", status: "requires_payment_method" },
    ...order,
  };
  const paid = { ...held, status: "CONFIRMED", payment: { ...held.payment, status: "succeeded" } };
  return {
    held,
    api: {
      ...shopApi(),
      placeOrder: vi.fn(async () => held),
      listOrders: vi.fn(async () => ({ orders: [held] })),
      paymentsConfig: vi.fn(async () => ({ publishableKey: "pk_test_local", jsUrl: "http://stripe.test/v3/", serverTime: "2026-11-27T00:00:00Z" })),
      payOrder: vi.fn(async () => ({ ...held, payment: { ...held.payment, status: "processing" } })),
      getOrder: vi.fn(async () => paid),
    },
  };
}

it("takes a pay product's hold to the payment step and confirms once paid", async () => {
  window.localStorage.setItem("flashsale.userId", "lena@example.com");
  const { api } = payShopApi();
  const stripe = fakeStripe();
  render(<App api={api} loadStripeJs={stripe.load} />);
  const user = userEvent.setup();
  await user.click(await screen.findByRole("button", { name: "Buy Lamp" }));

  expect(await screen.findByRole("heading", { name: "Pay for your order" })).toBeInTheDocument();
  expect(screen.queryByRole("status", { name: "Order confirmation" })).not.toBeInTheDocument();
  expect(screen.queryByRole("button", { name: "Buy Lamp" })).not.toBeInTheDocument();
  expect(await screen.findByRole("timer")).toHaveTextContent(/^(10:00|9:59)$/);
  await screen.findByLabelText("Card number");
  await typeCard(user, screen);
  await user.click(screen.getByRole("button", { name: "Pay $24.50" }));

  expect(await screen.findByRole("heading", { name: "Order Placed Successfully" }, { timeout: 3000 })).toBeInTheDocument();
  expect(screen.getByText(/A confirmation email/)).toHaveTextContent("lena@example.com");
  expect(api.payOrder).toHaveBeenCalledWith("order-9", "card_4242", "pi_9");
  await user.click(screen.getByRole("button", { name: "Continue shopping" }));
  expect(await screen.findByRole("button", { name: "Buy Lamp" })).toBeInTheDocument();
});

it("returns to the payment step from Pay now in My orders", async () => {
  const { api } = payShopApi();
  render(<App api={api} loadStripeJs={fakeStripe().load} />);
  const user = userEvent.setup();
  await user.click(screen.getByRole("button", { name: "My orders" }));
  const row = (await screen.findByRole("cell", { name: "order-9" })).closest("tr");
  await waitFor(() => expect(row).toHaveTextContent("Awaiting payment"));
  await user.click(screen.getByRole("button", { name: "Pay now for order order-9" }));
  expect(await screen.findByRole("heading", { name: "Pay for your order" })).toBeInTheDocument();
  expect(screen.getByRole("button", { name: "Shop" })).toHaveAttribute("aria-pressed", "false");
  expect(screen.getByRole("button", { name: "My orders" })).toHaveAttribute("aria-pressed", "false");
  await user.click(await screen.findByRole("button", { name: "Pay $24.50" }));
  expect(await screen.findByText("Please check your card details.")).toBeInTheDocument();
});

it("joins a product's waiting room over the real client and keeps the ticket for a reload", async () => {
  const reply = (body, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  const product = {
    productId: "drop",
    name: "Sneaker drop",
    price: 120,
    stock: 1000,
    saleStartsAt: "2099-01-01T00:00:00Z",
    waitingRoom: { ratePerSecond: 20, passSeconds: 120 },
  };
  const fetch = vi.fn(async (url, init) => {
    const path = new URL(url).pathname;
    if (path === "/products") return reply({ products: [product], count: 1 });
    if (path === "/products/drop/queue" && init.method === "GET")
      return reply({ productId: "drop", phase: "PREQUEUE", commitment: "ab12", seed: null, digest: null, preCount: null,
        queueLength: 0, admittedThrough: 0, ratePerSecond: 20, unitsLeft: 1000, pages: 0, pollAfterSeconds: 15,
        startsAt: product.saleStartsAt, updatedAt: "2026-12-07T10:00:00Z" });
    if (path === "/products/drop/queue/join" && init.method === "POST")
      return reply({ ticket: "t-1", entryId: "e-1", rank: null, status: "WAITING" }, 201);
    return reply({ code: "NOT_FOUND", message: path }, 404);
  });
  window.localStorage.setItem("flashsale.userId", "dana@example.com");
  const { unmount } = render(<App api={createApi("http://shop", fetch)} />);

  await userEvent.setup().click(await screen.findByRole("button", { name: "Join the queue for Sneaker drop" }));
  expect(await screen.findByTestId("queue-message")).toHaveTextContent("You're in the queue.");
  const join = fetch.mock.calls.find(([, init]) => init.method === "POST");
  expect(join[0]).toBe("http://shop/products/drop/queue/join");
  expect(JSON.parse(join[1].body)).toEqual({ userId: "dana@example.com" });
  expect(screen.queryByRole("button", { name: "Buy Sneaker drop" })).not.toBeInTheDocument();

  unmount();
  render(<App api={createApi("http://shop", fetch)} />);
  expect(await screen.findByTestId("queue-message")).toHaveTextContent("You're in the queue.");
  expect(fetch.mock.calls.filter(([, init]) => init.method === "POST")).toHaveLength(1);
});
