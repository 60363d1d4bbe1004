import { useEffect, useRef, useState } from "react";
import { describeError } from "../api.js";
import {
  count,
  forgetEntry,
  formatStart,
  isTerminal,
  joinQueue,
  loadEntry,
  MAX_POLL_S,
  MIN_POLL_S,
  minutesLeftToBuy,
  needsMe,
  pollDelayMs,
  roughPosition,
  saveEntry,
  standing,
  unitsPhrase,
} from "../queue.js";
import { HoldCountdown } from "./HoldCountdown.jsx";
import { QueueStatus } from "./QueueStatus.jsx";
import { ShuffleCheck } from "./ShuffleCheck.jsx";

const PHASES = new Set(["PREQUEUE", "OPEN", "SOLD_OUT"]);

// A product's waiting room (docs/waiting-room.md), in place of its Buy button: join,
// watch the place from the public state (polled as the server asks, 2–15 s), ask for
// the shopper's own entry only when that state cannot answer (rank unknown after the
// start, or rank admitted and no pass yet), then `children({ pass, onPassUsed,
// onPassRejected })` renders the usual buy controls with the pass.
export function WaitingRoom({
  product,
  api,
  userId,
  now,
  onSignIn,
  children,
  storage = window.localStorage,
  sleep = undefined,
  random = undefined,
}) {
  const productId = product.productId;
  const [entry, setEntry] = useState(() => (userId ? loadEntry(storage, productId, userId) : null));
  const [room, setRoom] = useState(null);
  // Counts the answers: an answer equal to the last one is still a poll.
  const [answers, setAnswers] = useState(0);
  const [roomError, setRoomError] = useState(null);
  const [joining, setJoining] = useState(false);
  const [notice, setNotice] = useState(null);
  // The poll loop and the personal call read the entry as it is now, not as it was
  // when their effect started.
  const entryRef = useRef(entry);
  const asking = useRef(false);
  // When the unknown rank was last asked for, against which queue length (see needsMe).
  const lastAsk = useRef(null);
  const alive = useRef(true);

  function keep(next, { save = true } = {}) {
    entryRef.current = next;
    setEntry(next);
    if (next && save && userId) saveEntry(storage, productId, userId, next);
  }

  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);

  // One request at a time, the next one as long after the answer as the server asks.
  // It stops once the room is sold out or the shopper's entry is over (expired, used).
  useEffect(() => {
    let live = true;
    let timer = null;
    async function poll() {
      let delay;
      try {
        const state = await api.queueState(productId);
        if (!live) return;
        setRoom(state);
        setAnswers((n) => n + 1);
        setRoomError(null);
        if (state.phase === "SOLD_OUT") return;
        delay = pollDelayMs(state, standing(state, entryRef.current));
      } catch (error) {
        if (!live) return;
        setRoomError(error);
        const asked = error.retryAfter ?? MAX_POLL_S;
        delay = Math.min(MAX_POLL_S, Math.max(MIN_POLL_S, asked)) * 1000;
      }
      if (isTerminal(entryRef.current)) return;
      timer = setTimeout(poll, delay);
    }
    poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [api, productId]);

  async function askMe(queueLength = null) {
    const current = entryRef.current;
    if (!current || asking.current) return;
    asking.current = true;
    try {
      const mine = await api.queueMe(productId, current.ticket);
      if (!alive.current || entryRef.current?.ticket !== current.ticket) return;
      if (mine.rank == null) lastAsk.current = { queueLength, at: Date.now() };
      keep({ ...current, ...mine });
    } catch (error) {
      if (!alive.current) return;
      if (error.code === "INVALID_REQUEST") {
        forgetEntry(storage, productId, userId);
        keep(null, { save: false });
        setNotice({
          kind: "error",
          headline: "We couldn't read your place in the queue.",
          detail: "Join again: you keep the place you had.",
        });
      }
      // Anything else (busy, offline): the next poll asks again.
    } finally {
      asking.current = false;
    }
  }

  // At most one personal call per poll answer: it runs when a new public state arrives.
  useEffect(() => {
    const current = entryRef.current;
    const at = Date.now();
    // Started but not shuffled yet: the clock for a later check starts now, so a room
    // whose shuffle never shows still gets asked, but not by everyone at the start.
    if (room?.phase === "OPEN" && room.preCount == null && current?.rank == null && !lastAsk.current)
      lastAsk.current = { queueLength: room.queueLength, at };
    if (needsMe(room, current, { lastAsk: lastAsk.current, now: at })) askMe(room.queueLength);
  }, [answers]);

  // A pass that runs out on the server's clock ends the turn here too, without a request.
  const passOver = entry?.status === "ADMITTED" && entry.passExpiresAt && now >= Date.parse(entry.passExpiresAt);
  useEffect(() => {
    if (passOver) keep({ ...entryRef.current, status: "EXPIRED", pass: null }, { save: false });
  }, [passOver]);

  async function join() {
    if (joining) return;
    if (!userId) {
      onSignIn?.();
      return;
    }
    setJoining(true);
    setNotice(null);
    try {
      const joined = await joinQueue(api, productId, userId, {
        ...(sleep ? { sleep } : {}),
        ...(random ? { random } : {}),
        onRetry: () =>
          alive.current &&
          setNotice({ kind: "info", headline: "So many shoppers are joining right now.", detail: "Trying again in a moment…" }),
      });
      if (!alive.current) return;
      keep(joined);
      setNotice(null);
    } catch (error) {
      if (!alive.current) return;
      setNotice({
        kind: "error",
        headline: error.code === "SALE_NOT_ACTIVE" ? "This sale has ended, so its queue is closed." : describeError(error).headline,
        detail: error.message,
      });
    } finally {
      if (alive.current) setJoining(false);
    }
  }

  const admission = {
    pass: entry?.pass ?? null,
    onPassUsed: () => keep({ ...entryRef.current, status: "USED", pass: null }, { save: false }),
    onPassRejected: (code) => {
      if (code === "PASS_EXPIRED") keep({ ...entryRef.current, status: "EXPIRED", pass: null }, { save: false });
      else {
        keep({ ...entryRef.current, status: "WAITING", pass: null, passExpiresAt: null }, { save: false });
        askMe();
      }
    },
  };

  const place = standing(room, entry);
  const view = viewOf(room, entry, place);
  const startsAt = room?.startsAt ?? product.saleStartsAt ?? null;
  let body;
  let announcement = "";

  if (view === "loading") {
    body = roomError ? (
      <p>The queue can&apos;t be read right now. Trying again…</p>
    ) : (
      <p aria-busy="true">Loading the queue…</p>
    );
  } else if (view === "used") {
    announcement = "You've used your turn.";
    body = (
      <p className="queue-message" data-testid="queue-message">
        You&apos;ve used your turn: your order is in My orders.
      </p>
    );
  } else if (view === "sold-out") {
    announcement = "Sold out.";
    body = (
      <p className="queue-message" data-testid="queue-message">
        <strong>Sold out.</strong> Everyone still waiting is told at once, so nobody waits for nothing.
      </p>
    );
  } else if (view === "expired") {
    announcement = "Your turn has passed.";
    body = (
      <p className="queue-message" data-testid="queue-message">
        <strong>Your turn passed</strong> before an order was placed, so your place went to the next shopper in line.
      </p>
    );
  } else if (view === "closed") {
    body = (
      <p className="queue-message" data-testid="queue-message">
        The queue for this sale is closed.
      </p>
    );
  } else if (view === "join") {
    const waiting = Math.max(0, room.queueLength - room.admittedThrough);
    body = (
      <>
        {room.phase === "PREQUEUE" ? (
          <p className="queue-explain">
            Everyone who joins before the sale starts
            {startsAt ? (
              <>
                {" "}
                (at <time dateTime={startsAt}>{formatStart(startsAt, now)}</time>)
              </>
            ) : null}{" "}
            gets a random place in line when it starts. There&apos;s no need to hurry: joining a minute before the start
            is as good as joining now.
          </p>
        ) : (
          <p className="queue-explain">
            The sale has started. Join to take the next place in line
            {waiting > 0 ? `, behind ${count(waiting)} ${waiting === 1 ? "shopper" : "shoppers"} still waiting` : ""}.
          </p>
        )}
        <button
          type="button"
          className="join"
          onClick={join}
          disabled={joining}
          aria-label={`Join the queue for ${product.name}`}
        >
          {joining ? "Joining…" : "Join the queue"}
        </button>
      </>
    );
  } else if (view === "prequeue") {
    announcement = "You're in the queue.";
    body = (
      <p className="queue-message" data-testid="queue-message">
        <strong>You&apos;re in the queue.</strong> When the sale starts
        {startsAt ? (
          <>
            {" "}
            at <time dateTime={startsAt}>{formatStart(startsAt, now)}</time>
          </>
        ) : null}
        , everyone who joined before then gets a random place in line. Your place is kept on this device if you leave
        and come back.
      </p>
    );
  } else if (view === "ranking") {
    announcement = "Your place in line is being drawn.";
    body = (
      <p className="queue-message" data-testid="queue-message" aria-busy="true">
        The sale has started and the queue is being shuffled. Your place appears in a moment.
      </p>
    );
  } else if (view === "waiting") {
    announcement = `You're number ${roughPosition(place.position)} in line.`;
    body = <QueueStatus room={room} place={place} />;
  } else if (view === "fetching-pass") {
    announcement = "It's your turn.";
    body = (
      <p className="queue-message" data-testid="queue-message" aria-busy="true">
        <strong>It&apos;s your turn!</strong> Getting your pass…
      </p>
    );
  } else {
    announcement = "It's your turn to buy.";
    body = (
      <div className="queue-turn" data-testid="queue-turn">
        <p className="queue-message">
          <strong>It&apos;s your turn!</strong> {unitsPhrase(room.unitsLeft)}
        </p>
        <HoldCountdown
          holdExpiresAt={entry.passExpiresAt}
          now={now}
          lead="Your turn lasts until"
          timerLabel="Time left to buy"
          phrase={minutesLeftToBuy}
          announcementTestId="pass-announcement"
        />
        {children?.(admission)}
      </div>
    );
  }

  return (
    <section className="room" aria-label={`Waiting room for ${product.name}`} data-testid="waiting-room">
      <h3>Waiting room</h3>
      {body}
      <p className="visually-hidden" role="status" data-testid="queue-announcement">
        {announcement}
      </p>
      <div className={`notice ${notice?.kind ?? ""}`} role={notice?.kind === "error" ? "alert" : "status"}>
        {notice && (
          <>
            <strong>{notice.headline}</strong> {notice.detail && <span>{notice.detail}</span>}
          </>
        )}
      </div>
      {room && <ShuffleCheck room={room} productId={productId} entryId={entry?.entryId} />}
    </section>
  );
}

// Which of the room's screens the shopper sees; what they did wins over the room's news.
export function viewOf(room, entry, place) {
  if (entry?.status === "USED") return "used";
  if (room?.phase === "SOLD_OUT" || entry?.status === "SOLD_OUT") return "sold-out";
  if (entry?.status === "EXPIRED") return "expired";
  if (entry?.status === "ADMITTED" && entry.pass && room) return "admitted";
  if (!room) return "loading";
  if (!PHASES.has(room.phase)) return "closed";
  if (!entry) return "join";
  if (entry.rank == null) return room.phase === "PREQUEUE" ? "prequeue" : "ranking";
  if (place?.admitted) return "fetching-pass";
  return "waiting";
}
