import { render, screen } from "@testing-library/react";
import { expect, it, vi } from "vitest";
import { MyOrders } from "./MyOrders.jsx";

it("lists the shopper's orders", async () => {
  const listOrders = vi.fn().mockResolvedValue({
    orders: [
      {
        orderId: "o-1",
        productName: "Headphones",
        quantity: 2,
        totalAmount: 159.98,
        createdAt: "2026-11-27T00:00:01.000Z",
      },
    ],
  });
  render(<MyOrders api={{ listOrders }} userId="alice" />);
  expect(await screen.findByRole("cell", { name: "o-1" })).toBeInTheDocument();
  expect(screen.getByRole("cell", { name: "$159.98" })).toBeInTheDocument();
  expect(listOrders).toHaveBeenCalledWith("alice");
});

it("says when there are no orders", async () => {
  render(<MyOrders api={{ listOrders: vi.fn().mockResolvedValue({ orders: [] }) }} userId="bob" />);
  expect(await screen.findByText("No orders yet for bob.")).toBeInTheDocument();
});
