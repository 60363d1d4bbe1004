import { render, screen } from "@testing-library/react";
import { StrictMode } from "react";
import { expect, it, vi } from "vitest";
import { fakeStripe } from "../fakeStripe.js";
import { CardField } from "./CardField.jsx";

const stripeFor = () => fakeStripe().Stripe("pk_test_local");

it("mounts Stripe's card element in a labelled group and names the stand-in's fields", () => {
  const onCard = vi.fn();
  render(<CardField stripe={stripeFor()} onCard={onCard} />);
  const group = screen.getByRole("group", { name: "Card details" });
  for (const label of ["Card number", "Expiry month", "Expiry year", "Security code (CVC)", "Postal code"]) {
    expect(group).toContainElement(screen.getByLabelText(label));
  }
  expect(screen.getByLabelText("Expiry year")).toHaveAttribute("placeholder", "YY");
  expect(onCard).toHaveBeenLastCalledWith(expect.objectContaining({ type: "card" }));
});

it("survives StrictMode's mount, destroy and mount again with one set of fields", () => {
  render(
    <StrictMode>
      <CardField stripe={stripeFor()} onCard={vi.fn()} />
    </StrictMode>,
  );
  expect(screen.getAllByLabelText("Card number")).toHaveLength(1);
});

it("locks the fields while disabled and lets go of the element when unmounted", () => {
  const onCard = vi.fn();
  const stripe = stripeFor();
  const { rerender, unmount } = render(<CardField stripe={stripe} onCard={onCard} disabled />);
  expect(screen.getByLabelText("Card number")).toBeDisabled();
  rerender(<CardField stripe={stripe} onCard={onCard} />);
  expect(screen.getByLabelText("Card number")).toBeEnabled();
  unmount();
  expect(onCard).toHaveBeenLastCalledWith(null);
});
