import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { expect, it } from "vitest";
import { ShuffleCheck } from "./ShuffleCheck.jsx";

it("is closed until asked, and shows only the commitment before the start", async () => {
  render(<ShuffleCheck room={{ commitment: "c0mm1t", seed: null, digest: null }} productId="lamp" entryId="e-1" />);
  const details = screen.getByTestId("shuffle-check");
  expect(details).not.toHaveAttribute("open");
  await userEvent.setup().click(screen.getByText("Check the shuffle"));
  expect(details).toHaveAttribute("open");
  expect(screen.getByTestId("shuffle-commitment")).toHaveTextContent("c0mm1t");
  expect(screen.queryByTestId("shuffle-seed")).not.toBeInTheDocument();
  expect(screen.queryByTestId("shuffle-command")).not.toBeInTheDocument();
  expect(screen.getByTestId("queue-entry-id")).toHaveTextContent("e-1");
});

it("after the start shows seed, digest, the shuffled count and the command for this entry", () => {
  render(
    <ShuffleCheck
      room={{ commitment: "c", seed: "5eed", digest: "d1", preCount: 12000 }}
      productId="lamp"
      entryId="e-1"
      apiBase="http://api.test"
    />,
  );
  expect(screen.getByTestId("shuffle-seed")).toHaveTextContent("5eed");
  expect(screen.getByTestId("shuffle-digest")).toHaveTextContent("d1");
  expect(screen.getByTestId("shuffle-pre-count")).toHaveTextContent("12,000 shoppers");
  expect(screen.getByTestId("shuffle-command")).toHaveTextContent(
    "python -m tools.verify_queue --api http://api.test --product lamp --entry e-1",
  );
});

it("has no command for a shopper who has not joined", () => {
  render(<ShuffleCheck room={{ commitment: "c", seed: "5eed", digest: "d1", preCount: 1 }} productId="lamp" />);
  expect(screen.queryByTestId("shuffle-command")).not.toBeInTheDocument();
  expect(screen.queryByTestId("queue-entry-id")).not.toBeInTheDocument();
});
