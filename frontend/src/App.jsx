import { useEffect, useMemo, useState } from "react";
import { createApi, describeError } from "./api.js";
import { createAuth } from "./auth.js";
import { LazyCheckout } from "./components/LazyCheckout.jsx";
import { MyOrders } from "./components/MyOrders.jsx";
import { ProductCard } from "./components/ProductCard.jsx";
import { formatMoney } from "./format.js";
import { useProducts, useServerNow } from "./hooks.js";
import { navigate } from "./router.jsx";

const USER_KEY = "flashsale.userId";
const ADDRESS = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const isAddress = (identity) => ADDRESS.test(identity ?? "");

// Locally the dev identity is also where confirmations are mailed, so a new shopper
// gets an address; one saved earlier (address or not) is kept.
export function initialUser(storage = window.localStorage) {
  const saved = storage.getItem(USER_KEY);
  if (saved) return saved;
  const letters = "abcdefghijklmnopqrstuvwxyz0123456789";
  const random = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(6)), (n) => letters[n % 36]);
  const generated = `shopper-${random.join("")}@example.com`;
  storage.setItem(USER_KEY, generated);
  return generated;
}

// `loadStripeJs` is for tests (jsdom runs no scripts); the shop loads Stripe.js itself.
export function App({ api: givenApi, auth: givenAuth, loadStripeJs }) {
  const auth = useMemo(() => givenAuth ?? createAuth(), [givenAuth]);
  const api = useMemo(() => givenApi ?? createApi(undefined, undefined, auth.token), [givenApi, auth]);
  const { products, loaded, error, refresh } = useProducts(api);
  const now = useServerNow(api);
  const [devUser, setUserId] = useState(initialUser);
  const [session, setSession] = useState(() => (auth.enabled ? auth.session() : null));
  const [signInError, setSignInError] = useState(null);
  const [view, setView] = useState("shop");
  const [lastOrder, setLastOrder] = useState(null);
  // The order whose hold is being paid for (view "pay").
  const [paying, setPaying] = useState(null);
  const userId = auth.enabled ? (session?.userId ?? null) : devUser;
  // Signed in, the mail goes to the verified address of the account; locally to the
  // dev identity when it is an address. The order's own record wins when it has one.
  const mailbox = auth.enabled ? session?.email : isAddress(devUser) ? devUser : null;
  const mailedTo = lastOrder ? (lastOrder.email ?? mailbox) : null;

  // A `pay` product answers AWAITING_PAYMENT: its units are held and the payment step
  // takes over. Instant products confirm at once, as they always have.
  function ordered(order) {
    if (order.status === "AWAITING_PAYMENT") {
      setLastOrder(null);
      setPaying(order);
      setView("pay");
    } else {
      setLastOrder(order);
    }
  }

  function leavePayment(next) {
    setPaying(null);
    setView(next);
  }

  useEffect(() => {
    if (!auth.enabled) return;
    auth.completeSignIn().then(
      (signedIn) => {
        setSession(signedIn);
        if (window.location.search.includes("code=")) navigate(auth.takeReturnPath?.() ?? "/", { replace: true });
      },
      (failure) => setSignInError(failure.message),
    );
  }, [auth]);

  function changeUser(event) {
    const value = event.target.value.trim();
    setUserId(value);
    if (value) window.localStorage.setItem(USER_KEY, value);
  }

  return (
    <>
      <header className="top">
        <h1>FlashSale</h1>
        <nav aria-label="Sections">
          <button type="button" aria-pressed={view === "shop"} onClick={() => setView("shop")}>
            Shop
          </button>
          <button type="button" aria-pressed={view === "orders"} onClick={() => setView("orders")}>
            My orders
          </button>
        </nav>
        {auth.enabled ? (
          <div className="user">
            {session ? (
              <>
                <span>Signed in as {session.email ?? "shopper"}</span>
                <button type="button" onClick={() => auth.signOut()}>
                  Sign out
                </button>
              </>
            ) : (
              <button type="button" onClick={() => auth.signIn()}>
                Sign in
              </button>
            )}
          </div>
        ) : (
          <label className="user">
            Shopping as
            <input value={devUser} onChange={changeUser} maxLength={128} autoComplete="username" />
          </label>
        )}
      </header>
      <main>
        {signInError && <p role="alert">Sign-in did not complete: {signInError}</p>}
        {lastOrder && (
          <section className="confirmation" role="status" aria-label="Order confirmation">
            <strong>Order placed!</strong> {lastOrder.quantity} × {lastOrder.productName},{" "}
            {formatMoney(lastOrder.totalAmount)}. Order id <span className="mono">{lastOrder.orderId}</span>
            {mailedTo && (
              <span>
                A confirmation email is on its way to <strong>{mailedTo}</strong>.
              </span>
            )}
            <button type="button" className="link" onClick={() => setLastOrder(null)} aria-label="Dismiss">
              ×
            </button>
          </section>
        )}
        {view === "pay" && paying ? (
          <LazyCheckout
            key={paying.orderId}
            api={api}
            order={paying}
            mailedTo={paying.email ?? mailbox}
            onChanged={refresh}
            onDone={leavePayment}
            {...(loadStripeJs ? { loadStripeJs } : {})}
          />
        ) : view !== "orders" ? (
          <>
            {error && <p role="alert">{describeError(error).headline}</p>}
            {!loaded && <p aria-busy="true">Loading the sale…</p>}
            <div className="grid">
              {products.map((product) => (
                <ProductCard
                  key={product.productId}
                  product={product}
                  now={now}
                  api={api}
                  userId={userId}
                  onSignIn={() => auth.signIn()}
                  onOrdered={ordered}
                  onChanged={refresh}
                />
              ))}
            </div>
          </>
        ) : userId ? (
          <MyOrders
            api={api}
            userId={userId}
            refreshKey={lastOrder?.orderId}
            onCancelled={refresh}
            onPay={(order) => {
              setPaying(order);
              setView("pay");
            }}
          />
        ) : (
          <p>
            <button type="button" onClick={() => auth.signIn()}>
              Sign in
            </button>{" "}
            to see your orders.
          </p>
        )}
      </main>
    </>
  );
}
