import { useCallback, useEffect, useId, useRef, useState } from "react";
import { ConfirmDialog } from "../components/ConfirmDialog.jsx";
import { formatMoney } from "../format.js";
import { describeAdminError } from "./adminApi.js";
import { saveBlob } from "./download.js";
import { formatInstant } from "./time.js";

const PAGE = 50;

// One sale's orders, newest first: search by order id or shopper, page on, cancel one,
// export all as CSV. The first page reloads when the sale's counters move (refreshKey)
// unless the operator is reading further pages or a search result.
export function SaleOrders({ api, productId, refreshKey, onChanged, save = saveBlob }) {
  const [field, setField] = useState("userId");
  const [text, setText] = useState("");
  const [query, setQuery] = useState({});
  const [list, setList] = useState({ orders: null, nextToken: null, error: null, loadingMore: false });
  const [asking, setAsking] = useState(null);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState(null);
  const [exporting, setExporting] = useState(false);
  const pages = useRef(1);
  const searchId = useId();
  const fieldId = useId();

  const loadFirst = useCallback(async () => {
    try {
      const data = await api.orders(productId, { limit: PAGE, ...query });
      pages.current = 1;
      setList({ orders: data.orders, nextToken: data.nextToken ?? null, error: null, loadingMore: false });
    } catch (error) {
      setList((previous) => ({ ...previous, error, loadingMore: false }));
    }
  }, [api, productId, query]);

  useEffect(() => {
    setList({ orders: null, nextToken: null, error: null, loadingMore: false });
    loadFirst();
  }, [loadFirst]);

  const searching = Boolean(query.orderId || query.userId);
  const seenKey = useRef(refreshKey);
  useEffect(() => {
    if (seenKey.current === refreshKey) return;
    seenKey.current = refreshKey;
    if (searching || pages.current > 1) return;
    loadFirst();
    // Only a change of the sale's counters reloads here; a new query reloads above.
  }, [refreshKey]);

  async function loadMore() {
    setList((previous) => ({ ...previous, loadingMore: true }));
    try {
      const data = await api.orders(productId, { limit: PAGE, nextToken: list.nextToken, ...query });
      pages.current += 1;
      setList((previous) => ({
        orders: [...previous.orders, ...data.orders],
        nextToken: data.nextToken ?? null,
        error: null,
        loadingMore: false,
      }));
    } catch (error) {
      setList((previous) => ({ ...previous, error, loadingMore: false }));
    }
  }

  function search(event) {
    event.preventDefault();
    const value = text.trim();
    setNotice(null);
    setQuery(value ? { [field]: value } : {});
  }

  function clear() {
    setText("");
    setNotice(null);
    setQuery({});
  }

  async function cancel(order) {
    setBusy(true);
    try {
      const cancelled = await api.cancelOrder(order.orderId);
      setList((previous) => ({
        ...previous,
        orders: previous.orders.map((o) => (o.orderId === cancelled.orderId ? { ...o, ...cancelled } : o)),
      }));
      setNotice({ kind: "info", headline: `Order ${order.orderId} cancelled; ${order.quantity} back in stock.` });
      onChanged?.();
    } catch (error) {
      setNotice({ kind: "error", ...describeAdminError(error) });
    } finally {
      setBusy(false);
      setAsking(null);
    }
  }

  async function exportCsv() {
    setExporting(true);
    setNotice(null);
    try {
      save(await api.ordersCsv(productId), `orders-${productId}.csv`);
      setNotice({ kind: "info", headline: "CSV export downloaded." });
    } catch (error) {
      setNotice({ kind: "error", ...describeAdminError(error) });
    } finally {
      setExporting(false);
    }
  }

  const label = field === "orderId" ? "Order id" : "Shopper (user id or email)";
  return (
    <section className="panel" aria-labelledby={`${searchId}-heading`}>
      <div className="panel-head">
        <h3 id={`${searchId}-heading`}>Orders</h3>
        <button type="button" onClick={exportCsv} disabled={exporting}>
          {exporting ? "Exporting…" : "Export CSV"}
        </button>
      </div>
      <form className="search" role="search" aria-label="Find orders" onSubmit={search}>
        <label htmlFor={fieldId}>Find by</label>
        <select id={fieldId} value={field} onChange={(event) => setField(event.target.value)}>
          <option value="userId">Shopper</option>
          <option value="orderId">Order id</option>
        </select>
        <label htmlFor={searchId} className="visually-hidden">
          {label}
        </label>
        <input
          id={searchId}
          type="search"
          value={text}
          onChange={(event) => setText(event.target.value)}
          placeholder={field === "orderId" ? "Order id" : "alice@example.com"}
          maxLength={128}
        />
        <button type="submit">Search</button>
        {searching && (
          <button type="button" onClick={clear}>
            Show all
          </button>
        )}
      </form>
      <div className={`notice ${notice?.kind ?? ""}`} role={notice?.kind === "error" ? "alert" : "status"}>
        {notice && (
          <>
            <strong>{notice.headline}</strong> {notice.detail && <span>{notice.detail}</span>}
          </>
        )}
      </div>
      {list.error && (
        <p role="alert">
          {describeAdminError(list.error).headline} {describeAdminError(list.error).detail}
        </p>
      )}
      {list.orders === null && !list.error && <p aria-busy="true">Loading orders…</p>}
      {list.orders?.length === 0 && (
        <p>{searching ? `No orders of this sale match “${query.orderId ?? query.userId}”.` : "No orders yet."}</p>
      )}
      {list.orders?.length > 0 && (
        <div className="scroll" role="region" aria-label="Orders table" tabIndex={0}>
          <table className="data stack">
            <caption className="visually-hidden">
              {searching ? "Orders matching the search" : "Orders of this sale, newest first"}
            </caption>
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">Shopper</th>
                <th scope="col">Qty</th>
                <th scope="col">Total</th>
                <th scope="col">Placed</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.orders.map((order) => (
                <tr key={order.orderId}>
                  <td className="mono" data-label="Order">
                    {order.orderId}
                  </td>
                  <td data-label="Shopper">
                    {order.userId}
                    {order.email && order.email !== order.userId && <div className="muted">{order.email}</div>}
                  </td>
                  <td data-label="Qty">{order.quantity}</td>
                  <td data-label="Total">{formatMoney(order.totalAmount)}</td>
                  <td data-label="Placed">
                    <time dateTime={order.createdAt}>{formatInstant(order.createdAt)}</time>
                  </td>
                  <td data-label="Status">
                    {order.status === "CANCELLED" ? (
                      <span className="status-cancelled">
                        Cancelled{" "}
                        {order.cancelledAt && <time dateTime={order.cancelledAt}>{formatInstant(order.cancelledAt)}</time>}
                      </span>
                    ) : (
                      "Confirmed"
                    )}
                  </td>
                  <td className="row-actions">
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
        </div>
      )}
      {list.nextToken && (
        <button type="button" onClick={loadMore} disabled={list.loadingMore}>
          {list.loadingMore ? "Loading…" : "Load more orders"}
        </button>
      )}
      {asking && (
        <ConfirmDialog
          title="Cancel this order?"
          confirmLabel="Cancel order"
          cancelLabel="Keep order"
          busy={busy}
          onConfirm={() => cancel(asking)}
          onCancel={() => setAsking(null)}
        >
          <p>
            Order <span className="mono">{asking.orderId}</span> by {asking.userId}: {asking.quantity} unit
            {asking.quantity === 1 ? "" : "s"}, {formatMoney(asking.totalAmount)}. The units go back to stock.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
