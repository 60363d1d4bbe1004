// The sale window is entered in the operator's local time (<input type="datetime-local">)
// and sent as an instant with a zone; the API answers in UTC.

const pad = (n) => String(n).padStart(2, "0");

// The API's instants carry microseconds (".123456Z"); not every engine parses more than
// milliseconds, so the extra digits are dropped first.
export function parseInstant(iso) {
  if (!iso) return Number.NaN;
  return Date.parse(String(iso).replace(/(\.\d{3})\d+/, "$1"));
}

// "2026-11-27T10:30" (local wall time, no zone) -> "2026-11-27T09:30:00.000Z" (Berlin, winter).
export function localInputToIso(value) {
  if (!value) return null;
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number);
  // Built from parts, not Date.parse, so no engine can read it as UTC.
  const date = new Date(y, mo - 1, d, h, mi, s || 0);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

// The reverse, for editing a sale: the instant as the operator's local wall time.
export function isoToLocalInput(iso) {
  if (!iso) return "";
  const date = new Date(parseInstant(iso));
  if (Number.isNaN(date.getTime())) return "";
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function localZoneName() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? "local time";
}

const stamp = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

export const formatInstant = (iso) => (iso ? stamp.format(parseInstant(iso)) : "—");
export const formatClock = (iso) => clock.format(parseInstant(iso));

export function formatWindow(startsAt, endsAt) {
  if (startsAt && endsAt) return `${formatInstant(startsAt)} to ${formatInstant(endsAt)}`;
  if (startsAt) return `From ${formatInstant(startsAt)}`;
  if (endsAt) return `Until ${formatInstant(endsAt)}`;
  return "Always open";
}
