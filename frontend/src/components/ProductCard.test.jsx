import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../api.js";
import { saveEntry } from "../queue.js";
import { ProductCard } from "./ProductCard.jsx";

const NOW = Date.parse("2026-11-27T00:00:00Z");
const base = { productId: "p1", name: "Headphones", price: 79.99, stock: 10 };

function renderCard(product, api = {}, props = {}) {
  const onOrdered = vi.fn();
  const onChanged = vi.fn();
  render(
    <ProductCard
      product={{ ...base, ...product }}
      now={NOW}
      api={{ placeOrder: vi.fn(), ...api }}
      userId="alice"
      onOrdered={onOrdered}
      onChanged={onChanged}
      {...props}
    />,
  );
  return { onOrdered, onChanged };
}

describe("ProductCard", () => {
  it("shows name, price, image and live stock", () => {
    renderCard({ imageUrl: "https://img/h.jpg" });
    expect(screen.getByRole("heading", { name: "Headphones" })).toBeInTheDocument();
    expect(screen.getByText("$79.99")).toBeInTheDocument();
    expect(screen.getByRole("img", { name: "Headphones" })).toHaveAttribute("src", "https://img/h.jpg");
    expect(screen.getByTestId("stock")).toHaveTextContent("10 left");
  });

  it("is sold out with the Buy button disabled", () => {
    renderCard({ stock: 0 });
    expect(screen.getByTestId("stock")).toHaveTextContent("Sold out");
    expect(screen.getByRole("button", { name: "Buy Headphones" })).toBeDisabled();
  });

  it("counts down to the sale on the server's clock", () => {
    renderCard({ saleStartsAt: "2026-11-27T01:02:03Z" });
    expect(screen.getByTestId("stock")).toHaveTextContent("Starts in 01:02:03");
    expect(screen.getByRole("button", { name: "Buy Headphones" })).toBeDisabled();
  });

  it("shows an ended sale", () => {
    renderCard({ saleEndsAt: "2026-11-26T00:00:00Z" });
    expect(screen.getByTestId("stock")).toHaveTextContent("Sale ended");
  });

  it.each([
    [{ stock: 3, maxPerUser: 5 }, ["1", "2", "3"]],
    [{ stock: 50, maxPerUser: 2 }, ["1", "2"]],
  ])("bounds the quantity by stock and limit (%o)", (product, options) => {
    renderCard(product);
    const select = screen.getByLabelText("Quantity");
    expect([...select.options].map((o) => o.value)).toEqual(options);
  });

  it("buys the chosen quantity and reports the order", async () => {
    const order = { orderId: "o-1", quantity: 2 };
    const placeOrder = vi.fn().mockResolvedValue(order);
    const { onOrdered, onChanged } = renderCard({ maxPerUser: 3 }, { placeOrder });
    const user = userEvent.setup();

    await user.selectOptions(screen.getByLabelText("Quantity"), "2");
    await user.click(screen.getByRole("button", { name: "Buy Headphones" }));

    await waitFor(() => expect(onOrdered).toHaveBeenCalledWith(order));
    expect(placeOrder).toHaveBeenCalledWith({ userId: "alice", productId: "p1", quantity: 2 }, expect.any(String));
    expect(onChanged).toHaveBeenCalled();
  });

  it("sends one request for a double click", async () => {
    let finish;
    const placeOrder = vi.fn(() => new Promise((resolve) => (finish = resolve)));
    renderCard({}, { placeOrder });
    const user = userEvent.setup();

    await user.dblClick(screen.getByRole("button", { name: "Buy Headphones" }));
    finish({ orderId: "o-1" });

    await waitFor(() => expect(screen.getByRole("button", { name: "Buy Headphones" })).toBeEnabled());
    expect(placeOrder).toHaveBeenCalledTimes(1);
  });

  it.each([
    ["OUT_OF_STOCK", "Sold out: someone got there first."],
    ["SALE_NOT_ACTIVE", "This sale isn't open right now."],
    ["PURCHASE_LIMIT_EXCEEDED", "You've reached the limit for this item."],
  ])("explains %s", async (code, headline) => {
    const placeOrder = vi.fn().mockRejectedValue(new ApiError(409, code, "server detail"));
    renderCard({}, { placeOrder });
    await userEvent.setup().click(screen.getByRole("button", { name: "Buy Headphones" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent(headline);
    expect(alert).toHaveTextContent("server detail");
  });
});

it("never asks about a queue for a product without a waiting room", async () => {
  const queueState = vi.fn();
  renderCard({}, { queueState });
  expect(screen.getByRole("button", { name: "Buy Headphones" })).toBeEnabled();
  expect(screen.queryByTestId("waiting-room")).not.toBeInTheDocument();
  expect(queueState).not.toHaveBeenCalled();
});

describe("ProductCard with a waiting room", () => {
  const room = { waitingRoom: { ratePerSecond: 20, passSeconds: 120 } };
  const openState = {
    productId: "p1",
    phase: "OPEN",
    startsAt: "2026-11-26T23:00:00Z",
    commitment: "c",
    seed: "s",
    digest: "d",
    preCount: 10,
    queueLength: 10,
    admittedThrough: 5,
    ratePerSecond: 20,
    unitsLeft: 10,
    pages: 1,
    updatedAt: "2026-11-27T00:00:00Z",
    pollAfterSeconds: 15,
  };
  const admitted = {
    ticket: "t",
    entryId: "e-1",
    rank: 3,
    ahead: 0,
    status: "ADMITTED",
    pass: "v1.pass.sig",
    passExpiresAt: "2026-11-27T00:02:00Z",
  };

  beforeEach(() => {
    window.localStorage.clear();
    saveEntry(window.localStorage, "p1", "alice", { ticket: "t", entryId: "e-1", rank: 3 });
  });

  it("puts the waiting room where the Buy button was", async () => {
    renderCard(room, { queueState: vi.fn(async () => ({ ...openState, admittedThrough: 0 })), queueMe: vi.fn() });
    expect(await screen.findByRole("region", { name: "Waiting room for Headphones" })).toBeInTheDocument();
    expect(await screen.findByTestId("queue-position")).toHaveTextContent("3");
    expect(screen.queryByRole("button", { name: "Buy Headphones" })).not.toBeInTheDocument();
  });

  it("shows an ended sale as it always has, without a room to poll", () => {
    const queueState = vi.fn();
    renderCard({ ...room, saleEndsAt: "2026-11-26T00:00:00Z" }, { queueState });
    expect(screen.getByTestId("stock")).toHaveTextContent("Sale ended");
    expect(screen.getByRole("button", { name: "Buy Headphones" })).toBeDisabled();
    expect(screen.queryByTestId("waiting-room")).not.toBeInTheDocument();
    expect(queueState).not.toHaveBeenCalled();
  });

  it("buys with the admission pass once it is the shopper's turn", async () => {
    const order = { orderId: "o-1", quantity: 1 };
    const placeOrder = vi.fn().mockResolvedValue(order);
    const { onOrdered } = renderCard(room, {
      placeOrder,
      queueState: vi.fn(async () => openState),
      queueMe: vi.fn(async () => admitted),
    });
    await userEvent.setup().click(await screen.findByRole("button", { name: "Buy Headphones" }));
    await waitFor(() => expect(onOrdered).toHaveBeenCalledWith(order));
    expect(placeOrder).toHaveBeenCalledWith(
      { userId: "alice", productId: "p1", quantity: 1, admissionPass: "v1.pass.sig" },
      expect.any(String),
    );
    expect(screen.getByTestId("queue-message")).toHaveTextContent("You've used your turn");
  });

  it("says the turn has passed when /orders answers PASS_EXPIRED", async () => {
    const placeOrder = vi.fn().mockRejectedValue(new ApiError(409, "PASS_EXPIRED", "pass expired"));
    renderCard(room, { placeOrder, queueState: vi.fn(async () => openState), queueMe: vi.fn(async () => admitted) });
    await userEvent.setup().click(await screen.findByRole("button", { name: "Buy Headphones" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Your turn to buy has passed");
    expect(screen.getByTestId("queue-message")).toHaveTextContent("Your turn passed");
    expect(screen.queryByRole("button", { name: "Buy Headphones" })).not.toBeInTheDocument();
  });

  it("asks the room again when /orders answers ADMISSION_REQUIRED", async () => {
    const placeOrder = vi.fn().mockRejectedValue(new ApiError(403, "ADMISSION_REQUIRED", "no pass"));
    const queueMe = vi
      .fn()
      .mockResolvedValueOnce(admitted)
      .mockResolvedValueOnce({ ...admitted, status: "USED", pass: null, passExpiresAt: null });
    renderCard(room, { placeOrder, queueState: vi.fn(async () => openState), queueMe });
    await userEvent.setup().click(await screen.findByRole("button", { name: "Buy Headphones" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("join the queue");
    await waitFor(() => expect(screen.getByTestId("queue-message")).toHaveTextContent("You've used your turn"));
    expect(queueMe).toHaveBeenCalledTimes(2);
  });
});
