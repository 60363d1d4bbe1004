import { useEffect, useId, useRef } from "react";

// localstripe's stand-in for Elements draws bare inputs named only by placeholder;
// real Elements draw theirs, labelled, inside Stripe's iframe, so this finds nothing there.
const STAND_IN_FIELDS = {
  number: { label: "Card number", placeholder: "4242 4242 4242 4242" },
  exp_month: { label: "Expiry month", placeholder: "MM" },
  exp_year: { label: "Expiry year", placeholder: "YY" },
  cvc: { label: "Security code (CVC)", placeholder: "CVC" },
  postal_code: { label: "Postal code", placeholder: "ZIP" },
};

function labelStandInInputs(node) {
  for (const input of node.querySelectorAll("input")) {
    const field = STAND_IN_FIELDS[input.getAttribute("placeholder")];
    if (!field || input.hasAttribute("aria-label")) continue;
    input.setAttribute("aria-label", field.label);
    input.setAttribute("placeholder", field.placeholder);
    input.setAttribute("inputmode", "numeric");
    input.setAttribute("autocomplete", "off");
  }
}

// Stripe's card Element, mounted into a node React leaves alone. `onCard` gets the
// element (for stripe.createToken) once it is mounted, and null when it goes away.
export function CardField({ stripe, disabled, onCard, onChange }) {
  const mountRef = useRef(null);
  const labelId = useId();
  const cardRef = useRef(null);
  const handlers = useRef({ onCard, onChange });
  handlers.current = { onCard, onChange };

  useEffect(() => {
    // One elements() group per mount: the stand-in allows one card element per group,
    // and StrictMode mounts, destroys and mounts again.
    const card = stripe.elements().create("card");
    card.mount(mountRef.current);
    labelStandInInputs(mountRef.current);
    // Real Elements pass {complete, error}; the stand-in calls with no argument.
    card.on("change", (event) => handlers.current.onChange?.(event ?? {}));
    cardRef.current = card;
    handlers.current.onCard?.(card);
    return () => {
      cardRef.current = null;
      handlers.current.onCard?.(null);
      card.destroy();
    };
  }, [stripe]);

  // Nothing to type into while a payment is on its way or after the hold ended.
  useEffect(() => {
    cardRef.current?.update?.({ disabled: Boolean(disabled) });
    for (const input of mountRef.current.querySelectorAll("input")) input.disabled = Boolean(disabled);
  }, [disabled, stripe]);

  return (
    <div className="card-field">
      <span id={labelId} className="field-label">
        Card details
      </span>
      <div
        ref={mountRef}
        role="group"
        aria-labelledby={labelId}
        className={`card-element${disabled ? " disabled" : ""}`}
        data-testid="card-element"
      />
    </div>
  );
}
