import { act, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../api.js";
import { loadEntry, saveEntry } from "../queue.js";
import { seriousViolations } from "../testAxe.js";
import { viewOf, WaitingRoom } from "./WaitingRoom.jsx";

const NOW = Date.parse("2026-12-07T10:00:00Z");
const PRODUCT = { productId: "lamp", name: "Desk lamp", price: 24.5, stock: 1000, waitingRoom: { ratePerSecond: 20, passSeconds: 120 } };
const COMMITMENT = "c0ffee".repeat(10) + "abcd";
const SEED = "5eed".repeat(16);
const DIGEST = "d16e57".repeat(10) + "beef";

function state(fields = {}) {
  return {
    productId: "lamp",
    phase: "PREQUEUE",
    startsAt: "2026-12-07T10:05:00Z",
    commitment: COMMITMENT,
    seed: null,
    digest: null,
    preCount: null,
    queueLength: 0,
    admittedThrough: 0,
    ratePerSecond: 20,
    unitsLeft: 1000,
    pages: 0,
    updatedAt: "2026-12-07T10:00:00Z",
    pollAfterSeconds: 5,
    ...fields,
  };
}

const started = (fields = {}) =>
  state({ phase: "OPEN", seed: SEED, digest: DIGEST, preCount: 4000, queueLength: 4000, pages: 1, ...fields });

// The public state is served from a list of answers (the last one repeats).
function fakeApi(states, overrides = {}) {
  const answers = [...states];
  return {
    queueState: vi.fn(async () => {
      const next = answers.length > 1 ? answers.shift() : answers[0];
      if (next instanceof Error) throw next;
      return next;
    }),
    joinQueue: vi.fn(async () => ({ ticket: "t-1", entryId: "entry-1", rank: null, status: "WAITING" })),
    queueMe: vi.fn(),
    ...overrides,
  };
}

const flush = () => act(() => vi.advanceTimersByTimeAsync(0));
const advance = (ms) => act(() => vi.advanceTimersByTimeAsync(ms));

function renderRoom(api, props = {}) {
  const children = vi.fn(({ pass }) => <button type="button">Buy with {pass}</button>);
  const view = render(
    <WaitingRoom product={PRODUCT} api={api} userId="alice" now={NOW} {...props}>
      {children}
    </WaitingRoom>,
  );
  return { ...view, children };
}

beforeEach(() => {
  window.localStorage.clear();
  vi.useFakeTimers();
});
afterEach(() => vi.useRealTimers());

describe("WaitingRoom before the start", () => {
  it("explains there is no need to hurry, joins in one click and keeps the ticket", async () => {
    const api = fakeApi([state()]);
    renderRoom(api);
    await flush();

    expect(screen.getByRole("region", { name: "Waiting room for Desk lamp" })).toHaveTextContent(
      /random place in line when it starts.*no need to hurry/,
    );
    fireEvent.click(screen.getByRole("button", { name: "Join the queue for Desk lamp" }));
    await flush();

    expect(api.joinQueue).toHaveBeenCalledWith("lamp", "alice");
    expect(screen.getByTestId("queue-message")).toHaveTextContent("You're in the queue.");
    expect(screen.getByTestId("queue-announcement")).toHaveTextContent("You're in the queue.");
    expect(loadEntry(window.localStorage, "lamp", "alice")).toEqual({ ticket: "t-1", entryId: "entry-1", rank: null });
    expect(screen.queryByRole("button", { name: /Join the queue/ })).not.toBeInTheDocument();
  });

  it("polls the public state as often as it says, never the entry, before the start", async () => {
    saveEntry(window.localStorage, "lamp", "alice", { ticket: "t-1", entryId: "entry-1", rank: null });
    const api = fakeApi([state({ pollAfterSeconds: 5 })]);
    renderRoom(api);
    await flush();
    expect(api.queueState).toHaveBeenCalledTimes(1);
    await advance(4900);
    expect(api.queueState).toHaveBeenCalledTimes(1);
    await advance(100);
    expect(api.queueState).toHaveBeenCalledTimes(2);
    await advance(20_000);
    expect(api.queueState).toHaveBeenCalledTimes(6);
    expect(api.queueMe).not.toHaveBeenCalled();
    expect(api.joinQueue).not.toHaveBeenCalled();
  });

  it.each([
    [0, 2000],
    [1, 2000],
    [60, 15000],
  ])("holds pollAfterSeconds %d to %d ms", async (seconds, ms) => {
    const api = fakeApi([state({ pollAfterSeconds: seconds })]);
    renderRoom(api);
    await flush();
    await advance(ms - 1);
    expect(api.queueState).toHaveBeenCalledTimes(1);
    await advance(1);
    expect(api.queueState).toHaveBeenCalledTimes(2);
  });

  it("shows the commitment, and says the seed comes at the start", async () => {
    renderRoom(fakeApi([state()]));
    await flush();
    expect(screen.getByText("Check the shuffle")).toBeInTheDocument();
    expect(screen.getByTestId("shuffle-commitment")).toHaveTextContent(COMMITMENT);
    expect(screen.queryByTestId("shuffle-seed")).not.toBeInTheDocument();
    expect(screen.getByTestId("shuffle-check")).toHaveTextContent("The seed is revealed when the sale starts.");
  });

  it("asks a signed-out shopper to sign in instead of joining", async () => {
    const api = fakeApi([state()]);
    const onSignIn = vi.fn();
    renderRoom(api, { userId: null, onSignIn });
    await flush();
    fireEvent.click(screen.getByRole("button", { name: "Join the queue for Desk lamp" }));
    expect(onSignIn).toHaveBeenCalled();
    expect(api.joinQueue).not.toHaveBeenCalled();
  });

  it("retries a busy join with jitter and tells the shopper meanwhile", async () => {
    const api = fakeApi([state()], {
      joinQueue: vi
        .fn()
        .mockRejectedValueOnce(new ApiError(503, "BUSY", "busy", 2))
        .mockResolvedValueOnce({ ticket: "t-1", entryId: "entry-1", rank: null, status: "WAITING" }),
    });
    renderRoom(api, { random: () => 0.25 });
    await flush();
    fireEvent.click(screen.getByRole("button", { name: "Join the queue for Desk lamp" }));
    await flush();
    expect(screen.getByText("So many shoppers are joining right now.")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: /Join the queue/ })).toBeDisabled();
    await advance(2499);
    expect(api.joinQueue).toHaveBeenCalledTimes(1);
    await advance(1);
    expect(api.joinQueue).toHaveBeenCalledTimes(2);
    expect(screen.getByTestId("queue-message")).toHaveTextContent("You're in the queue.");
  });

  it("says the queue is closed when the sale has ended", async () => {
    const api = fakeApi([state()], {
      joinQueue: vi.fn().mockRejectedValue(new ApiError(409, "SALE_NOT_ACTIVE", "The sale has ended.")),
    });
    renderRoom(api);
    await flush();
    fireEvent.click(screen.getByRole("button", { name: /Join the queue/ }));
    await flush();
    expect(screen.getByRole("alert")).toHaveTextContent("This sale has ended, so its queue is closed.");
  });

  it("has no serious accessibility findings, joined or not", async () => {
    const { container } = renderRoom(fakeApi([state()]));
    await flush();
    vi.useRealTimers();
    expect(await seriousViolations(container)).toEqual([]);
  });
});

