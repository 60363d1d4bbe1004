import { act, render, screen } from "@testing-library/react";
import { afterEach, expect, it, vi } from "vitest";
import { fakeAdminApi } from "./admin/fakeAdminApi.js";
import { Root } from "./Root.jsx";
import { navigate } from "./router.jsx";

afterEach(() => window.history.replaceState({}, "", "/"));

const shopApi = () => ({
  now: () => Date.parse("2026-11-27T00:00:00Z"),
  listProducts: vi.fn(async () => ({ products: [], count: 0 })),
  listOrders: vi.fn(async () => ({ orders: [] })),
});
const auth = { enabled: false, session: () => null, token: () => null };

it("shows the shop at / and loads the console on demand at /admin", async () => {
  render(<Root shop={{ api: shopApi(), auth }} admin={{ api: fakeAdminApi(), auth }} />);
  expect(screen.getByRole("heading", { name: "FlashSale" })).toBeInTheDocument();
  act(() => navigate("/admin"));
  expect(screen.getByText("Loading the operator console…")).toBeInTheDocument();
  expect(await screen.findByRole("heading", { name: /operator console/ })).toBeInTheDocument();
  expect(await screen.findByRole("link", { name: "Desk lamp" })).toBeInTheDocument();
});
