import { render, screen } from "@testing-library/react";
import { expect, it, vi } from "vitest";
import { formatClock } from "../format.js";
import { LazyCheckout } from "./LazyCheckout.jsx";

// The payment step's chunk is gone (an old page after a deploy, or offline).
vi.mock("./Checkout.jsx", () => {
  throw new Error("Failed to fetch dynamically imported module");
});

it("keeps the shopper informed when the payment step cannot be loaded", async () => {
  vi.spyOn(console, "error").mockImplementation(() => {}); // React reports the caught error
  const order = { orderId: "o-1", holdExpiresAt: "2026-11-27T14:05:00Z" };
  render(<LazyCheckout api={{}} order={order} />);
  expect(screen.getByText("Loading the payment step…")).toBeInTheDocument();
  const alert = await screen.findByRole("alert");
  expect(alert).toHaveTextContent(
    `The payment step could not be loaded. Your units stay held until ${formatClock(order.holdExpiresAt)}.`,
  );
  expect(screen.getByRole("button", { name: "Reload" })).toBeInTheDocument();
});
