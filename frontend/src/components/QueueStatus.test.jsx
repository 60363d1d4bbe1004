import { render, screen } from "@testing-library/react";
import { expect, it } from "vitest";
import { QueueStatus } from "./QueueStatus.jsx";

it("says the place, who is ahead, the wait and the odds in the shopper's words", () => {
  render(<QueueStatus room={{ ratePerSecond: 20, unitsLeft: 1000 }} place={{ position: 3401, ahead: 3400 }} />);
  expect(screen.getByText("Your place in line").nextSibling).toHaveTextContent("3,401");
  expect(screen.getByTestId("queue-ahead")).toHaveTextContent("3,400");
  expect(screen.getByTestId("queue-estimate")).toHaveTextContent("About 3 minutes.");
  expect(screen.getByTestId("queue-odds")).toHaveTextContent("About 1,000 units left for 3,400 ahead of you.");
});

it("tells the shopper at the front that they are next", () => {
  render(<QueueStatus room={{ ratePerSecond: 20, unitsLeft: 3 }} place={{ position: 1, ahead: 0 }} />);
  expect(screen.getByTestId("queue-position")).toHaveTextContent("1");
  expect(screen.getByTestId("queue-estimate")).toHaveTextContent("You're next.");
  expect(screen.getByTestId("queue-odds")).toHaveTextContent("About 3 units left, and nobody ahead of you.");
});
