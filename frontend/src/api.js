import { createRoomsApi } from "./roomsApi.js";

// The FlashSale API client: JSON in and out, contract errors as ApiError, and
// the server's clock (from the Date header) so countdowns ignore the device clock.

export const API_BASE = import.meta.env.VITE_API_BASE_URL ?? "http://127.0.0.1:8000";

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

// The transport both the shop and the operator console use: one base URL, the
// signed-in user's token, contract errors as ApiError, and the server's clock.
export function createClient(
  baseUrl = API_BASE,
  fetchImpl = (...args) => globalThis.fetch(...args),
  token = () => null,
) {
  const base = baseUrl.replace(/\/+$/, "");
  let offsetMs = 0;

  // `read: "blob"` is for downloads (CSV): the body is returned as a Blob, not parsed.
  async function request(method, path, { body, headers = {}, read = "json" } = {}) {
    let response;
    const bearer = token();
    const authorization = bearer ? { Authorization: bearer } : {};
    try {
      response = await fetchImpl(base + path, {
        method,
        headers: {
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          ...authorization,
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, "NETWORK", "The shop can't be reached right now.");
    }
    const serverTime = Date.parse(response.headers.get("Date") ?? "");
    if (!Number.isNaN(serverTime)) offsetMs = serverTime - Date.now();
    if (response.ok && read === "blob") return response.blob();
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const retryAfter = Number(response.headers.get("Retry-After"));
      throw new ApiError(
        response.status,
        data?.code ?? `HTTP_${response.status}`,
        data?.message ?? `The shop answered ${response.status}.`,
        Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
      );
    }
    return data;
  }

  return { request, now: () => Date.now() + offsetMs };
}

export const segment = (value) => encodeURIComponent(value);

export function createApi(baseUrl = API_BASE, fetchImpl = undefined, token = undefined) {
  const client = createClient(baseUrl, fetchImpl, token);
  const { request } = client;
  return {
    client,
    now: client.now,
    listProducts: () => request("GET", "/products"),
    listOrders: (userId) => request("GET", `/users/${segment(userId)}/orders`),
    placeOrder: (order, idempotencyKey) =>
      request("POST", "/orders", { body: order, headers: { "Idempotency-Key": idempotencyKey } }),
    // The shopper names themself: locally a cancel without a body acts as an admin,
    // and the shop must be held to the shopper's cancel window like anyone else.
    cancelOrder: (orderId, userId) =>
      request("POST", `/orders/${segment(orderId)}/cancel`, { body: { userId } }),
    getOrder: (orderId) => request("GET", `/orders/${segment(orderId)}`),
    paymentsConfig: () => request("GET", "/payments/config"),
    // `paymentMethod` is the id Stripe.js gave this browser for the card (card_... or pm_...);
    // the card number itself never reaches the shop. With the hold's PaymentIntent id the
    // server asks Stripe, not the order table, about the hold (docs/payments.md).
    payOrder: (orderId, paymentMethod, paymentIntentId) =>
      request("POST", `/orders/${segment(orderId)}/pay`, {
        body: paymentIntentId ? { paymentMethod, paymentIntentId } : { paymentMethod },
      }),
    ...createRoomsApi(request),
  };
}

const RETRYABLE = new Set(["BUSY", "NETWORK"]);
// A 5xx that is an answer, not a hiccup: the server already released the hold, and
// retrying at once would only ask Stripe again while it is down.
const FINAL = new Set(["PAYMENT_UNAVAILABLE"]);

// One purchase attempt: a single Idempotency-Key for every retry, so a retried
// request (or a double click that slipped through) can never buy twice.
export async function buy(api, order, { key = newKey(), attempts = 4, sleep = wait, onRetry } = {}) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await api.placeOrder(order, key);
    } catch (error) {
      const retryable =
        error instanceof ApiError && !FINAL.has(error.code) && (RETRYABLE.has(error.code) || error.status >= 500);
      if (!retryable || attempt >= attempts) throw error;
      onRetry?.(error, attempt);
      await sleep((error.retryAfter ?? 1) * 1000);
    }
  }
}

export function newKey() {
  return globalThis.crypto.randomUUID();
}

function wait(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const MESSAGES = {
  OUT_OF_STOCK: "Sold out: someone got there first.",
  SALE_NOT_ACTIVE: "This sale isn't open right now.",
  PURCHASE_LIMIT_EXCEEDED: "You've reached the limit for this item.",
  BUSY: "So many shoppers right now. Please try again in a moment.",
  NETWORK: "The shop can't be reached. Check your connection and try again.",
  PRODUCT_NOT_FOUND: "This product is no longer available.",
  INVALID_REQUEST: "That order couldn't be understood.",
  IDEMPOTENCY_KEY_REUSED: "That checkout was already used for a different order. Please try again.",
  FORBIDDEN: "Please sign in again to continue.",
  ORDER_NOT_CANCELLABLE: "This order can no longer be cancelled: its cancellation window has passed.",
  ORDER_NOT_FOUND: "That order can't be found.",
  PAYMENT_UNAVAILABLE: "Card payments aren't available right now, so nothing was charged. Please try again in a moment.",
  PAYMENT_FAILED: "Your card wasn't charged.",
  HOLD_EXPIRED: "Your hold on these units has ended, so they went back on sale.",
  ORDER_NOT_PAYABLE: "This order can't be paid any more.",
  ADMISSION_REQUIRED: "This product has a waiting room: join the queue and buy when it's your turn.",
  PASS_EXPIRED: "Your turn to buy has passed, so your place went to the next shopper in line.",
};

export function describeError(error) {
  const headline = MESSAGES[error.code] ?? "Something went wrong. Please try again.";
  return { headline, detail: error.message };
}
