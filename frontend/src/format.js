const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

export const formatMoney = (amount) => money.format(amount);

export function formatCountdown(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const days = Math.floor(total / 86400);
  const pad = (n) => String(n).padStart(2, "0");
  const clock = `${pad(Math.floor((total % 86400) / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
  return days > 0 ? `${days}d ${clock}` : clock;
}

// Where a product's sale stands at server time `now` (ms since the epoch).
export function saleState(product, now) {
  const starts = product.saleStartsAt ? Date.parse(product.saleStartsAt) : null;
  const ends = product.saleEndsAt ? Date.parse(product.saleEndsAt) : null;
  if (starts !== null && now < starts) return { phase: "upcoming", msLeft: starts - now };
  if (ends !== null && now >= ends) return { phase: "ended" };
  return { phase: "live" };
}

export function maxQuantity(product) {
  return Math.max(0, Math.min(product.stock, product.maxPerUser ?? 10, 10));
}
