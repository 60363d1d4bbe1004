import { useEffect, useId, useState } from "react";
import { buy, describeError, MESSAGES, newKey } from "../api.js";
import { formatCountdown, formatMoney, maxQuantity, saleState } from "../format.js";
import { LazyWaitingRoom } from "./LazyWaitingRoom.jsx";

// What /orders says about a pass; the waiting room then shows where the shopper stands.
const PASS_REFUSED = new Set(["PASS_EXPIRED", "ADMISSION_REQUIRED"]);

export function ProductCard({ product, now, api, userId, onOrdered, onChanged, onSignIn }) {
  const limit = maxQuantity(product);
  const [quantity, setQuantity] = useState(1);
  const [pending, setPending] = useState(false);
  const [notice, setNotice] = useState(null);
  const quantityId = useId();
  const sale = saleState(product, now);
  const soldOut = product.stock <= 0;

  useEffect(() => {
    setQuantity((q) => Math.max(1, Math.min(q, limit)));
  }, [limit]);

  // `admission` is the waiting room's ({ pass, onPassUsed, onPassRejected }); null
  // for a product without one, whose order is exactly as it always was.
  async function onBuy(admission) {
    if (pending) return;
    if (!userId) {
      onSignIn?.();
      return;
    }
    setPending(true);
    setNotice(null);
    try {
      const order = await buy(
        api,
        {
          userId,
          productId: product.productId,
          quantity,
          ...(admission ? { admissionPass: admission.pass } : {}),
        },
        {
          key: newKey(),
          onRetry: (error) =>
            setNotice({ kind: "info", headline: MESSAGES[error.code] ?? MESSAGES.BUSY, detail: "Retrying…" }),
        },
      );
      setNotice(null);
      admission?.onPassUsed();
      onOrdered(order);
    } catch (error) {
      setNotice({ kind: "error", ...describeError(error) });
      if (admission && PASS_REFUSED.has(error.code)) admission.onPassRejected(error.code);
    } finally {
      setPending(false);
      onChanged();
    }
  }

  let status;
  if (soldOut) status = <span className="badge sold-out">Sold out</span>;
  else if (sale.phase === "upcoming")
    status = (
      <span className="badge upcoming">
        Starts in <time dateTime={product.saleStartsAt}>{formatCountdown(sale.msLeft)}</time>
      </span>
    );
  else if (sale.phase === "ended") status = <span className="badge ended">Sale ended</span>;
  else status = <span className="badge live">{product.stock} left</span>;

  const canBuy = !soldOut && sale.phase === "live" && limit > 0 && !pending;

  const buyControls = (admission) => (
    <div className="buy">
      <label htmlFor={quantityId}>Quantity</label>
      <select
        id={quantityId}
        value={quantity}
        disabled={!canBuy}
        onChange={(event) => setQuantity(Number(event.target.value))}
      >
        {Array.from({ length: Math.max(limit, 1) }, (_, i) => i + 1).map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
      <button type="button" onClick={() => onBuy(admission)} disabled={!canBuy} aria-label={`Buy ${product.name}`}>
        {pending ? "Buying…" : "Buy"}
      </button>
    </div>
  );

  return (
    <article className="card" aria-labelledby={`${quantityId}-name`}>
      {product.imageUrl ? (
        <img src={product.imageUrl} alt={product.name} loading="lazy" width="320" height="200" />
      ) : (
        <div className="img-placeholder" aria-hidden="true" />
      )}
      <h2 id={`${quantityId}-name`}>{product.name}</h2>
      {product.description && <p className="description">{product.description}</p>}
      <p className="price">{formatMoney(product.price)}</p>
      <p className="status" data-testid="stock">
        {status}
        {product.maxPerUser ? <span className="limit">Limit {product.maxPerUser} per customer</span> : null}
      </p>
      {/* An ended sale looks as it always has: nothing to queue for, nothing to poll. */}
      {product.waitingRoom && sale.phase !== "ended" ? (
        <LazyWaitingRoom
          key={userId ?? ""}
          product={product}
          api={api}
          userId={userId}
          now={now}
          onSignIn={onSignIn}
        >
          {buyControls}
        </LazyWaitingRoom>
      ) : (
        buyControls(null)
      )}
      <div className={`notice ${notice?.kind ?? ""}`} role={notice?.kind === "error" ? "alert" : "status"}>
        {notice && (
          <>
            <strong>{notice.headline}</strong> <span>{notice.detail}</span>
          </>
        )}
      </div>
    </article>
  );
}
