import { useMemo, useState } from "react";
import { createApi, describeError } from "./api.js";
import { MyOrders } from "./components/MyOrders.jsx";
import { ProductCard } from "./components/ProductCard.jsx";
import { formatMoney } from "./format.js";
import { useProducts, useServerNow } from "./hooks.js";

const USER_KEY = "flashsale.userId";

function initialUser() {
  const saved = window.localStorage.getItem(USER_KEY);
  if (saved) return saved;
  const generated = `shopper-${Math.random().toString(36).slice(2, 8)}`;
  window.localStorage.setItem(USER_KEY, generated);
  return generated;
}

export function App({ api: givenApi }) {
  const api = useMemo(() => givenApi ?? createApi(), [givenApi]);
  const { products, loaded, error, refresh } = useProducts(api);
  const now = useServerNow(api);
  const [userId, setUserId] = useState(initialUser);
  const [view, setView] = useState("shop");
  const [lastOrder, setLastOrder] = useState(null);

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
        <label className="user">
          Shopping as
          <input value={userId} onChange={changeUser} maxLength={128} autoComplete="username" />
        </label>
      </header>
      <main>
        {lastOrder && (
          <section className="confirmation" role="status" aria-label="Order confirmation">
            <strong>Order placed!</strong> {lastOrder.quantity} × {lastOrder.productName},{" "}
            {formatMoney(lastOrder.totalAmount)}. Order id <span className="mono">{lastOrder.orderId}</span>
            <button type="button" className="link" onClick={() => setLastOrder(null)} aria-label="Dismiss">
              ×
            </button>
          </section>
        )}
        {view === "shop" ? (
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
                  onOrdered={setLastOrder}
                  onChanged={refresh}
                />
              ))}
            </div>
          </>
        ) : (
          <MyOrders api={api} userId={userId} refreshKey={lastOrder?.orderId} />
        )}
      </main>
    </>
  );
}
