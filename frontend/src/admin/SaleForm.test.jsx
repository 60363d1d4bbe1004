import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../api.js";
import { seriousViolations } from "../testAxe.js";
import { fakeAdminApi, sale } from "./fakeAdminApi.js";
import { SaleForm, toBody, toForm } from "./SaleForm.jsx";

afterEach(() => window.history.replaceState({}, "", "/"));

const local = (y, mo, d, h, mi) => new Date(y, mo - 1, d, h, mi).toISOString();

describe("toBody", () => {
  const base = { ...toForm(sale()), productId: "lamp" };

  it("sends numbers as numbers and leaves blank optional fields out", () => {
    const { body, errors } = toBody(
      { ...base, description: " ", imageUrl: "", shards: "", maxPerUser: "", saleStartsAt: "", saleEndsAt: "" },
      { creating: false },
    );
    expect(errors).toEqual({});
    expect(body).toEqual({ name: "Desk lamp", price: 24.5, stock: 8, cancelWindowMinutes: 15 });
  });

  it("turns the local window into instants", () => {
    const { body } = toBody({ ...base, saleStartsAt: "2026-11-27T10:00", saleEndsAt: "2026-11-27T11:30" }, { creating: false });
    expect(body.saleStartsAt).toBe(local(2026, 11, 27, 10, 0));
    expect(body.saleEndsAt).toBe(local(2026, 11, 27, 11, 30));
  });

  it.each([
    [{ name: "" }, "name", "Name is required."],
    [{ price: "0" }, "price", "Price must be a number above 0."],
    [{ price: "abc" }, "price", "Price must be a number above 0."],
    [{ stock: "2.5" }, "stock", "Stock must be a whole number."],
    [{ stock: "" }, "stock", "Stock is required."],
    [{ shards: "0" }, "shards", "Shards must be a whole number of at least 1."],
    [{ maxPerUser: "-1" }, "maxPerUser", "Per-shopper limit must be a whole number of at least 1."],
    [{ cancelWindowMinutes: "" }, "cancelWindowMinutes", "Cancel window is required."],
    [
      { saleStartsAt: "2026-11-27T11:00", saleEndsAt: "2026-11-27T10:00" },
      "saleEndsAt",
      "The sale must end after it starts.",
    ],
  ])("refuses %o", (change, field, message) => {
    expect(toBody({ ...base, ...change }, { creating: false }).errors[field]).toBe(message);
  });

  it("sends the waiting room when on, null to switch one off, and nothing for a sale that never had one", () => {
    const on = toBody({ ...base, roomOn: true, roomRate: "50", roomPassSeconds: "90" }, { creating: false });
    expect(on.errors).toEqual({});
    expect(on.body.waitingRoom).toEqual({ ratePerSecond: 50, passSeconds: 90 });
    const withRoom = toForm(sale({ waitingRoom: { ratePerSecond: 20, passSeconds: 120 } }));
    expect(withRoom).toMatchObject({ roomOn: true, roomRate: "20", roomPassSeconds: "120" });
    expect(toBody({ ...withRoom, roomOn: false }, { creating: false }).body.waitingRoom).toBeNull();
    expect(toBody(base, { creating: false }).body).not.toHaveProperty("waitingRoom");
  });

  it.each([
    [{ roomRate: "" }, "roomRate", "Admission rate is required for a waiting room."],
    [{ roomRate: "0" }, "roomRate", "Admission rate must be a whole number of at least 1."],
    [{ roomPassSeconds: "1.5" }, "roomPassSeconds", "Pass lifetime must be a whole number of at least 1."],
  ])("refuses the waiting room's %o", (change, field, message) => {
    const { body, errors } = toBody({ ...base, roomOn: true, roomRate: "20", roomPassSeconds: "120", ...change }, { creating: false });
    expect(errors[field]).toBe(message);
    expect(body).not.toHaveProperty("waitingRoom");
  });

  it.each([
    ["", "Product id is required."],
    ["has space", "Use letters, digits and _ . @ : - only, starting with a letter or digit."],
    ["lamp", "A sale with this id exists. Edit it instead, or choose another id."],
  ])("checks a new sale's id %j", (productId, message) => {
    expect(toBody({ ...base, productId }, { creating: true, takenIds: new Set(["lamp"]) }).errors.productId).toBe(
      message,
    );
  });
});

