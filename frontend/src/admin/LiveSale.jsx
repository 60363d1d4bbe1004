import { useCallback, useEffect, useId, useState } from "react";
import { ConfirmDialog } from "../components/ConfirmDialog.jsx";
import { formatMoney } from "../format.js";
import { Link } from "../router.jsx";
import { describeAdminError } from "./adminApi.js";
import { SaleOrders } from "./SaleOrders.jsx";
import { RoomPanel } from "./RoomPanel.jsx";
import { MinuteTable, SalesChart } from "./SalesChart.jsx";
import { StateBadge } from "./StateBadge.jsx";
import { formatWindow } from "./time.js";
import { usePoll } from "./usePoll.js";

export const LIVE_REFRESH_MS = 3000;
const WINDOW_MINUTES = 60;

// Why purchases were refused, in an operator's words; unknown codes are shown as they come.
export const REJECTION_LABELS = {
  OUT_OF_STOCK: "Sold out",
  SALE_NOT_ACTIVE: "Outside the sale window",
  PURCHASE_LIMIT_EXCEEDED: "Over the per-shopper limit",
  BUSY: "Busy, asked to retry",
  ADMISSION_REQUIRED: "No valid waiting-room pass",
  PASS_EXPIRED: "Waiting-room pass expired",
};

export const plural = (n, noun) => `${n} ${noun}${n === 1 ? "" : "s"}`;

function Notice({ notice }) {
  return (
    <div className={`notice ${notice?.kind ?? ""}`} role={notice?.kind === "error" ? "alert" : "status"}>
      {notice && (
        <>
          <strong>{notice.headline}</strong> {notice.detail && <span>{notice.detail}</span>}
        </>
      )}
    </div>
  );
}

export function LiveSale({ api, productId, intervalMs = LIVE_REFRESH_MS }) {
  const { data, ...rest } = useLiveSale(api, productId, intervalMs);
  return (
    <>
      <h2 className="page-title" tabIndex={-1}>
        {data?.sale?.name ?? `Sale ${productId}`}
      </h2>
      <LiveSaleBody api={api} productId={productId} intervalMs={intervalMs} data={data} {...rest} />
    </>
  );
}

function useLiveSale(api, productId, intervalMs) {
  const load = useCallback(() => api.live(productId, WINDOW_MINUTES), [api, productId]);
  return usePoll(load, intervalMs);
}

