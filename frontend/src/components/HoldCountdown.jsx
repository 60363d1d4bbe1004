import { formatClock, formatMinutesSeconds } from "../format.js";

// Minutes-level wording for screen readers: it changes only at minute marks, so the
// polite live region speaks once a minute, never every second.
export function minutesLeftPhrase(msLeft) {
  if (msLeft <= 0) return "Your hold has ended.";
  const minutes = Math.floor(msLeft / 60000);
  if (minutes < 1) return "Less than a minute left to pay.";
  return `${minutes} ${minutes === 1 ? "minute" : "minutes"} left to pay.`;
}

// The visible clock ticks every second inside role=timer (implicitly aria-live=off);
// the minute phrase is spoken from a separate, visually hidden status region. The
// wording defaults to a payment hold's; the waiting room's pass brings its own.
export function HoldCountdown({
  holdExpiresAt,
  now,
  lead = "Held for you until",
  timerLabel = "Time left to pay",
  phrase = minutesLeftPhrase,
  announcementTestId = "hold-announcement",
}) {
  const msLeft = Date.parse(holdExpiresAt) - now;
  return (
    <div className="hold">
      <p>
        {lead} <time dateTime={holdExpiresAt}>{formatClock(holdExpiresAt)}</time>:{" "}
        <span role="timer" aria-label={timerLabel} className="countdown">
          {formatMinutesSeconds(msLeft)}
        </span>{" "}
        left
      </p>
      <p className="visually-hidden" role="status" aria-live="polite" data-testid={announcementTestId}>
        {phrase(msLeft)}
      </p>
    </div>
  );
}
