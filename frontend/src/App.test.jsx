import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { expect, it, vi } from "vitest";
import { App } from "./App.jsx";

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
