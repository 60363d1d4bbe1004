import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../api.js";
import { fakeAdminApi, sale } from "./fakeAdminApi.js";
import { LiveSale } from "./LiveSale.jsx";

afterEach(() => window.history.replaceState({}, "", "/"));

describe("LiveSale", () => {
  it("shows the sale's figures, chart, refusals and orders", async () => {
    const api = fakeAdminApi();
    render(<LiveSale api={api} productId="lamp" />);
    expect(screen.getByRole("heading", { name: "Sale lamp" })).toBeInTheDocument();
    expect(await screen.findByRole("heading", { name: "Desk lamp" })).toBeInTheDocument();
    expect(api.live).toHaveBeenCalledWith("lamp", 60);
    expect(screen.getByTestId("stock-left")).toHaveTextContent("8");
    expect(screen.getByTestId("units-sold")).toHaveTextContent("2");
    expect(screen.getByText("$49.00")).toBeInTheDocument();
    expect(screen.getByText("Live")).toBeInTheDocument();
    expect(screen.getByRole("img", { name: /Units sold per minute and stock over time 2 units sold/ })).toBeInTheDocument();
    const refusals = screen.getByRole("table", { name: "Refused purchases by reason" });
    const rows = within(refusals).getAllByRole("row").slice(1);
    expect(rows.map((row) => row.textContent)).toEqual([
      "Outside the sale window SALE_NOT_ACTIVE3",
      "Over the per-shopper limit PURCHASE_LIMIT_EXCEEDED1",
    ]);
    expect(screen.getByRole("heading", { name: "Orders" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Edit sale" })).toHaveAttribute("href", "/admin/sales/lamp/edit");
  });

  it("shows the waiting room panel only for a sale with a room on", async () => {
    const api = fakeAdminApi([sale({ waitingRoom: { ratePerSecond: 20, passSeconds: 120 } })]);
    render(<LiveSale api={api} productId="lamp" />);
    expect(await screen.findByTestId("room-queue-length")).toHaveTextContent("4,200");
    expect(api.room).toHaveBeenCalledWith("lamp");

    const plain = fakeAdminApi();
    render(<LiveSale api={plain} productId="lamp" />);
    await waitFor(() => expect(plain.live).toHaveBeenCalled());
    expect(screen.getAllByTestId("room-panel")).toHaveLength(1);
    expect(plain.room).not.toHaveBeenCalled();
  });

  it("refreshes every few seconds and moves with the sale", async () => {
    let sold = 2;
    const api = fakeAdminApi();
    const live = api.live;
    api.live = vi.fn(async (id, minutes) => {
      const answer = await live(id, minutes);
      return { ...answer, sale: { ...answer.sale, unitsSold: sold, stock: 10 - sold } };
    });
    render(<LiveSale api={api} productId="lamp" intervalMs={30} />);
    await waitFor(() => expect(screen.getByTestId("units-sold")).toHaveTextContent("2"));
    sold = 5;
    await waitFor(() => expect(screen.getByTestId("units-sold")).toHaveTextContent("5"));
    expect(screen.getByTestId("stock-left")).toHaveTextContent("5");
  });

  it("restocks and says what the stock is now", async () => {
    const api = fakeAdminApi();
    render(<LiveSale api={api} productId="lamp" />);
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("Units to add"), "x");
    await user.click(screen.getByRole("button", { name: "Restock" }));
    expect(screen.getByLabelText("Units to add")).toHaveAccessibleDescription("Enter a whole number of units, 1 or more.");
    expect(api.restock).not.toHaveBeenCalled();

    await user.clear(screen.getByLabelText("Units to add"));
    await user.type(screen.getByLabelText("Units to add"), "12");
    const calls = api.live.mock.calls.length;
    await user.click(screen.getByRole("button", { name: "Restock" }));
    expect(await screen.findByText("Added 12 units. Stock is now 20.")).toBeInTheDocument();
    expect(api.restock).toHaveBeenCalledWith("lamp", 12);
    await waitFor(() => expect(api.live.mock.calls.length).toBeGreaterThan(calls));
    expect(screen.getByLabelText("Units to add")).toHaveValue("");
  });

  it("ends the sale only after confirmation", async () => {
    const api = fakeAdminApi();
    render(<LiveSale api={api} productId="lamp" />);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "End sale now" }));
    const dialog = screen.getByRole("dialog", { name: "End this sale now?" });
    await user.click(within(dialog).getByRole("button", { name: "Keep it running" }));
    expect(api.endSale).not.toHaveBeenCalled();

    await user.click(screen.getByRole("button", { name: "End sale now" }));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "End sale now" }));
    expect(await screen.findByText("Sale ended. Shoppers can no longer buy it.")).toBeInTheDocument();
    expect(api.endSale).toHaveBeenCalledWith("lamp");
  });

  it("can't end an ended sale", async () => {
    render(<LiveSale api={fakeAdminApi([sale({ state: "ended" })])} productId="lamp" />);
    expect(await screen.findByRole("button", { name: "End sale now" })).toBeDisabled();
    expect(screen.getByText("Ended")).toBeInTheDocument();
  });

  it("explains a failed action", async () => {
    const api = fakeAdminApi([sale()], { restock: vi.fn().mockRejectedValue(new ApiError(400, "INVALID_REQUEST", "units must be at most 10000000")) });
    render(<LiveSale api={api} productId="lamp" />);
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("Units to add"), "99999999");
    await user.click(screen.getByRole("button", { name: "Restock" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The API refused these values. units must be at most 10000000");
  });

  it("shows a message handed over by the form once", async () => {
    window.history.replaceState({ flash: "Sale saved." }, "", "/admin/sales/lamp");
    render(<LiveSale api={fakeAdminApi()} productId="lamp" />);
    expect(await screen.findByText("Sale saved.")).toBeInTheDocument();
    expect(window.history.state).toEqual({});
  });

  it("says so when the sale doesn't exist", async () => {
    const api = fakeAdminApi([], { live: vi.fn().mockRejectedValue(new ApiError(404, "PRODUCT_NOT_FOUND", "no such product")) });
    render(<LiveSale api={api} productId="ghost" />);
    expect(await screen.findByRole("alert")).toHaveTextContent("There is no sale with this id. no such product");
  });

  it("keeps the last figures and says when a refresh fails", async () => {
    const api = fakeAdminApi();
    const live = api.live;
    let fail = false;
    api.live = vi.fn((...args) => (fail ? Promise.reject(new ApiError(0, "NETWORK", "down")) : live(...args)));
    render(<LiveSale api={api} productId="lamp" intervalMs={30} />);
    expect(await screen.findByTestId("stock-left")).toHaveTextContent("8");
    fail = true;
    expect(await screen.findByText(/Not refreshed: The API can't be reached/)).toBeInTheDocument();
    expect(screen.getByTestId("stock-left")).toHaveTextContent("8");
  });
});
