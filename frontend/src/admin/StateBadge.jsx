// A sale's state in words and colour (the shop's badge colours, which pass WCAG AA).
export const STATES = {
  scheduled: { label: "Scheduled", badge: "upcoming" },
  live: { label: "Live", badge: "live" },
  sold_out: { label: "Sold out", badge: "sold-out" },
  ended: { label: "Ended", badge: "ended" },
};

export function StateBadge({ state }) {
  const known = STATES[state] ?? { label: state ?? "Unknown", badge: "ended" };
  return <span className={`badge ${known.badge}`}>{known.label}</span>;
}
