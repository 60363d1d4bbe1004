import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../api.js";
import { SaleOrders } from "./SaleOrders.jsx";

const order = (n, fields = {}) => ({
  orderId: `o-${n}`,
  userId: `shopper${n}@example.com`,
  productId: "lamp",
  productName: "Lamp",
  quantity: 1,
  unitPrice: 5,
  totalAmount: 5,
  status: "CONFIRMED",
  createdAt: "2026-11-27T10:00:00.000000Z",
  ...fields,
});

function fakeApi(overrides = {}) {
  return {
    orders: vi.fn(async () => ({ orders: [order(2), order(1)] })),
    cancelOrder: vi.fn(async (orderId) => ({ ...order(1), orderId, status: "CANCELLED", cancelledAt: "2026-11-27T10:05:00Z" })),
    ordersCsv: vi.fn(async () => new Blob(["orderId\n"], { type: "text/csv" })),
    ...overrides,
  };
}

const rows = () => screen.getAllByRole("row").slice(1);

describe("SaleOrders", () => {
  it("lists the sale's orders newest first", async () => {
    const api = fakeApi();
    render(<SaleOrders api={api} productId="lamp" />);
    expect(screen.getByText("Loading orders…")).toBeInTheDocument();
    await waitFor(() => expect(rows()).toHaveLength(2));
    expect(rows()[0]).toHaveTextContent("o-2");
    expect(rows()[0]).toHaveTextContent("shopper2@example.com");
    expect(api.orders).toHaveBeenCalledWith("lamp", { limit: 50 });
  });

  it("says when there are none", async () => {
    render(<SaleOrders api={fakeApi({ orders: vi.fn(async () => ({ orders: [] })) })} productId="lamp" />);
    expect(await screen.findByText("No orders yet.")).toBeInTheDocument();
  });

  it.each([
    ["Shopper", "userId", "shopper1@example.com"],
    ["Order id", "orderId", "o-1"],
  ])("searches by %s", async (option, param, value) => {
    const api = fakeApi();
    render(<SaleOrders api={api} productId="lamp" />);
    const user = userEvent.setup();
    await waitFor(() => expect(rows()).toHaveLength(2));
    api.orders.mockResolvedValueOnce({ orders: [order(1)] });
    await user.selectOptions(screen.getByLabelText("Find by"), option);
    await user.type(screen.getByRole("searchbox"), `  ${value} {Enter}`);
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(api.orders).toHaveBeenLastCalledWith("lamp", { limit: 50, [param]: value });

    api.orders.mockResolvedValueOnce({ orders: [] });
    await user.clear(screen.getByRole("searchbox"));
    await user.type(screen.getByRole("searchbox"), "nobody{Enter}");
    expect(await screen.findByText("No orders of this sale match “nobody”.")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Show all" }));
    await waitFor(() => expect(rows()).toHaveLength(2));
    expect(api.orders).toHaveBeenLastCalledWith("lamp", { limit: 50 });
  });

  it("pages on with nextToken", async () => {
    const api = fakeApi({
      orders: vi
        .fn()
        .mockResolvedValueOnce({ orders: [order(3)], nextToken: "page-2" })
        .mockResolvedValueOnce({ orders: [order(2)] }),
    });
    render(<SaleOrders api={api} productId="lamp" />);
    await userEvent.setup().click(await screen.findByRole("button", { name: "Load more orders" }));
    await waitFor(() => expect(rows()).toHaveLength(2));
    expect(api.orders).toHaveBeenLastCalledWith("lamp", { limit: 50, nextToken: "page-2" });
    expect(screen.queryByRole("button", { name: "Load more orders" })).not.toBeInTheDocument();
  });

  it("reloads the first page when the sale's counters move, not while paging", async () => {
    const api = fakeApi();
    const { rerender } = render(<SaleOrders api={api} productId="lamp" refreshKey="2/0" />);
    await waitFor(() => expect(api.orders).toHaveBeenCalledTimes(1));
    rerender(<SaleOrders api={api} productId="lamp" refreshKey="2/0" />);
    expect(api.orders).toHaveBeenCalledTimes(1);
    rerender(<SaleOrders api={api} productId="lamp" refreshKey="3/0" />);
    await waitFor(() => expect(api.orders).toHaveBeenCalledTimes(2));
  });

  it("cancels an order after the operator confirms", async () => {
    const api = fakeApi();
    const onChanged = vi.fn();
    render(<SaleOrders api={api} productId="lamp" onChanged={onChanged} />);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Cancel order o-1" }));
    const dialog = screen.getByRole("dialog", { name: "Cancel this order?" });
    expect(dialog).toHaveTextContent("shopper1@example.com");
    await user.click(within(dialog).getByRole("button", { name: "Cancel order" }));

    await waitFor(() => expect(rows()[1]).toHaveTextContent("Cancelled"));
    expect(api.cancelOrder).toHaveBeenCalledWith("o-1");
    expect(onChanged).toHaveBeenCalled();
    expect(screen.getByRole("status")).toHaveTextContent("Order o-1 cancelled; 1 back in stock.");
    expect(within(rows()[1]).queryByRole("button")).not.toBeInTheDocument();
  });

  it.each([
    ["ORDER_NOT_CANCELLABLE", 409, "This order can't be cancelled."],
    ["ORDER_NOT_FOUND", 404, "There is no such order."],
    ["FORBIDDEN", 403, "it must be in the admins group"],
  ])("explains a refused cancel (%s)", async (code, status, text) => {
    const api = fakeApi({ cancelOrder: vi.fn().mockRejectedValue(new ApiError(status, code, "detail from the API")) });
    render(<SaleOrders api={api} productId="lamp" />);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Cancel order o-2" }));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Cancel order" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent(text);
    expect(alert).toHaveTextContent("detail from the API");
    expect(rows()[0]).toHaveTextContent("Confirmed");
  });

  it("exports the orders as a CSV file", async () => {
    const api = fakeApi();
    const save = vi.fn();
    render(<SaleOrders api={api} productId="lamp" save={save} />);
    await userEvent.setup().click(screen.getByRole("button", { name: "Export CSV" }));
    await waitFor(() => expect(save).toHaveBeenCalledWith(expect.any(Blob), "orders-lamp.csv"));
    expect(screen.getByRole("status")).toHaveTextContent("CSV export downloaded.");
  });

  it("explains a failed export", async () => {
    const api = fakeApi({ ordersCsv: vi.fn().mockRejectedValue(new ApiError(0, "NETWORK", "offline")) });
    render(<SaleOrders api={api} productId="lamp" save={vi.fn()} />);
    await userEvent.setup().click(screen.getByRole("button", { name: "Export CSV" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The API can't be reached.");
  });

  it("shows a failed load", async () => {
    const api = fakeApi({ orders: vi.fn().mockRejectedValue(new ApiError(503, "BUSY", "try later")) });
    render(<SaleOrders api={api} productId="lamp" />);
    expect(await screen.findByRole("alert")).toHaveTextContent("The API is busy. Try again in a moment. try later");
  });
});

describe("saveBlob", () => {
  it("downloads through an object URL and a temporary link", async () => {
    const { saveBlob } = await import("./download.js");
    // jsdom has no object URLs; these stand in for the browser's.
    const original = { create: URL.createObjectURL, revoke: URL.revokeObjectURL };
    const created = vi.fn(() => "blob:x");
    const revoked = vi.fn();
    URL.createObjectURL = created;
    URL.revokeObjectURL = revoked;
    const clicked = vi.fn();
    const doc = document.implementation.createHTMLDocument("x");
    doc.addEventListener("click", (event) => {
      clicked(event.target.getAttribute("download"), event.target.getAttribute("href"));
      event.preventDefault();
    });
    saveBlob(new Blob(["a"]), "orders-lamp.csv", doc);
    expect(clicked).toHaveBeenCalledWith("orders-lamp.csv", "blob:x");
    expect(doc.querySelector("a")).toBeNull();
    await waitFor(() => expect(revoked).toHaveBeenCalledWith("blob:x"));
    URL.createObjectURL = original.create;
    URL.revokeObjectURL = original.revoke;
  });
});
