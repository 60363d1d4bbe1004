import { render, screen } from "@testing-library/react";
import { expect, it, vi } from "vitest";
import { ChunkBoundary } from "./ChunkBoundary.jsx";

function MissingChunk() {
  throw new Error("Failed to fetch dynamically imported module");
}

it("shows its children while nothing fails", () => {
  render(
    <ChunkBoundary message="unused">
      <p>The step</p>
    </ChunkBoundary>,
  );
  expect(screen.getByText("The step")).toBeInTheDocument();
  expect(screen.queryByRole("alert")).not.toBeInTheDocument();
});

it.each(["The operator console could not be loaded.", "The payment step could not be loaded."])(
  "says %s and offers a reload when its chunk fails",
  (message) => {
    vi.spyOn(console, "error").mockImplementation(() => {}); // React reports the caught error
    render(
      <ChunkBoundary message={message}>
        <MissingChunk />
      </ChunkBoundary>,
    );
    expect(screen.getByRole("alert").querySelector("p").textContent).toBe(message);
    expect(screen.getByRole("button", { name: "Reload" })).toBeInTheDocument();
  },
);
