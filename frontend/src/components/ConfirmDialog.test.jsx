import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { expect, it, vi } from "vitest";
import { ConfirmDialog } from "./ConfirmDialog.jsx";

function renderDialog(props = {}) {
  const onConfirm = vi.fn();
  const onCancel = vi.fn();
  render(
    <ConfirmDialog title="End the sale?" confirmLabel="End now" onConfirm={onConfirm} onCancel={onCancel} {...props}>
      <p>Shoppers can't buy after this.</p>
    </ConfirmDialog>,
  );
  return { onConfirm, onCancel };
}

it("asks with a named, described modal dialog", () => {
  renderDialog();
  const dialog = screen.getByRole("dialog", { name: "End the sale?" });
  expect(dialog).toHaveAccessibleDescription("Shoppers can't buy after this.");
  const [safe, risky] = screen.getAllByRole("button");
  // The safe answer comes first: a modal dialog focuses its first control.
  expect(safe).toHaveTextContent("Go back");
  expect(risky).toHaveTextContent("End now");
});

it("answers yes, no and Escape", async () => {
  const { onConfirm, onCancel } = renderDialog();
  const user = userEvent.setup();
  await user.click(screen.getByRole("button", { name: "End now" }));
  expect(onConfirm).toHaveBeenCalledTimes(1);
  await user.click(screen.getByRole("button", { name: "Go back" }));
  expect(onCancel).toHaveBeenCalledTimes(1);
  screen.getByRole("dialog").dispatchEvent(new Event("cancel", { cancelable: true }));
  expect(onCancel).toHaveBeenCalledTimes(2);
});

it("holds both answers while the action runs", () => {
  renderDialog({ busy: true });
  expect(screen.getByRole("button", { name: "Working…" })).toBeDisabled();
  expect(screen.getByRole("button", { name: "Go back" })).toBeDisabled();
});
