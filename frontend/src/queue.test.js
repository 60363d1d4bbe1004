import { describe, expect, it, vi } from "vitest";
import { ApiError } from "./api.js";
import {
  absoluteBase,
  formatStart,
  formatWait,
  forgetEntry,
  joinQueue,
  loadEntry,
  minutesLeftToBuy,
  needsMe,
  oddsPhrase,
  pollDelayMs,
  roughPosition,
  saveEntry,
  standing,
  ticketKey,
  unitsPhrase,
  verifyCommand,
  waitEstimate,
} from "./queue.js";

describe("the stored ticket", () => {
  it("is kept per product and shopper, and only what identifies the place", () => {
    const storage = window.localStorage;
    storage.clear();
    saveEntry(storage, "p1", "alice", { ticket: "t", entryId: "e", rank: 4, status: "ADMITTED", pass: "secret" });
    expect(loadEntry(storage, "p1", "alice")).toEqual({ ticket: "t", entryId: "e", rank: 4 });
    expect(loadEntry(storage, "p1", "bob")).toBeNull();
    expect(loadEntry(storage, "p2", "alice")).toBeNull();
    forgetEntry(storage, "p1", "alice");
    expect(loadEntry(storage, "p1", "alice")).toBeNull();
  });

  it("ignores what it can't read, and a storage that refuses", () => {
    const storage = window.localStorage;
    storage.setItem(ticketKey("p1", "alice"), "{not json");
    expect(loadEntry(storage, "p1", "alice")).toBeNull();
    const refusing = { getItem: () => null, setItem: () => { throw new Error("full"); }, removeItem: () => { throw new Error("no"); } };
    expect(() => saveEntry(refusing, "p1", "alice", { ticket: "t" })).not.toThrow();
    expect(() => forgetEntry(refusing, "p1", "alice")).not.toThrow();
  });
});

describe("pollDelayMs", () => {
  it.each([
    [{ pollAfterSeconds: 5 }, 5000],
    [{ pollAfterSeconds: 0 }, 2000],
    [{ pollAfterSeconds: 1 }, 2000],
    [{ pollAfterSeconds: 60 }, 15000],
    [{}, 15000],
    [null, 15000],
  ])("waits as the server asks, held to 2–15 s (%o)", (state, ms) => {
    expect(pollDelayMs(state)).toBe(ms);
  });

  it.each([
    ["near the front: as the server asks", { position: 50 }, 2000],
    ["further back: a tenth of the wait", { position: 1000 }, 5000],
    ["far back: at most every 15 s", { position: 100_000 }, 15000],
    ["admitted: as the server asks", { admitted: true, position: 0 }, 2000],
  ])("waits longer far back in the line (%s)", (_, place, ms) => {
    expect(pollDelayMs({ pollAfterSeconds: 2, ratePerSecond: 20 }, place)).toBe(ms);
  });
});

describe("standing", () => {
  it.each([
    [{ admittedThrough: 100 }, { rank: 3500 }, { admitted: false, position: 3400, ahead: 3399 }],
    [{ admittedThrough: 100 }, { rank: 101 }, { admitted: false, position: 1, ahead: 0 }],
    [{ admittedThrough: 100 }, { rank: 100 }, { admitted: true, position: 0, ahead: 0 }],
    [{ admittedThrough: 0 }, { rank: null }, null],
    [null, { rank: 3 }, null],
  ])("from the public state %o and the entry %o", (state, entry, expected) => {
    expect(standing(state, entry)).toEqual(expected);
  });
});

describe("needsMe", () => {
  const open = (admittedThrough = 0) => ({ phase: "OPEN", admittedThrough });
  it.each([
    ["not joined", open(), null, false],
    ["before the start, no rank yet", { phase: "PREQUEUE", admittedThrough: 0 }, { rank: null }, false],
    ["after the start, not shuffled yet", open(), { rank: null }, false],
    ["after the shuffle, no rank yet", { ...open(), preCount: 10 }, { rank: null }, true],
    ["ranked, still waiting", open(10), { rank: 11 }, false],
    ["ranked and admitted, no pass yet", open(11), { rank: 11 }, true],
    ["admitted with a pass in hand", open(11), { rank: 11, status: "ADMITTED", pass: "p" }, false],
    ["sold out", { phase: "SOLD_OUT", admittedThrough: 20 }, { rank: 11 }, false],
    ["expired", open(20), { rank: 11, status: "EXPIRED" }, false],
    ["used", open(20), { rank: 11, status: "USED" }, false],
  ])("%s", (_, state, entry, expected) => {
    expect(needsMe(state, entry)).toBe(expected);
  });

  it.each([
    ["no new ranks since the last ask", { queueLength: 50 }, 1_000, false],
    ["new ranks since the last ask", { queueLength: 60 }, 1_000, true],
    ["no new ranks, but long enough for a stale read to have cleared", { queueLength: 50 }, 30_000, true],
    ["not shuffled yet, not long enough", { queueLength: 60, preCount: null }, 1_000, false],
    ["not shuffled yet, long enough", { queueLength: 60, preCount: null }, 30_000, true],
  ])("an unknown rank asked for before: %s", (_, fields, elapsed, expected) => {
    const state = { phase: "OPEN", admittedThrough: 0, preCount: 40, ...fields };
    expect(needsMe(state, { rank: null }, { lastAsk: { queueLength: 50, at: 0 }, now: elapsed })).toBe(expected);
  });
});

