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
// the minute phrase is spoken from a separate, visually hidden status region.
export function HoldCountdown({ holdExpiresAt, now }) {
  const msLeft = Date.parse(holdExpiresAt) - now;
  return (
    <div className="hold">
      <p>
        Held for you until <time dateTime={holdExpiresAt}>{formatClock(holdExpiresAt)}</time>:{" "}
        <span role="timer" aria-label="Time left to pay" className="countdown">
          {formatMinutesSeconds(msLeft)}
        </span>{" "}
        left
      </p>
      <p className="visually-hidden" role="status" aria-live="polite" data-testid="hold-announcement">
        {minutesLeftPhrase(msLeft)}
      </p>
    </div>
  );
}