describe("SaleForm", () => {
  it("creates a sale from the form and opens its live view", async () => {
    const api = fakeAdminApi();
    render(<SaleForm api={api} />);
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Name"), "Midnight Kettle");
    expect(screen.getByLabelText("Product id")).toHaveValue("midnight-kettle");
    await user.type(screen.getByLabelText("Description"), "Boils fast.");
    await user.type(screen.getByLabelText("Image URL"), "/images/kettle.svg");
    await user.type(screen.getByLabelText("Price (USD)"), "19.99");
    await user.type(screen.getByLabelText("Stock"), "40");
    await user.type(screen.getByLabelText("Shards"), "4");
    await user.type(screen.getByLabelText("Per-shopper limit"), "2");
    await user.type(screen.getByLabelText("Sale starts"), "2026-12-01T09:00");
    await user.clear(screen.getByLabelText("Cancel window (minutes)"));
    await user.type(screen.getByLabelText("Cancel window (minutes)"), "30");
    expect(screen.getByText(`Sent as ${local(2026, 12, 1, 9, 0)}`)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Create sale" }));

    await waitFor(() => expect(window.location.pathname).toBe("/admin/sales/midnight-kettle"));
    expect(api.putSale).toHaveBeenCalledWith("midnight-kettle", {
      name: "Midnight Kettle",
      description: "Boils fast.",
      imageUrl: "/images/kettle.svg",
      price: 19.99,
      stock: 40,
      shards: 4,
      maxPerUser: 2,
      saleStartsAt: local(2026, 12, 1, 9, 0),
      cancelWindowMinutes: 30,
    });
    expect(window.history.state).toEqual({ flash: "Sale created." });
  });

  it("lists what to fix, linked to the fields, and sends nothing", async () => {
    const api = fakeAdminApi();
    render(<SaleForm api={api} />);
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Stock"), "ten");
    await user.click(screen.getByRole("button", { name: "Create sale" }));

    const summary = screen.getByRole("alert");
    expect(summary).toHaveTextContent("Please fix these 4 fields:");
    expect(summary).toHaveFocus();
    const stock = screen.getByLabelText("Stock");
    expect(stock).toHaveAttribute("aria-invalid", "true");
    expect(stock).toHaveAccessibleDescription(expect.stringContaining("Stock must be a whole number."));
    expect(screen.getByRole("link", { name: "Name is required." })).toHaveAttribute("href", `#${screen.getByLabelText("Name").id}`);
    expect(api.putSale).not.toHaveBeenCalled();
  });

  it("won't overwrite an existing sale from the create form", async () => {
    const api = fakeAdminApi();
    render(<SaleForm api={api} />);
    const user = userEvent.setup();
    await waitFor(() => expect(api.listSales).toHaveBeenCalled());
    await user.type(screen.getByLabelText("Product id"), "lamp");
    await user.type(screen.getByLabelText("Name"), "Another lamp");
    await user.type(screen.getByLabelText("Price (USD)"), "5");
    await user.type(screen.getByLabelText("Stock"), "1");
    await user.click(screen.getByRole("button", { name: "Create sale" }));
    expect(screen.getByRole("alert")).toHaveTextContent("A sale with this id exists.");
    expect(api.putSale).not.toHaveBeenCalled();
  });

  it("edits a sale: the form starts from the sale, and a cleared limit is removed", async () => {
    const api = fakeAdminApi([
      sale({ maxPerUser: 3, saleStartsAt: "2026-11-27T09:00:00.000000Z", description: "Warm light" }),
    ]);
    render(<SaleForm api={api} productId="lamp" />);
    const user = userEvent.setup();
    expect(await screen.findByLabelText("Name")).toHaveValue("Desk lamp");
    expect(screen.getByLabelText("Per-shopper limit")).toHaveValue("3");
    expect(screen.getByLabelText("Stock")).toHaveAccessibleDescription(expect.stringContaining("use Restock"));
    expect(screen.queryByLabelText("Product id")).not.toBeInTheDocument();
    await user.clear(screen.getByLabelText("Per-shopper limit"));
    await user.clear(screen.getByLabelText("Price (USD)"));
    await user.type(screen.getByLabelText("Price (USD)"), "20");
    await user.click(screen.getByRole("button", { name: "Save changes" }));

    await waitFor(() => expect(api.putSale).toHaveBeenCalled());
    expect(api.putSale).toHaveBeenCalledWith("lamp", {
      name: "Desk lamp",
      description: "Warm light",
      price: 20,
      stock: 8,
      shards: 1,
      saleStartsAt: new Date(Date.UTC(2026, 10, 27, 9)).toISOString(),
      cancelWindowMinutes: 15,
    });
    await waitFor(() => expect(window.location.pathname).toBe("/admin/sales/lamp"));
  });

  it("switches a waiting room on with its rate and pass lifetime", async () => {
    const api = fakeAdminApi();
    render(<SaleForm api={api} productId="lamp" />);
    const user = userEvent.setup();
    const box = await screen.findByRole("checkbox", { name: "Waiting room" });
    expect(box).not.toBeChecked();
    expect(screen.queryByLabelText("Admission rate (shoppers per second)")).not.toBeInTheDocument();
    await user.click(box);
    expect(screen.getByLabelText("Pass lifetime (seconds)")).toHaveValue("120");
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Admission rate is required for a waiting room.");
    expect(await seriousViolations(document.body)).toEqual([]);
    await user.type(screen.getByLabelText("Admission rate (shoppers per second)"), "25");
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    await waitFor(() => expect(api.putSale).toHaveBeenCalled());
    expect(api.putSale.mock.calls[0][1].waitingRoom).toEqual({ ratePerSecond: 25, passSeconds: 120 });
  });

  it("switches a waiting room off with null", async () => {
    const api = fakeAdminApi([sale({ waitingRoom: { ratePerSecond: 20, passSeconds: 60 } })]);
    render(<SaleForm api={api} productId="lamp" />);
    const user = userEvent.setup();
    const box = await screen.findByRole("checkbox", { name: "Waiting room" });
    expect(box).toBeChecked();
    expect(screen.getByLabelText("Admission rate (shoppers per second)")).toHaveValue("20");
    await user.click(box);
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    await waitFor(() => expect(api.putSale).toHaveBeenCalled());
    expect(api.putSale.mock.calls[0][1].waitingRoom).toBeNull();
  });

  it("shows the API's reason when it refuses", async () => {
    const api = fakeAdminApi([sale()], {
      putSale: vi.fn().mockRejectedValue(new ApiError(400, "INVALID_REQUEST", "price must have at most 2 decimals")),
    });
    render(<SaleForm api={api} productId="lamp" />);
    const user = userEvent.setup();
    await user.clear(await screen.findByLabelText("Price (USD)"));
    await user.type(screen.getByLabelText("Price (USD)"), "1.999");
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The API refused these values. price must have at most 2 decimals");
    expect(screen.getByRole("button", { name: "Save changes" })).toBeEnabled();
    expect(window.location.pathname).toBe("/");
  });

  it("says when the sale to edit doesn't exist", async () => {
    render(<SaleForm api={fakeAdminApi()} productId="ghost" />);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("There is no sale with this id. No sale has the id ghost.");
    expect(screen.getByRole("link", { name: "Back to the sales" })).toHaveAttribute("href", "/admin");
  });
});
