import { describe, expect, it, vi } from "vitest";
import { ApiError, buy, createApi, createClient, describeError } from "./api.js";

function response(status, body, headers = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

describe("createApi", () => {
  it("takes the time from the server's Date header, not the device clock", async () => {
    const serverDate = new Date(Date.now() + 3_600_000);
    const fetch = vi.fn(async () => response(200, { products: [], count: 0 }, { Date: serverDate.toUTCString() }));
    const api = createApi("http://shop", fetch);
    await api.listProducts();
    expect(Math.abs(api.now() - serverDate.getTime())).toBeLessThan(1500);
  });

  it("turns contract errors into ApiError with code, message and Retry-After", async () => {
    const fetch = vi.fn(async () =>
      response(503, { code: "BUSY", message: "too many shoppers" }, { "Retry-After": "2" }),
    );
    const error = await createApi("http://shop", fetch)
      .placeOrder({ userId: "u", productId: "p", quantity: 1 }, "key-1")
      .catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect([error.status, error.code, error.message, error.retryAfter]).toEqual([503, "BUSY", "too many shoppers", 2]);
  });

  it("sends the order as JSON with its Idempotency-Key", async () => {
    const fetch = vi.fn(async () => response(201, { orderId: "o1" }));
    await createApi("http://shop/", fetch).placeOrder({ userId: "u", productId: "p", quantity: 2 }, "key-1");
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe("http://shop/orders");
    expect(init.method).toBe("POST");
    expect(init.headers).toEqual({ "Content-Type": "application/json", "Idempotency-Key": "key-1" });
    expect(JSON.parse(init.body)).toEqual({ userId: "u", productId: "p", quantity: 2 });
  });

  it("sends the signed-in shopper's token", async () => {
    const fetch = vi.fn(async () => response(200, { orders: [] }));
    await createApi("http://shop", fetch, () => "id-token").listOrders("alice");
    expect(fetch.mock.calls[0][1].headers).toEqual({ Authorization: "id-token" });
  });

  it("cancels an order as the named shopper", async () => {
    const fetch = vi.fn(async () => response(200, { orderId: "o 1", status: "CANCELLED" }));
    const cancelled = await createApi("http://shop", fetch).cancelOrder("o 1", "a@example.com");
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe("http://shop/orders/o%201/cancel");
    expect(init.method).toBe("POST");
    expect(JSON.parse(init.body)).toEqual({ userId: "a@example.com" });
    expect(cancelled.status).toBe("CANCELLED");
  });

  it("reports a cancel after the window as ORDER_NOT_CANCELLABLE", async () => {
    const fetch = vi.fn(async () => response(409, { code: "ORDER_NOT_CANCELLABLE", message: "window passed" }));
    const error = await createApi("http://shop", fetch).cancelOrder("o1", "u").catch((e) => e);
    expect([error.status, error.code]).toEqual([409, "ORDER_NOT_CANCELLABLE"]);
    expect(describeError(error).headline).toMatch(/can no longer be cancelled/);
  });

  it("reads a download as a Blob but still turns its errors into ApiError", async () => {
    const ok = vi.fn(async () => new Response("a,b\n1,2\n", { status: 200, headers: { "Content-Type": "text/csv" } }));
    const blob = await createClient("http://shop", ok).request("GET", "/x.csv", { read: "blob" });
    expect(await blob.text()).toBe("a,b\n1,2\n");
    const denied = vi.fn(async () => response(403, { code: "FORBIDDEN", message: "admins only" }));
    const error = await createClient("http://shop", denied)
      .request("GET", "/x.csv", { read: "blob" })
      .catch((e) => e);
    expect([error.code, error.message]).toEqual(["FORBIDDEN", "admins only"]);
  });

  it("reads one order, the payments config, and pays with the card's id from Stripe.js", async () => {
    const fetch = vi.fn(async () => response(200, { orderId: "o 1", status: "AWAITING_PAYMENT" }));
    const api = createApi("http://shop", fetch);
    await api.getOrder("o 1");
    await api.paymentsConfig();
    await api.payOrder("o 1", "card_123");
    await api.payOrder("o 1", "card_123", "pi_7");
    const calls = fetch.mock.calls.map(([url, init]) => [init.method, url, init.body && JSON.parse(init.body)]);
    expect(calls).toEqual([
      ["GET", "http://shop/orders/o%201", undefined],
      ["GET", "http://shop/payments/config", undefined],
      ["POST", "http://shop/orders/o%201/pay", { paymentMethod: "card_123" }],
      ["POST", "http://shop/orders/o%201/pay", { paymentMethod: "card_123", paymentIntentId: "pi_7" }],
    ]);
  });

  it("reports a declined card as PAYMENT_FAILED with the card's message", async () => {
    const fetch = vi.fn(async () => response(402, { code: "PAYMENT_FAILED", message: "Your card was declined." }));
    const error = await createApi("http://shop", fetch).payOrder("o1", "card_1").catch((e) => e);
    expect([error.status, error.code, error.message]).toEqual([402, "PAYMENT_FAILED", "Your card was declined."]);
  });

  it("reports an unreachable shop as a NETWORK error", async () => {
    const api = createApi("http://shop", vi.fn(async () => Promise.reject(new TypeError("down"))));
    await expect(api.listProducts()).rejects.toMatchObject({ code: "NETWORK", status: 0 });
  });
});

describe("buy", () => {
  const order = { userId: "u", productId: "p", quantity: 1 };

  it("retries BUSY after Retry-After with the same Idempotency-Key", async () => {
    const placeOrder = vi
      .fn()
      .mockRejectedValueOnce(new ApiError(503, "BUSY", "busy", 2))
      .mockRejectedValueOnce(new ApiError(0, "NETWORK", "down"))
      .mockResolvedValueOnce({ orderId: "o1" });
    const sleep = vi.fn(async () => {});

    const placed = await buy({ placeOrder }, order, { key: "k-1", sleep });

    expect(placed).toEqual({ orderId: "o1" });
    expect(placeOrder.mock.calls.map((call) => call[1])).toEqual(["k-1", "k-1", "k-1"]);
    expect(sleep.mock.calls).toEqual([[2000], [1000]]);
  });

  it("does not retry a final answer", async () => {
    const placeOrder = vi.fn().mockRejectedValue(new ApiError(409, "OUT_OF_STOCK", "sold out"));
    await expect(buy({ placeOrder }, order, { sleep: async () => {} })).rejects.toMatchObject({
      code: "OUT_OF_STOCK",
    });
    expect(placeOrder).toHaveBeenCalledTimes(1);
  });

  it("gives up after its attempts", async () => {
    const placeOrder = vi.fn().mockRejectedValue(new ApiError(503, "BUSY", "busy", 1));
    await expect(buy({ placeOrder }, order, { attempts: 3, sleep: async () => {} })).rejects.toMatchObject({
      code: "BUSY",
    });
    expect(placeOrder).toHaveBeenCalledTimes(3);
  });

  it("does not retry PAYMENT_UNAVAILABLE: the server already released the hold", async () => {
    const placeOrder = vi.fn().mockRejectedValue(new ApiError(503, "PAYMENT_UNAVAILABLE", "Stripe unreachable"));
    await expect(buy({ placeOrder }, order, { sleep: async () => {} })).rejects.toMatchObject({
      code: "PAYMENT_UNAVAILABLE",
    });
    expect(placeOrder).toHaveBeenCalledTimes(1);
  });

  it("uses a fresh key for each new purchase", async () => {
    const placeOrder = vi.fn().mockResolvedValue({ orderId: "o" });
    await buy({ placeOrder }, order);
    await buy({ placeOrder }, order);
    const [first, second] = placeOrder.mock.calls.map((call) => call[1]);
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).not.toBe(first);
  });
});

it("has a shopper-facing message for every error code in the contract", () => {
  for (const code of [
    "OUT_OF_STOCK",
    "SALE_NOT_ACTIVE",
    "PURCHASE_LIMIT_EXCEEDED",
    "BUSY",
    "PRODUCT_NOT_FOUND",
    "INVALID_REQUEST",
    "IDEMPOTENCY_KEY_REUSED",
    "ORDER_NOT_CANCELLABLE",
    "ORDER_NOT_FOUND",
    "PAYMENT_UNAVAILABLE",
    "PAYMENT_FAILED",
    "HOLD_EXPIRED",
    "ORDER_NOT_PAYABLE",
  ]) {
    expect(describeError(new ApiError(409, code, "x")).headline).not.toMatch(/Something went wrong/);
  }
});
