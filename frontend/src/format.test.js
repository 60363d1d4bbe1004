import { expect, it } from "vitest";
import { formatClock, formatMinutesSeconds, formatMoney } from "./format.js";

it("formats money in the order's currency, dollars when none is named", () => {
  expect(formatMoney(19.99)).toBe("$19.99");
  expect(formatMoney(19.99, "eur")).toBe("€19.99");
  expect(formatMoney(1500, "jpy")).toBe("¥1,500");
});

it("gives a wall-clock time on a 24-hour clock", () => {
  expect(formatClock("2026-11-27T14:05:59Z", "UTC")).toBe("14:05");
  expect(formatClock("2026-11-27T09:00:00Z", "UTC")).toBe("09:00");
});

it.each([
  [9 * 60_000 + 41_000, "9:41"],
  [60_000, "1:00"],
  [400, "0:01"],
  [-1, "0:00"],
])("shows %i ms left on a hold as %s", (ms, text) => {
  expect(formatMinutesSeconds(ms)).toBe(text);
});