describe("WaitingRoom after the start", () => {
  it("learns its rank once, stores the refreshed ticket, then follows the public state alone", async () => {
    saveEntry(window.localStorage, "lamp", "alice", { ticket: "t-1", entryId: "entry-1", rank: null });
    const api = fakeApi([started({ admittedThrough: 100 }), started({ admittedThrough: 501 })], {
      queueMe: vi.fn(async () => ({
        ticket: "t-ranked",
        entryId: "entry-1",
        rank: 3501,
        ahead: 3400,
        status: "WAITING",
        pass: null,
        passExpiresAt: null,
      })),
    });
    renderRoom(api);
    await flush();

    expect(api.queueMe).toHaveBeenCalledWith("lamp", "t-1");
    expect(loadEntry(window.localStorage, "lamp", "alice")).toEqual({ ticket: "t-ranked", entryId: "entry-1", rank: 3501 });
    expect(screen.getByTestId("queue-position")).toHaveTextContent("3,401");
    expect(screen.getByTestId("queue-ahead")).toHaveTextContent("3,400");
    expect(screen.getByTestId("queue-estimate")).toHaveTextContent("About 3 minutes.");
    expect(screen.getByTestId("queue-odds")).toHaveTextContent("About 1,000 units left for 3,400 ahead of you.");
    expect(screen.getByTestId("queue-announcement")).toHaveTextContent("You're number about 3,000 in line.");

    // The first answer came before the rank was known: the next poll as the server asked.
    await advance(5000);
    expect(api.queueState).toHaveBeenCalledTimes(2);
    expect(api.queueMe).toHaveBeenCalledTimes(1);
    expect(screen.getByTestId("queue-position")).toHaveTextContent("3,000");
    // 3,000th at 20 a second: the turn is 150 s away, so the page waits 15 s.
    await advance(14_900);
    expect(api.queueState).toHaveBeenCalledTimes(2);
    await advance(100);
    expect(api.queueState).toHaveBeenCalledTimes(3);
    expect(api.queueMe).toHaveBeenCalledTimes(1);
  });

  it("asks again for an unknown rank only once new ranks were given, or after 30 s", async () => {
    saveEntry(window.localStorage, "lamp", "alice", { ticket: "t-1", entryId: "entry-1", rank: null });
    const waiting = { ticket: "t-1", entryId: "entry-1", rank: null, ahead: null, status: "WAITING", pass: null };
    const api = fakeApi(
      [started(), started(), started({ queueLength: 4100 }), started({ queueLength: 4100 })],
      { queueMe: vi.fn(async () => waiting) },
    );
    renderRoom(api);
    await flush();
    expect(screen.getByTestId("queue-message")).toHaveTextContent("the queue is being shuffled");
    expect(api.queueMe).toHaveBeenCalledTimes(1);
    await advance(5000);
    expect(api.queueMe).toHaveBeenCalledTimes(1);
    await advance(5000);
    expect(api.queueMe).toHaveBeenCalledTimes(2);
    await advance(15_000);
    expect(api.queueMe).toHaveBeenCalledTimes(2);
    await advance(15_000);
    expect(api.queueMe).toHaveBeenCalledTimes(3);
  });

  it("waits for the shuffle before asking for the rank", async () => {
    saveEntry(window.localStorage, "lamp", "alice", { ticket: "t-1", entryId: "entry-1", rank: null });
    const api = fakeApi([started({ preCount: null, queueLength: 0 }), started()], {
      queueMe: vi.fn(async () => ({ ticket: "t-r", entryId: "entry-1", rank: 7, status: "WAITING", pass: null })),
    });
    renderRoom(api);
    await flush();
    expect(api.queueMe).not.toHaveBeenCalled();
    await advance(5000);
    expect(api.queueMe).toHaveBeenCalledTimes(1);
    expect(screen.getByTestId("queue-position")).toHaveTextContent("7");
  });

  it("offers a late joiner the next place, behind those still waiting", async () => {
    renderRoom(fakeApi([started({ admittedThrough: 1000 })]));
    await flush();
    expect(screen.getByRole("region", { name: /Waiting room/ })).toHaveTextContent(
      "The sale has started. Join to take the next place in line, behind 3,000 shoppers still waiting.",
    );
  });

  it("shows the seed, the digest and the command to check the place", async () => {
    saveEntry(window.localStorage, "lamp", "alice", { ticket: "t-2", entryId: "entry-1", rank: 3501 });
    const { container } = renderRoom(fakeApi([started()]));
    await flush();
    fireEvent.click(screen.getByText("Check the shuffle"));
    expect(screen.getByTestId("shuffle-check")).toHaveAttribute("open");
    expect(screen.getByTestId("shuffle-seed")).toHaveTextContent(SEED);
    expect(screen.getByTestId("shuffle-digest")).toHaveTextContent(DIGEST);
    expect(screen.getByTestId("shuffle-pre-count")).toHaveTextContent("4,000 shoppers");
    expect(screen.getByTestId("queue-entry-id")).toHaveTextContent("entry-1");
    expect(screen.getByTestId("shuffle-command")).toHaveTextContent(
      "python -m tools.verify_queue --api http://127.0.0.1:8000 --product lamp --entry entry-1",
    );
    expect(screen.getByTestId("queue-position")).toHaveTextContent("3,501");
    vi.useRealTimers();
    expect(await seriousViolations(container)).toEqual([]);
  });

  it("fetches the pass once the rank is admitted, and hands it to the buy controls with a countdown", async () => {
    saveEntry(window.localStorage, "lamp", "alice", { ticket: "t-2", entryId: "entry-1", rank: 3501 });
    const api = fakeApi([started({ admittedThrough: 3000 }), started({ admittedThrough: 3600 })], {
      queueMe: vi.fn(async () => ({
        ticket: "t-2",
        entryId: "entry-1",
        rank: 3501,
        ahead: 0,
        status: "ADMITTED",
        pass: "v1.pass.sig",
        passExpiresAt: "2026-12-07T10:02:00Z",
      })),
    });
    const { children, container } = renderRoom(api);
    await flush();
    expect(api.queueMe).not.toHaveBeenCalled();

    await advance(5000);
    expect(api.queueMe).toHaveBeenCalledTimes(1);
    expect(screen.getByTestId("queue-turn")).toHaveTextContent("It's your turn!");
    expect(screen.getByRole("timer", { name: "Time left to buy" })).toHaveTextContent("2:00");
    expect(screen.getByTestId("pass-announcement")).toHaveTextContent("2 minutes left to buy.");
    expect(screen.getByRole("button", { name: "Buy with v1.pass.sig" })).toBeInTheDocument();
    expect(children).toHaveBeenLastCalledWith(expect.objectContaining({ pass: "v1.pass.sig" }));

    await advance(5000);
    expect(api.queueMe).toHaveBeenCalledTimes(1);
    vi.useRealTimers();
    expect(await seriousViolations(container)).toEqual([]);
  });

  it("ends the turn when the pass runs out on the server's clock", async () => {
    saveEntry(window.localStorage, "lamp", "alice", { ticket: "t-2", entryId: "entry-1", rank: 3 });
    const api = fakeApi([started({ admittedThrough: 10 })], {
      queueMe: vi.fn(async () => ({ ticket: "t-2", entryId: "entry-1", rank: 3, status: "ADMITTED", pass: "v1.p", passExpiresAt: "2026-12-07T10:02:00Z" })),
    });
    const { rerender, children } = renderRoom(api);
    await flush();
    expect(screen.getByRole("button", { name: "Buy with v1.p" })).toBeInTheDocument();
    rerender(
      <WaitingRoom product={PRODUCT} api={api} userId="alice" now={Date.parse("2026-12-07T10:02:00Z")}>
        {children}
      </WaitingRoom>,
    );
    await flush();
    expect(screen.getByTestId("queue-message")).toHaveTextContent("Your turn passed");
    expect(screen.queryByRole("button", { name: /Buy with/ })).not.toBeInTheDocument();
  });

  it.each([
    ["EXPIRED", "Your turn passed before an order was placed, so your place went to the next shopper in line."],
    ["USED", "You've used your turn: your order is in My orders."],
    ["SOLD_OUT", "Sold out. Everyone still waiting is told at once"],
  ])("tells the shopper when their entry is %s, and stops polling", async (status, words) => {
    saveEntry(window.localStorage, "lamp", "alice", { ticket: "t-2", entryId: "entry-1", rank: 3 });
    const api = fakeApi([started({ admittedThrough: 10 })], {
      queueMe: vi.fn(async () => ({ ticket: "t-2", entryId: "entry-1", rank: 3, status, pass: null, passExpiresAt: null })),
    });
    renderRoom(api);
    await flush();
    expect(screen.getByTestId("queue-message")).toHaveTextContent(words);
    await advance(5000);
    await advance(60_000);
    expect(api.queueState).toHaveBeenCalledTimes(2);
  });

  it("tells everyone still waiting at once when the room sells out, and stops polling", async () => {
    saveEntry(window.localStorage, "lamp", "alice", { ticket: "t-2", entryId: "entry-1", rank: 3501 });
    const api = fakeApi([started({ admittedThrough: 100 }), started({ phase: "SOLD_OUT", unitsLeft: 0 })]);
    renderRoom(api);
    await flush();
    expect(screen.getByTestId("queue-position")).toHaveTextContent("3,401");
    await advance(15_000);
    expect(screen.getByTestId("queue-message")).toHaveTextContent("Sold out. Everyone still waiting is told at once");
    expect(screen.getByTestId("queue-announcement")).toHaveTextContent("Sold out.");
    await advance(60_000);
    expect(api.queueState).toHaveBeenCalledTimes(2);
    expect(api.queueMe).not.toHaveBeenCalled();
  });

  it("forgets a ticket the server can't read and lets the shopper join again", async () => {
    saveEntry(window.localStorage, "lamp", "alice", { ticket: "stale", entryId: "entry-1", rank: null });
    const api = fakeApi([started()], {
      queueMe: vi.fn().mockRejectedValue(new ApiError(400, "INVALID_REQUEST", "bad ticket")),
    });
    renderRoom(api);
    await flush();
    expect(screen.getByRole("alert")).toHaveTextContent("We couldn't read your place in the queue.");
    expect(loadEntry(window.localStorage, "lamp", "alice")).toBeNull();
    expect(screen.getByRole("button", { name: "Join the queue for Desk lamp" })).toBeInTheDocument();
  });

  it("keeps polling through a failed read, at most every 15 s", async () => {
    const api = fakeApi([new ApiError(0, "NETWORK", "offline"), started()]);
    renderRoom(api);
    await flush();
    expect(screen.getByText(/can't be read right now/)).toBeInTheDocument();
    await advance(15_000);
    expect(api.queueState).toHaveBeenCalledTimes(2);
    expect(screen.getByRole("button", { name: /Join the queue/ })).toBeInTheDocument();
  });

  it("stops polling when it is taken off the page", async () => {
    const api = fakeApi([started()]);
    const { unmount } = renderRoom(api);
    await flush();
    unmount();
    await advance(60_000);
    expect(api.queueState).toHaveBeenCalledTimes(1);
  });
});

describe("viewOf", () => {
  const open = started({ admittedThrough: 10 });
  it.each([
    ["nothing read yet", null, null, "loading"],
    ["not joined", open, null, "join"],
    ["joined before the start", state(), { rank: null }, "prequeue"],
    ["started, rank unknown", open, { rank: null }, "ranking"],
    ["ranked behind", open, { rank: 20 }, "waiting"],
    ["admitted, no pass yet", open, { rank: 5 }, "fetching-pass"],
    ["admitted with a pass", open, { rank: 5, status: "ADMITTED", pass: "p" }, "admitted"],
    ["used", open, { rank: 5, status: "USED" }, "used"],
    ["used, then sold out", started({ phase: "SOLD_OUT" }), { rank: 5, status: "USED" }, "used"],
    ["waiting, sold out", started({ phase: "SOLD_OUT" }), { rank: 20 }, "sold-out"],
    ["a phase it does not know", state({ phase: "CLOSED" }), null, "closed"],
  ])("%s", (_, room, entry, view) => {
    const place = room && entry?.rank != null ? { admitted: entry.rank <= room.admittedThrough } : null;
    expect(viewOf(room, entry, place)).toBe(view);
  });
});
