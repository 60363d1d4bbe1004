import { useEffect, useState } from "react";
import { describeError } from "../api.js";
import { formatClock, formatMoney } from "../format.js";
import { orderState, STATE_LABELS, useClock, usePaymentsSetup } from "../payments.js";
import { ConfirmDialog } from "./ConfirmDialog.jsx";

// Minutes are enough here: the payment step has the ticking clock.
export function timeLeftPhrase(msLeft) {
  const minutes = Math.floor(msLeft / 60000);
  return minutes < 1 ? "less than a minute left" : `${minutes} min left`;
}

const REFUND_NOTES = {
  "late-refund": "Paid after the hold ended; refunded in full",
  refunded: "Cancelled; refunded in full",
};

export function MyOrders({ api, userId, refreshKey, onCancelled, onPay }) {
  const [state, setState] = useState({ orders: null, error: null });
  const [asking, setAsking] = useState(null);
  const [cancelling, setCancelling] = useState(false);
  const [notice, setNotice] = useState(null);

  useEffect(() => {
    let live = true;
    api.listOrders(userId).then(
      (data) => live && setState({ orders: data.orders, error: null }),
      (error) => live && setState({ orders: null, error }),
    );
    return () => {
      live = false;
    };
  }, [api, userId, refreshKey]);

  async function cancel(order) {
    setCancelling(true);
    try {
      const cancelled = await api.cancelOrder(order.orderId, userId);
      setState((previous) => ({
        ...previous,
        orders: previous.orders.map((o) => (o.orderId === cancelled.orderId ? { ...o, ...cancelled } : o)),
      }));
      setNotice({ kind: "info", headline: `Order cancelled: ${order.quantity} × ${order.productName}.` });
      onCancelled?.(cancelled);
    } catch (error) {
      setNotice({ kind: "error", ...describeError(error) });
    } finally {
      setCancelling(false);
      setAsking(null);
    }
  }

  // The server's clock is only needed (and GET /payments/config only asked) for held orders.
  const holding = Boolean(state.orders?.some((order) => order.status === "AWAITING_PAYMENT"));
  const { setup } = usePaymentsSetup(api, holding);
  const now = useClock(setup?.now ?? null, 5000);

  // A hold past its time is released by the server on its next read; shown as such meanwhile.
  const stateOf = (order) => {
    const current = orderState(order);
    if (current === "awaiting" && now !== null && now >= Date.parse(order.holdExpiresAt)) return "released";
    return current;
  };

  if (state.error) return <p role="alert">{describeError(state.error).headline}</p>;
  if (state.orders === null) return <p aria-busy="true">Loading your orders…</p>;
  if (state.orders.length === 0) return <p>No orders yet for {userId}.</p>;
  return (
    <>
      <div className={`notice ${notice?.kind ?? ""}`} role={notice?.kind === "error" ? "alert" : "status"}>
        {notice && (
          <>
            <strong>{notice.headline}</strong> {notice.detail && <span>{notice.detail}</span>}
          </>
        )}
      </div>
      <table className="orders">
        <caption>Orders for {userId}, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Order</th>
            <th scope="col">Product</th>
            <th scope="col">Qty</th>
            <th scope="col">Total</th>
            <th scope="col">Placed</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {state.orders.map((order) => (
            <tr key={order.orderId}>
              <td className="mono">{order.orderId}</td>
              <td>{order.productName}</td>
              <td>{order.quantity}</td>
              <td>{formatMoney(order.totalAmount, order.currency)}</td>
              <td>
                <time dateTime={order.createdAt}>{new Date(order.createdAt).toLocaleString()}</time>
              </td>
              <td>
                <OrderStatus
                  order={order}
                  state={stateOf(order)}
                  now={now}
                  onPay={onPay}
                  onCancel={() => setAsking(order)}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {asking && (
        <ConfirmDialog
          title="Cancel this order?"
          confirmLabel="Cancel order"
          cancelLabel="Keep order"
          busy={cancelling}
          onConfirm={() => cancel(asking)}
          onCancel={() => setAsking(null)}
        >
          <p>
            {asking.quantity} × {asking.productName}, {formatMoney(asking.totalAmount, asking.currency)}, order{" "}
            <span className="mono">{asking.orderId}</span>. The units go back on sale for everyone.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

function OrderStatus({ order, state, now, onPay, onCancel }) {
  const awaiting = state === "awaiting";
  return (
    <>
      <span className={`status-${state}`}>{STATE_LABELS[state]}</span>
      {awaiting && (
        <span className="hold-left">
          until <time dateTime={order.holdExpiresAt}>{formatClock(order.holdExpiresAt)}</time>
          {now !== null && <>, {timeLeftPhrase(Date.parse(order.holdExpiresAt) - now)}</>}
        </span>
      )}
      {REFUND_NOTES[state] && <span className="hold-left">{REFUND_NOTES[state]}</span>}
      {awaiting && onPay && (
        <button type="button" className="small" onClick={() => onPay(order)} aria-label={`Pay now for order ${order.orderId}`}>
          Pay now
        </button>
      )}
      {(awaiting || state === "confirmed") && (
        <button type="button" className="small" onClick={onCancel} aria-label={`Cancel order ${order.orderId}`}>
          Cancel
        </button>
      )}
    </>
  );
}
