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