describe("the shopper's words", () => {
  it.each([
    [10, "less than a minute"],
    [60, "about 1 minute"],
    [170, "about 3 minutes"],
    [89 * 60, "about 89 minutes"],
    [100 * 60, "about 2 hours"],
    [50 * 3600, "about 2 days"],
  ])("a wait of %d s is %s", (seconds, words) => {
    expect(formatWait(seconds)).toBe(words);
  });

  it("estimates the turn from those ahead and the admission rate", () => {
    expect(waitEstimate(3400, 20)).toBe("About 3 minutes.");
    expect(waitEstimate(0, 20)).toBe("You're next.");
    expect(waitEstimate(5, 0)).toMatch(/isn't letting shoppers in/);
  });

  it("gives the odds as units left for shoppers ahead", () => {
    expect(oddsPhrase(1000, 3400)).toBe("About 1,000 units left for 3,400 ahead of you.");
    expect(oddsPhrase(1, 0)).toBe("About 1 unit left, and nobody ahead of you.");
    expect(oddsPhrase(0, 5)).toBe("No units left right now.");
    expect(unitsPhrase(12)).toBe("About 12 units left.");
  });

  it.each([
    [3, "3"],
    [47, "about 50"],
    [340, "about 300"],
    [3451, "about 3,000"],
  ])("announces place %d as %s", (position, words) => {
    expect(roughPosition(position)).toBe(words);
  });

  it("counts the turn down in minutes", () => {
    expect(minutesLeftToBuy(125_000)).toBe("2 minutes left to buy.");
    expect(minutesLeftToBuy(30_000)).toBe("Less than a minute left to buy.");
    expect(minutesLeftToBuy(0)).toBe("Your turn has ended.");
  });

  it("names the start by its time when it is soon, with the day when it is not", () => {
    const now = Date.parse("2026-12-07T09:00:00Z");
    expect(formatStart("2026-12-07T10:05:00Z", now, "UTC")).toBe("10:05");
    expect(formatStart("2026-12-24T18:00:00Z", now, "UTC")).toBe("24 Dec, 18:00");
  });

  it("names the verifier's command", () => {
    expect(verifyCommand("http://127.0.0.1:8000", "lamp", "AbC_1")).toBe(
      "python -m tools.verify_queue --api http://127.0.0.1:8000 --product lamp --entry AbC_1",
    );
    expect(absoluteBase("/api", "https://shop.example/drops?x=1")).toBe("https://shop.example/api");
    expect(absoluteBase("http://127.0.0.1:8000/", "http://127.0.0.1:5173/")).toBe("http://127.0.0.1:8000");
  });
});

describe("joinQueue", () => {
  it("retries BUSY after Retry-After plus jitter, then answers the entry", async () => {
    const joined = { ticket: "t", entryId: "e", rank: null, status: "WAITING" };
    const api = {
      joinQueue: vi
        .fn()
        .mockRejectedValueOnce(new ApiError(503, "BUSY", "busy", 2))
        .mockRejectedValueOnce(new ApiError(0, "NETWORK", "offline"))
        .mockResolvedValueOnce(joined),
    };
    const sleep = vi.fn(async () => {});
    const onRetry = vi.fn();
    const answer = await joinQueue(api, "p1", "alice", { sleep, random: () => 0.5, onRetry });
    expect(answer).toEqual(joined);
    expect(api.joinQueue).toHaveBeenCalledTimes(3);
    expect(api.joinQueue).toHaveBeenCalledWith("p1", "alice");
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([3000, 1500]);
    expect(onRetry).toHaveBeenCalledTimes(2);
  });

  it("does not retry an answer such as SALE_NOT_ACTIVE, and gives up after its attempts", async () => {
    const ended = { joinQueue: vi.fn().mockRejectedValue(new ApiError(409, "SALE_NOT_ACTIVE", "ended")) };
    await expect(joinQueue(ended, "p1", "a", { sleep: async () => {} })).rejects.toMatchObject({ code: "SALE_NOT_ACTIVE" });
    expect(ended.joinQueue).toHaveBeenCalledTimes(1);
    const busy = { joinQueue: vi.fn().mockRejectedValue(new ApiError(503, "BUSY", "busy", 1)) };
    await expect(joinQueue(busy, "p1", "a", { sleep: async () => {}, attempts: 3 })).rejects.toMatchObject({ code: "BUSY" });
    expect(busy.joinQueue).toHaveBeenCalledTimes(3);
  });
});
