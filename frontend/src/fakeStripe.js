// A Stripe.js for tests that behaves like localstripe's stand-in (localstripe-v3.js):
// the card element draws bare inputs named by placeholder, calls change handlers with
// no argument, and createToken reads the inputs (throwing before anything is typed).
export function fakeStripe({ tokenError = null } = {}) {
  const calls = { keys: [], tokens: [] };
  function Stripe(key) {
    calls.keys.push(key);
    return {
      elements() {
        let created = null;
        return {
          create(type) {
            if (created) throw new Error("Can only create one Element of type card");
            const listeners = [];
            const inputs = {};
            created = {
              type,
              value: undefined,
              mount(node) {
                for (const field of ["number", "exp_month", "exp_year", "cvc", "postal_code"]) {
                  const input = document.createElement("input");
                  input.setAttribute("type", "text");
                  input.setAttribute("placeholder", field);
                  input.oninput = () => {
                    created.value = {
                      card: {
                        number: inputs.number.value,
                        exp_month: inputs.exp_month.value,
                        exp_year: `20${inputs.exp_year.value}`,
                        cvc: inputs.cvc.value,
                      },
                      postal_code: inputs.postal_code.value,
                    };
                    listeners.forEach((handler) => handler());
                  };
                  inputs[field] = input;
                  node.appendChild(input);
                }
              },
              on(event, handler) {
                if (event === "change") listeners.push(handler);
              },
              destroy() {
                Object.values(inputs).forEach((input) => input.remove());
                created = null;
              },
            };
            return created;
          },
        };
      },
      async createToken(element) {
        const card = element.value.card; // TypeError before any input, as in the stand-in
        calls.tokens.push(card);
        if (tokenError) return { error: { message: tokenError } };
        if (card.number.length !== 16 || card.cvc.length !== 3) return { error: { message: "Bad request" } };
        return { token: { id: `tok_${calls.tokens.length}`, card: { id: `card_${card.number.slice(-4)}` } } };
      },
    };
  }
  return { Stripe, calls, load: async () => Stripe };
}

// Types a card into the stand-in's inputs, found by the labels the shop gives them.
export async function typeCard(user, screen, number = "4242424242424242") {
  await user.type(screen.getByLabelText("Card number"), number);
  await user.type(screen.getByLabelText("Expiry month"), "12");
  await user.type(screen.getByLabelText("Expiry year"), "34");
  await user.type(screen.getByLabelText("Security code (CVC)"), "123");
  await user.type(screen.getByLabelText("Postal code"), "10001");
}
