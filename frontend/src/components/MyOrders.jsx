import { useEffect, useState } from "react";
import { describeError } from "../api.js";
import { formatMoney } from "../format.js";
import { ConfirmDialog } from "./ConfirmDialog.jsx";

export function MyOrders({ api, userId, refreshKey, onCancelled }) {
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
              <td>{formatMoney(order.totalAmount)}</td>
              <td>
                <time dateTime={order.createdAt}>{new Date(order.createdAt).toLocaleString()}</time>
              </td>
              <td>
                <span className={`status-${(order.status ?? "CONFIRMED").toLowerCase()}`}>
                  {order.status === "CANCELLED" ? "Cancelled" : "Confirmed"}
                </span>
                {order.status !== "CANCELLED" && (
                  <button
                    type="button"
                    className="small"
                    onClick={() => setAsking(order)}
                    aria-label={`Cancel order ${order.orderId}`}
                  >
                    Cancel
                  </button>
                )}
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
            {asking.quantity} × {asking.productName}, {formatMoney(asking.totalAmount)}, order{" "}
            <span className="mono">{asking.orderId}</span>. The units go back on sale for everyone.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
