import { render, screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../api.js";
import { fakeAdminApi, sale } from "./fakeAdminApi.js";
import { SalesTable, sortSales } from "./SalesTable.jsx";

describe("SalesTable", () => {
  it("shows each sale's state, stock left, units sold and revenue, live ones first", async () => {
    const api = fakeAdminApi([
      sale({ productId: "old", name: "Old mug", state: "ended", stock: 0, unitsSold: 5, revenue: 50 }),
      sale({ productId: "lamp", name: "Desk lamp", state: "live", stock: 8, unitsSold: 2, revenue: 49 }),
      sale({ productId: "soon", name: "Kettle", state: "scheduled", saleStartsAt: "2099-01-01T00:00:00.000000Z" }),
    ]);
    render(<SalesTable api={api} />);
    expect(screen.getByText("Loading sales…")).toBeInTheDocument();
    const rows = (await screen.findAllByRole("row")).slice(1);
    expect(rows.map((row) => within(row).getByRole("rowheader").textContent)).toEqual([
      "Desk lamplamp",
      "Kettlesoon",
      "Old mugold",
    ]);
    const [lamp, kettle, mug] = rows.map((row) => within(row).getAllByRole("cell").map((c) => c.textContent));
    expect(lamp.slice(0, 4)).toEqual(["Live", "8", "2", "$49.00"]);
    expect(kettle[0]).toBe("Scheduled");
    expect(mug[0]).toBe("Ended");
    expect(within(rows[0]).getByRole("link", { name: "Desk lamp" })).toHaveAttribute("href", "/admin/sales/lamp");
    expect(within(rows[0]).getByRole("link", { name: "Edit Desk lamp" })).toHaveAttribute("href", "/admin/sales/lamp/edit");
    expect(lamp[4]).toBe("Always open");
  });

  it("offers to create the first sale when there are none", async () => {
    render(<SalesTable api={fakeAdminApi([])} />);
    expect(await screen.findByRole("link", { name: "Create the first one" })).toHaveAttribute("href", "/admin/new");
  });

  it("explains a refusal", async () => {
    const api = fakeAdminApi([], { listSales: vi.fn().mockRejectedValue(new ApiError(403, "FORBIDDEN", "admins only")) });
    render(<SalesTable api={api} />);
    expect(await screen.findByRole("alert")).toHaveTextContent("it must be in the admins group. admins only");
  });

  it("refreshes by itself", async () => {
    const api = fakeAdminApi();
    render(<SalesTable api={api} intervalMs={20} />);
    await vi.waitFor(() => expect(api.listSales.mock.calls.length).toBeGreaterThan(2));
  });

  it("sorts live, scheduled by start, sold out, ended", () => {
    const sorted = sortSales([
      sale({ productId: "e", name: "E", state: "ended" }),
      sale({ productId: "s2", name: "S2", state: "scheduled", saleStartsAt: "2099-02-01T00:00:00Z" }),
      sale({ productId: "x", name: "X", state: "sold_out" }),
      sale({ productId: "s1", name: "S1", state: "scheduled", saleStartsAt: "2099-01-01T00:00:00Z" }),
      sale({ productId: "l", name: "L", state: "live" }),
    ]);
    expect(sorted.map((s) => s.productId)).toEqual(["l", "s1", "s2", "x", "e"]);
  });
});
