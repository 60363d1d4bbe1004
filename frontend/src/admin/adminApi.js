// The operator console's calls: /admin/… plus the order cancel, on the shop's transport
// (same base URL, same signed-in token: an admin's Cognito ID token when deployed).
import { segment } from "../api.js";

export function createAdminApi({ request }) {
  const sale = (productId) => `/admin/sales/${segment(productId)}`;
  return {
    listSales: () => request("GET", "/admin/sales"),
    putSale: (productId, fields) => request("PUT", sale(productId), { body: fields }),
    restock: (productId, units) => request("POST", `${sale(productId)}/restock`, { body: { units } }),
    endSale: (productId) => request("POST", `${sale(productId)}/end`),
    live: (productId, minutes = 60) => request("GET", `${sale(productId)}/live?minutes=${minutes}`),
    orders: (productId, { limit = 50, nextToken, orderId, userId } = {}) => {
      const query = new URLSearchParams({ limit: String(limit) });
      if (nextToken) query.set("nextToken", nextToken);
      if (orderId) query.set("orderId", orderId);
      if (userId) query.set("userId", userId);
      return request("GET", `${sale(productId)}/orders?${query}`);
    },
    // A Blob through fetch, not a plain link: a link could not send the Authorization header.
    ordersCsv: (productId) =>
      request("GET", `${sale(productId)}/orders.csv`, { headers: { Accept: "text/csv" }, read: "blob" }),
    // The waiting room of a sale that has one on (docs/waiting-room.md): its figures, and
    // the admission rate, changed live (the admitter's next tick uses it).
    room: (productId) => request("GET", `/admin/rooms/${segment(productId)}`),
    setRoomRate: (productId, ratePerSecond) =>
      request("PUT", `/admin/rooms/${segment(productId)}`, { body: { ratePerSecond } }),
    // No body: the caller is the operator, who may cancel any confirmed order.
    cancelOrder: (orderId) => request("POST", `/orders/${segment(orderId)}/cancel`),
  };
}

// What an operator is told for each error code; the server's message follows as detail.
export const ADMIN_MESSAGES = {
  INVALID_REQUEST: "The API refused these values.",
  UNSUPPORTED_MEDIA_TYPE: "The API refused the request's format.",
  PRODUCT_NOT_FOUND: "There is no sale with this id.",
  ORDER_NOT_FOUND: "There is no such order.",
  ORDER_NOT_CANCELLABLE: "This order can't be cancelled.",
  FORBIDDEN: "Your account may not use the operator console: it must be in the admins group.",
  HTTP_401: "Your sign-in has expired. Sign in again.",
  BUSY: "The API is busy. Try again in a moment.",
  NETWORK: "The API can't be reached. Check the connection (locally: is `make run` running?).",
  OUT_OF_STOCK: "Sold out.",
  SALE_NOT_ACTIVE: "The sale is not open.",
};

export function describeAdminError(error) {
  const headline = ADMIN_MESSAGES[error?.code] ?? `Something went wrong (${error?.code ?? "unknown error"}).`;
  // A network failure has no answer from the API to add, only the shop's own wording.
  const detail = error?.code === "NETWORK" ? "" : (error?.message ?? "");
  return { headline, detail };
}