function LiveSaleBody({ api, productId, intervalMs, data, error, loaded, updatedAt, refresh }) {
  // A message handed over by the page before (the form: "Sale saved.").
  const [notice, setNotice] = useState(() => {
    const flash = window.history.state?.flash;
    return flash ? { kind: "info", headline: flash } : null;
  });
  const [ending, setEnding] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (window.history.state?.flash) window.history.replaceState({}, "");
  }, []);

  if (!loaded) return <p aria-busy="true">Loading the sale…</p>;
  if (!data) {
    const { headline, detail } = describeAdminError(error);
    return (
      <div role="alert">
        <p>
          <strong>{headline}</strong> {detail}
        </p>
        <Link to="/admin">Back to the sales</Link>
      </div>
    );
  }

  const { sale, minutes, rejections } = data;
  const ended = sale.state === "ended";

  async function endNow() {
    setBusy(true);
    try {
      await api.endSale(productId);
      setNotice({ kind: "info", headline: "Sale ended. Shoppers can no longer buy it." });
      refresh();
    } catch (failure) {
      setNotice({ kind: "error", ...describeAdminError(failure) });
    } finally {
      setBusy(false);
      setEnding(false);
    }
  }

  return (
    <div className="live">
      <div className="live-head">
        <p className="sale-id">
          <StateBadge state={sale.state} /> <span className="mono">{sale.productId}</span>
        </p>
        <p className="updated">
          {error ? (
            <span className="stale" role="alert">
              Not refreshed: {describeAdminError(error).headline}
            </span>
          ) : (
            <>
              Updated <time dateTime={new Date(updatedAt).toISOString()}>{new Date(updatedAt).toLocaleTimeString()}</time>,
              every {intervalMs / 1000} s
            </>
          )}
        </p>
      </div>
      <Notice notice={notice} />
      <dl className="figures">
        <div>
          <dt>Stock left</dt>
          <dd data-testid="stock-left">{sale.stock}</dd>
        </div>
        <div>
          <dt>Units sold</dt>
          <dd data-testid="units-sold">{sale.unitsSold}</dd>
        </div>
        <div>
          <dt>Orders</dt>
          <dd>{sale.orders}</dd>
        </div>
        <div>
          <dt>Revenue</dt>
          <dd>{formatMoney(sale.revenue)}</dd>
        </div>
        <div>
          <dt>Cancelled</dt>
          <dd>
            {plural(sale.unitsCancelled, "unit")}, {plural(sale.cancelledOrders, "order")}
          </dd>
        </div>
      </dl>
      <dl className="facts">
        <div>
          <dt>Price</dt>
          <dd>{formatMoney(sale.price)}</dd>
        </div>
        <div>
          <dt>Window</dt>
          <dd>{formatWindow(sale.saleStartsAt, sale.saleEndsAt)}</dd>
        </div>
        <div>
          <dt>Per-shopper limit</dt>
          <dd>{sale.maxPerUser ?? "none"}</dd>
        </div>
        <div>
          <dt>Shopper cancel window</dt>
          <dd>{sale.cancelWindowMinutes} min</dd>
        </div>
        <div>
          <dt>Shards</dt>
          <dd>{sale.shards}</dd>
        </div>
      </dl>
      <div className="actions">
        <Link className="button" to={`/admin/sales/${encodeURIComponent(productId)}/edit`}>
          Edit sale
        </Link>
        <Restock api={api} productId={productId} onDone={refresh} onNotice={setNotice} />
        <button type="button" className="danger" onClick={() => setEnding(true)} disabled={ended}>
          End sale now
        </button>
      </div>
      {sale.waitingRoom && <RoomPanel api={api} productId={productId} intervalMs={intervalMs} />}
      <section className="panel" aria-labelledby="chart-heading">
        <h3 id="chart-heading">Last {WINDOW_MINUTES} minutes</h3>
        <SalesChart minutes={minutes} />
        <MinuteTable minutes={minutes} />
      </section>
      <Rejections rejections={rejections} />
      <SaleOrders
        api={api}
        productId={productId}
        refreshKey={`${sale.orders}/${sale.cancelledOrders}`}
        onChanged={refresh}
      />
      {ending && (
        <ConfirmDialog
          title="End this sale now?"
          confirmLabel="End sale now"
          cancelLabel="Keep it running"
          busy={busy}
          onConfirm={endNow}
          onCancel={() => setEnding(false)}
        >
          <p>
            Shoppers can no longer buy {sale.name} once it ends. Orders already placed stay; {sale.stock} units stay
            unsold.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function Restock({ api, productId, onDone, onNotice }) {
  const [units, setUnits] = useState("");
  const [error, setError] = useState(null);
  const [saving, setSaving] = useState(false);
  const id = useId();

  async function submit(event) {
    event.preventDefault();
    const raw = units.trim();
    if (!/^\d+$/.test(raw) || Number(raw) < 1) {
      setError("Enter a whole number of units, 1 or more.");
      return;
    }
    setError(null);
    setSaving(true);
    try {
      const sale = await api.restock(productId, Number(raw));
      setUnits("");
      onNotice({ kind: "info", headline: `Added ${raw} units. Stock is now ${sale.stock}.` });
      onDone();
    } catch (failure) {
      onNotice({ kind: "error", ...describeAdminError(failure) });
    } finally {
      setSaving(false);
    }
  }

  return (
    <form className="restock" onSubmit={submit} noValidate>
      <label htmlFor={id}>Units to add</label>
      <input
        id={id}
        inputMode="numeric"
        value={units}
        onChange={(event) => setUnits(event.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        size={6}
      />
      <button type="submit" disabled={saving}>
        {saving ? "Restocking…" : "Restock"}
      </button>
      {error && (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </form>
  );
}

function Rejections({ rejections = {} }) {
  const entries = Object.entries(rejections).filter(([, count]) => count > 0);
  entries.sort((a, b) => b[1] - a[1]);
  return (
    <section className="panel" aria-labelledby="rejections-heading">
      <h3 id="rejections-heading">Refused purchases</h3>
      {entries.length === 0 ? (
        <p>None so far.</p>
      ) : (
        <table className="data compact">
          <caption className="visually-hidden">Refused purchases by reason</caption>
          <thead>
            <tr>
              <th scope="col">Reason</th>
              <th scope="col">Requests</th>
            </tr>
          </thead>
          <tbody>
            {entries.map(([code, count]) => (
              <tr key={code}>
                <th scope="row">
                  {REJECTION_LABELS[code] ?? code} <span className="code">{code}</span>
                </th>
                <td>{count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
