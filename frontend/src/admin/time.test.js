import { expect, it } from "vitest";
import { formatClock, formatInstant, formatWindow, isoToLocalInput, localInputToIso, parseInstant } from "./time.js";

it("reads the input as the operator's local wall time", () => {
  // Whatever zone the test runs in, the instant is that zone's 10:30 on the day.
  expect(localInputToIso("2026-11-27T10:30")).toBe(new Date(2026, 10, 27, 10, 30).toISOString());
  expect(localInputToIso("2026-11-27T10:30")).toMatch(/Z$/);
});

it("round-trips an instant through the input", () => {
  const iso = "2026-11-27T09:30:00.000Z";
  expect(localInputToIso(isoToLocalInput(iso))).toBe(iso);
  expect(isoToLocalInput("2026-11-27T09:30:00.000000Z")).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/);
});

it("leaves empty and malformed values out", () => {
  expect(localInputToIso("")).toBeNull();
  expect(localInputToIso("27/11/2026 10:30")).toBeNull();
  expect(isoToLocalInput(undefined)).toBe("");
  expect(isoToLocalInput("not a time")).toBe("");
});

it("labels chart minutes with a 24-hour clock", () => {
  expect(formatClock(new Date(2026, 10, 27, 9, 5).toISOString())).toMatch(/^09:05$/);
});

it("parses the API's microsecond instants", () => {
  expect(parseInstant("2026-11-27T09:30:00.123456Z")).toBe(Date.UTC(2026, 10, 27, 9, 30, 0, 123));
  expect(parseInstant("2026-11-27T09:30:00Z")).toBe(Date.UTC(2026, 10, 27, 9, 30));
  expect(parseInstant(null)).toBeNaN();
});

it("words a sale window with either end open", () => {
  const start = "2026-11-27T09:00:00.000000Z";
  const end = "2026-11-27T10:00:00Z";
  expect(formatWindow(null, null)).toBe("Always open");
  expect(formatWindow(start, null)).toBe(`From ${formatInstant(start)}`);
  expect(formatWindow(undefined, end)).toBe(`Until ${formatInstant(end)}`);
  expect(formatWindow(start, end)).toBe(`${formatInstant(start)} to ${formatInstant(end)}`);
});
