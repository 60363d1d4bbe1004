const moneyFormats = new Map();

// Amounts are decimals in the major unit; a paid order names its currency (ISO 4217, lower case).
export function formatMoney(amount, currency = "usd") {
  const code = currency.toUpperCase();
  if (!moneyFormats.has(code)) moneyFormats.set(code, new Intl.NumberFormat("en-US", { style: "currency", currency: code }));
  return moneyFormats.get(code).format(amount);
}

// A wall-clock time such as "14:05" in the shopper's time zone (24-hour: never ambiguous).
export function formatClock(instant, timeZone = undefined) {
  return new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone }).format(
    new Date(instant),
  );
}

// Time left on a hold (at most an hour) as "9:05".
export function formatMinutesSeconds(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}

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
