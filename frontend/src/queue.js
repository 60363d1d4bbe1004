// The waiting room's decisions and words, without I/O: where a shopper stands, when to
// poll, when to ask for their own entry, and how to say it (docs/waiting-room.md).
import { ApiError } from "./api.js";

// The shopper's place survives a reload: the ticket, kept per product and shopper.
export const ticketKey = (productId, userId) =>
  `flashsale.queue.${encodeURIComponent(productId)}.${encodeURIComponent(userId)}`;

export function loadEntry(storage, productId, userId) {
  try {
    const saved = JSON.parse(storage.getItem(ticketKey(productId, userId)) ?? "null");
    return saved && typeof saved.ticket === "string" ? saved : null;
  } catch {
    return null;
  }
}

// Only what identifies the place is kept; status and pass are always asked afresh.
export function saveEntry(storage, productId, userId, { ticket, entryId, rank }) {
  try {
    storage.setItem(ticketKey(productId, userId), JSON.stringify({ ticket, entryId, rank: rank ?? null }));
  } catch {
    // Storage full or refused (private mode): the place is still held on the server,
    // and joining again answers the same entry.
  }
}

export function forgetEntry(storage, productId, userId) {
  try {
    storage.removeItem(ticketKey(productId, userId));
  } catch {
    // As above: nothing to undo.
  }
}

export const MIN_POLL_S = 2;
export const MAX_POLL_S = 15;

// The server says how long to wait at least; far back in the line the page waits
// longer, a tenth of the time its turn is away (the design's rule), so a crowd that
// mostly waits far back polls less. Held to 2-15 s: "sold out" reaches everyone within
// 15 s and nobody polls faster than every 2 s.
export function pollDelayMs(state, place = null) {
  const asked = Number(state?.pollAfterSeconds);
  let seconds = Number.isFinite(asked) ? asked : MAX_POLL_S;
  if (place && !place.admitted && state.ratePerSecond > 0)
    seconds = Math.max(seconds, place.position / state.ratePerSecond / 10);
  return Math.min(MAX_POLL_S, Math.max(MIN_POLL_S, seconds)) * 1000;
}

// A rank is admitted once admittedThrough reaches it; position 1 is next in line.
export function standing(state, entry) {
  if (!state || entry?.rank == null) return null;
  const position = entry.rank - state.admittedThrough;
  if (position <= 0) return { admitted: true, position: 0, ahead: 0 };
  return { admitted: false, position, ahead: position - 1 };
}

const TERMINAL = new Set(["EXPIRED", "USED", "SOLD_OUT"]);
export const isTerminal = (entry) => TERMINAL.has(entry?.status);

// A rank still unknown after an answer is asked for again once new ranks were given
// (queueLength moved), or after this long in case that answer was a stale read.
export const RANK_RECHECK_MS = 30_000;

// The personal call is made only when the public state cannot answer: the rank is still
// unknown after the start, or the rank is admitted and the pass is not in hand yet. An
// unknown rank is asked for once the pre-queue is shuffled (preCount set), not by the
// whole crowd the moment the start is announced; `lastAsk` ({ queueLength, at }) is the
// last time it was asked (or first seen unshuffled) and `now` a clock in ms.
export function needsMe(state, entry, { lastAsk = null, now = 0 } = {}) {
  if (!state || !entry || isTerminal(entry) || entry.pass) return false;
  if (state.phase === "SOLD_OUT") return false;
  if (entry.rank == null) {
    if (state.phase === "PREQUEUE") return false;
    if (!lastAsk) return state.preCount != null;
    if (state.preCount != null && state.queueLength !== lastAsk.queueLength) return true;
    return now - lastAsk.at >= RANK_RECHECK_MS;
  }
  return state.admittedThrough >= entry.rank;
}

const numbers = new Intl.NumberFormat("en-US");
export const count = (n) => numbers.format(n);
const plural = (n, one, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;

// A wait in the units a person thinks in: "less than a minute", "about 3 minutes".
export function formatWait(seconds) {
  if (!Number.isFinite(seconds) || seconds < 60) return "less than a minute";
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `about ${plural(minutes, "minute")}`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `about ${plural(hours, "hour")}`;
  return `about ${plural(Math.round(hours / 24), "day")}`;
}

export function waitEstimate(ahead, ratePerSecond) {
  if (ahead <= 0) return "You're next.";
  if (!(ratePerSecond > 0)) return "The shop isn't letting shoppers in right now.";
  const words = formatWait(ahead / ratePerSecond);
  return `${words[0].toUpperCase()}${words.slice(1)}.`;
}

export function unitsPhrase(unitsLeft) {
  return unitsLeft > 0 ? `About ${plural(unitsLeft, "unit")} left.` : "No units left right now.";
}

export function oddsPhrase(unitsLeft, ahead) {
  const units = plural(unitsLeft, "unit");
  if (unitsLeft <= 0) return unitsPhrase(unitsLeft);
  if (ahead <= 0) return `About ${units} left, and nobody ahead of you.`;
  return `About ${units} left for ${count(ahead)} ahead of you.`;
}

// What a screen reader hears: the position rounded so that the polite live region
// speaks when it moves noticeably, not on every poll.
export function roughPosition(position) {
  if (position <= 10) return count(position);
  const step = position <= 100 ? 10 : position <= 1000 ? 100 : 1000;
  return `about ${count(Math.round(position / step) * step)}`;
}

export function minutesLeftToBuy(msLeft) {
  if (msLeft <= 0) return "Your turn has ended.";
  const minutes = Math.floor(msLeft / 60000);
  if (minutes < 1) return "Less than a minute left to buy.";
  return `${plural(minutes, "minute")} left to buy.`;
}

// When the sale starts: the time alone within the next 12 hours, with the day beyond.
export function formatStart(instant, now, timeZone = undefined) {
  const soon = Date.parse(instant) - now < 12 * 3600 * 1000;
  const options = soon
    ? { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone }
    : { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone };
  return new Intl.DateTimeFormat("en-GB", options).format(new Date(instant));
}

// Ids are letters, digits and _ . @ : - (entry ids base64url): nothing a shell would
// read otherwise, so the command can be copied as it is.
export const verifyCommand = (apiBase, productId, entryId) =>
  `python -m tools.verify_queue --api ${apiBase} --product ${productId} --entry ${entryId}`;

// The API's base as a full URL (deployed it is a path such as /api) for the command.
export const absoluteBase = (base, here = window.location.href) => new URL(base, here).href.replace(/\/+$/, "");

const RETRYABLE = new Set(["BUSY", "NETWORK"]);
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Join, retrying BUSY (the server's Retry-After plus up to as much again at random, so
// a crowd turned away together does not come back together) and lost connections.
// Retrying is safe: a second join answers the same entry.
export async function joinQueue(
  api,
  productId,
  userId,
  { attempts = 6, sleep = wait, random = Math.random, onRetry } = {},
) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await api.joinQueue(productId, userId);
    } catch (error) {
      const retryable = error instanceof ApiError && (RETRYABLE.has(error.code) || error.status >= 500);
      if (!retryable || attempt >= attempts) throw error;
      onRetry?.(error, attempt);
      const base = (error.retryAfter ?? 1) * 1000;
      await sleep(base + random() * base);
    }
  }
}
