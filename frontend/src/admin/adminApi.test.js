import { describe, expect, it, vi } from "vitest";
import { ApiError, createClient } from "../api.js";
import { createAdminApi, describeAdminError } from "./adminApi.js";

function reply(status, body, headers = {}) {
  return new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

function adminApi(answer = reply(200, {}), token = () => null) {
  const fetch = vi.fn(async () => (typeof answer === "function" ? answer() : answer));
  return { api: createAdminApi(createClient("http://api/", fetch, token)), fetch };
}

const call = (fetch, n = 0) => {
  const [url, init] = fetch.mock.calls[n];
  return { url, method: init.method, headers: init.headers, body: init.body && JSON.parse(init.body) };
};

describe("createAdminApi", () => {
  it("lists the sales", async () => {
    const { api, fetch } = adminApi(reply(200, { sales: [{ productId: "p" }], count: 1 }));
    expect(await api.listSales()).toEqual({ sales: [{ productId: "p" }], count: 1 });
    expect(call(fetch)).toMatchObject({ url: "http://api/admin/sales", method: "GET" });
  });

  it("creates or replaces a sale with PUT, the id escaped in the path", async () => {
    const { api, fetch } = adminApi(reply(200, { productId: "a@b:c" }));
    await api.putSale("a@b:c", { name: "Lamp", price: 5, stock: 3 });
    expect(call(fetch)).toEqual({
      url: "http://api/admin/sales/a%40b%3Ac",
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: { name: "Lamp", price: 5, stock: 3 },
    });
  });

  it("restocks by a number of units", async () => {
    const { api, fetch } = adminApi(reply(200, { stock: 10 }));
    await api.restock("lamp", 7);
    expect(call(fetch)).toMatchObject({ url: "http://api/admin/sales/lamp/restock", method: "POST", body: { units: 7 } });
  });

  it("ends a sale with an empty POST", async () => {
    const { api, fetch } = adminApi(reply(200, { state: "ended" }));
    await api.endSale("lamp");
    expect(call(fetch)).toEqual({ url: "http://api/admin/sales/lamp/end", method: "POST", headers: {}, body: undefined });
  });

  it("asks for the live view of the last 60 minutes", async () => {
    const { api, fetch } = adminApi(reply(200, { minutes: [] }));
    await api.live("lamp");
    expect(call(fetch).url).toBe("http://api/admin/sales/lamp/live?minutes=60");
  });

  it("pages and searches the sale's orders", async () => {
    const { api, fetch } = adminApi(() => reply(200, { orders: [] }));
    await api.orders("lamp");
    await api.orders("lamp", { nextToken: "t+/=", userId: "a@example.com" });
    await api.orders("lamp", { orderId: "o-1", limit: 10 });
    expect(fetch.mock.calls.map(([url]) => url)).toEqual([
      "http://api/admin/sales/lamp/orders?limit=50",
      "http://api/admin/sales/lamp/orders?limit=50&nextToken=t%2B%2F%3D&userId=a%40example.com",
      "http://api/admin/sales/lamp/orders?limit=10&orderId=o-1",
    ]);
  });

  it("downloads the CSV with the admin's token", async () => {
    const csv = "orderId,userId\no-1,alice\n";
    const { api, fetch } = adminApi(reply(200, csv, { "Content-Type": "text/csv" }), () => "admin-token");
    const blob = await api.ordersCsv("lamp");
    expect(await blob.text()).toBe(csv);
    expect(call(fetch)).toMatchObject({
      url: "http://api/admin/sales/lamp/orders.csv",
      headers: { Accept: "text/csv", Authorization: "admin-token" },
    });
  });

  it("reads a sale's waiting room and changes its rate live, the id escaped in the path", async () => {
    const { api, fetch } = adminApi(() => reply(200, { productId: "a b", ratePerSecond: 50 }));
    await api.room("a b");
    expect(call(fetch)).toMatchObject({ url: "http://api/admin/rooms/a%20b", method: "GET" });
    const changed = await api.setRoomRate("a b", 50);
    expect(call(fetch, 1)).toEqual({
      url: "http://api/admin/rooms/a%20b",
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: { ratePerSecond: 50 },
    });
    expect(changed.ratePerSecond).toBe(50);
  });

  it("cancels any order as the operator: no body names a shopper", async () => {
    const { api, fetch } = adminApi(reply(200, { status: "CANCELLED" }));
    await api.cancelOrder("o/1");
    expect(call(fetch)).toEqual({ url: "http://api/orders/o%2F1/cancel", method: "POST", headers: {}, body: undefined });
  });

  it("turns contract errors into ApiError", async () => {
    const { api } = adminApi(reply(403, { code: "FORBIDDEN", message: "admins only" }));
    const error = await api.listSales().catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect([error.status, error.code, error.message]).toEqual([403, "FORBIDDEN", "admins only"]);
  });
});

describe("describeAdminError", () => {
  it.each([
    "INVALID_REQUEST",
    "PRODUCT_NOT_FOUND",
    "ORDER_NOT_FOUND",
    "ORDER_NOT_CANCELLABLE",
    "FORBIDDEN",
    "HTTP_401",
    "BUSY",
  ])("has an operator-facing message for %s", (code) => {
    const { headline, detail } = describeAdminError(new ApiError(400, code, "server says why"));
    expect(headline).not.toMatch(/Something went wrong/);
    expect(detail).toBe("server says why");
  });

  it("explains an unreachable API without the shop's wording", () => {
    expect(describeAdminError(new ApiError(0, "NETWORK", "The shop can't be reached right now."))).toEqual({
      headline: "The API can't be reached. Check the connection (locally: is `make run` running?).",
      detail: "",
    });
  });

  it("still names an unknown code", () => {
    expect(describeAdminError(new ApiError(500, "INTERNAL_ERROR", "x")).headline).toBe(
      "Something went wrong (INTERNAL_ERROR).",
    );
  });
});
