import { render, screen } from "@testing-library/react";
import { expect, it, vi } from "vitest";
import { LazyWaitingRoom } from "./LazyWaitingRoom.jsx";

// The waiting room's chunk is gone (an old page after a deploy, or offline).
vi.mock("./WaitingRoom.jsx", () => {
  throw new Error("Failed to fetch dynamically imported module");
});

it("keeps the shopper informed when the waiting room cannot be loaded", async () => {
  vi.spyOn(console, "error").mockImplementation(() => {}); // React reports the caught error
  render(<LazyWaitingRoom product={{ productId: "p1", name: "Lamp" }} api={{}} userId="alice" now={0} />);
  expect(screen.getByText("Loading the waiting room…")).toBeInTheDocument();
  expect(await screen.findByRole("alert")).toHaveTextContent(
    "The waiting room could not be loaded. Any place you have in the queue is kept.",
  );
  expect(screen.getByRole("button", { name: "Reload" })).toBeInTheDocument();
});
