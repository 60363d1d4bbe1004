import { useEffect, useState } from "react";
import { describeError } from "../api.js";
import { formatMoney } from "../format.js";

export function MyOrders({ api, userId, refreshKey }) {
  const [state, setState] = useState({ orders: null, error: null });

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

  if (state.error) return <p role="alert">{describeError(state.error).headline}</p>;
  if (state.orders === null) return <p aria-busy="true">Loading your orders…</p>;
  if (state.orders.length === 0) return <p>No orders yet for {userId}.</p>;
  return (
    <table className="orders">
      <caption>Orders for {userId}, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Order</th>
          <th scope="col">Product</th>
          <th scope="col">Qty</th>
          <th scope="col">Total</th>
          <th scope="col">Placed</th>
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
          </tr>
        ))}
      </tbody>
    </table>
  );
}
