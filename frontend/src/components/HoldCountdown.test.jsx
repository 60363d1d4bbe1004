import { render, screen } from "@testing-library/react";
import { expect, it } from "vitest";
import { HoldCountdown, minutesLeftPhrase } from "./HoldCountdown.jsx";

const ENDS = "2026-11-27T14:05:00Z";
const before = (ms) => Date.parse(ENDS) - ms;

it("ticks the visible clock every second but words the time left by the minute", () => {
  const { rerender } = render(<HoldCountdown holdExpiresAt={ENDS} now={before(9 * 60_000 + 41_000)} />);
  expect(screen.getByRole("timer", { name: "Time left to pay" })).toHaveTextContent("9:41");
  const spoken = screen.getByRole("status");
  expect(spoken).toHaveTextContent("9 minutes left to pay.");

  rerender(<HoldCountdown holdExpiresAt={ENDS} now={before(9 * 60_000 + 1_000)} />);
  expect(screen.getByRole("timer")).toHaveTextContent("9:01");
  expect(spoken).toHaveTextContent("9 minutes left to pay."); // same words: nothing announced

  rerender(<HoldCountdown holdExpiresAt={ENDS} now={before(8 * 60_000 + 59_000)} />);
  expect(spoken).toHaveTextContent("8 minutes left to pay.");
});

it.each([
  [10 * 60_000, "10 minutes left to pay."],
  [60_000, "1 minute left to pay."],
  [59_999, "Less than a minute left to pay."],
  [0, "Your hold has ended."],
  [-5_000, "Your hold has ended."],
])("words %i ms left as %s", (ms, phrase) => {
  expect(minutesLeftPhrase(ms)).toBe(phrase);
});

it("never shows a negative clock", () => {
  render(<HoldCountdown holdExpiresAt={ENDS} now={before(-3_000)} />);
  expect(screen.getByRole("timer")).toHaveTextContent("0:00");
});

it("takes another wording, as the waiting room's pass does", () => {
  render(
    <HoldCountdown
      holdExpiresAt={ENDS}
      now={before(90_000)}
      lead="Your turn lasts until"
      timerLabel="Time left to buy"
      phrase={(ms) => `${Math.floor(ms / 60000)} to buy`}
      announcementTestId="pass-announcement"
    />,
  );
  expect(screen.getByRole("timer", { name: "Time left to buy" })).toHaveTextContent("1:30");
  expect(screen.getByText(/Your turn lasts until/)).toBeInTheDocument();
  expect(screen.getByTestId("pass-announcement")).toHaveTextContent("1 to buy");
});
