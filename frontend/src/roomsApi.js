// The waiting room's shop calls (docs/waiting-room.md), on the shop's transport: the
// public state anyone may read, the join, the shopper's own entry, the shuffled list.
const queue = (productId) => `/products/${encodeURIComponent(productId)}/queue`;

export function createRoomsApi(request) {
  return {
    // Identical for every shopper (edge-cached for 1 s): poll it, not the entry.
    queueState: (productId) => request("GET", queue(productId)),
    // 201 on the first join, 200 with the same entry after: a retry can never queue twice.
    // Its own path: the edge caches the queue's state by path, without the token.
    joinQueue: (productId, userId) => request("POST", `${queue(productId)}/join`, { body: { userId } }),
    queueMe: (productId, ticket) => request("GET", `${queue(productId)}/me?ticket=${encodeURIComponent(ticket)}`),
    queueEntries: (productId, page) => request("GET", `${queue(productId)}/entries?page=${encodeURIComponent(page)}`),
  };
}
