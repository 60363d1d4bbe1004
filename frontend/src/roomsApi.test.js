import { describe, expect, it, vi } from "vitest";
import { ApiError, createApi, describeError } from "./api.js";

function response(status, body, headers = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

const STATE = { productId: "p 1", phase: "PREQUEUE", commitment: "ab", pollAfterSeconds: 5 };

describe("the waiting room's calls", () => {
  it("reads the public state with a plain GET (no body, no JSON header: cacheable)", async () => {
    const fetch = vi.fn(async () => response(200, STATE));
    const state = await createApi("http://shop/", fetch).queueState("p 1");
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe("http://shop/products/p%201/queue");
    expect(init.method).toBe("GET");
    expect(init.headers).toEqual({});
    expect(init.body).toBeUndefined();
    expect(state).toEqual(STATE);
  });

  it("joins as the named shopper, with the signed-in token when there is one", async () => {
    const joined = { ticket: "t1", entryId: "e1", rank: null, status: "WAITING" };
    const fetch = vi.fn(async () => response(201, joined));
    const answer = await createApi("http://shop", fetch, () => "id-token").joinQueue("p1", "alice");
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe("http://shop/products/p1/queue/join");
    expect(init.method).toBe("POST");
    expect(init.headers).toEqual({ "Content-Type": "application/json", Authorization: "id-token" });
    expect(JSON.parse(init.body)).toEqual({ userId: "alice" });
    expect(answer).toEqual(joined);
  });

  it("reports a busy join with its Retry-After", async () => {
    const fetch = vi.fn(async () => response(503, { code: "BUSY", message: "slow down" }, { "Retry-After": "3" }));
    const error = await createApi("http://shop", fetch)
      .joinQueue("p1", "alice")
      .catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect([error.status, error.code, error.retryAfter]).toEqual([503, "BUSY", 3]);
  });

  it("asks for the shopper's entry with the ticket escaped in the query", async () => {
    const fetch = vi.fn(async () => response(200, { ticket: "v1.a+b/c=", status: "WAITING" }));
    await createApi("http://shop", fetch).queueMe("p1", "v1.a+b/c=");
    expect(fetch.mock.calls[0][0]).toBe("http://shop/products/p1/queue/me?ticket=v1.a%2Bb%2Fc%3D");
    expect(fetch.mock.calls[0][1].method).toBe("GET");
  });

  it("turns a bad ticket into INVALID_REQUEST", async () => {
    const fetch = vi.fn(async () => response(400, { code: "INVALID_REQUEST", message: "bad ticket" }));
    const error = await createApi("http://shop", fetch)
      .queueMe("p1", "x")
      .catch((e) => e);
    expect([error.status, error.code, error.message]).toEqual([400, "INVALID_REQUEST", "bad ticket"]);
  });

  it("reads a page of the shuffled entry list", async () => {
    const fetch = vi.fn(async () => response(200, { page: 2, pages: 3, entries: ["a", "b"] }));
    const page = await createApi("http://shop", fetch).queueEntries("p1", 2);
    expect(fetch.mock.calls[0][0]).toBe("http://shop/products/p1/queue/entries?page=2");
    expect(page.entries).toEqual(["a", "b"]);
  });

  it("sends the admission pass with the order", async () => {
    const fetch = vi.fn(async () => response(201, { orderId: "o1" }));
    const order = { userId: "u", productId: "p", quantity: 1, admissionPass: "v1.x.y" };
    await createApi("http://shop", fetch).placeOrder(order, "key-1");
    expect(JSON.parse(fetch.mock.calls[0][1].body)).toEqual(order);
  });

  it.each([
    ["ADMISSION_REQUIRED", /join the queue/],
    ["PASS_EXPIRED", /turn to buy has passed/],
  ])("explains the order's %s in the shopper's words", (code, headline) => {
    expect(describeError(new ApiError(403, code, "detail")).headline).toMatch(headline);
  });
});
