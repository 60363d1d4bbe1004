import { useCallback } from "react";
import { formatMoney } from "../format.js";
import { Link } from "../router.jsx";
import { describeAdminError } from "./adminApi.js";
import { StateBadge } from "./StateBadge.jsx";
import { formatWindow, parseInstant } from "./time.js";
import { usePoll } from "./usePoll.js";

export const SALES_REFRESH_MS = 5000;

// Running sales first, then the next to open, then the finished ones.
const ORDER = { live: 0, scheduled: 1, sold_out: 2, ended: 3 };

export function sortSales(sales) {
  const starts = (sale) => parseInstant(sale.saleStartsAt) || 0;
  return [...sales].sort(
    (a, b) =>
      (ORDER[a.state] ?? 4) - (ORDER[b.state] ?? 4) || starts(a) - starts(b) || a.name.localeCompare(b.name),
  );
}

const salePath = (sale) => `/admin/sales/${encodeURIComponent(sale.productId)}`;

export function SalesTable({ api, intervalMs = SALES_REFRESH_MS }) {
  const load = useCallback(() => api.listSales(), [api]);
  const { data, error, loaded } = usePoll(load, intervalMs);

  let body;
  if (!loaded) body = <p aria-busy="true">Loading sales…</p>;
  else if (!data) {
    const { headline, detail } = describeAdminError(error);
    body = (
      <p role="alert">
        <strong>{headline}</strong> {detail}
      </p>
    );
  } else if (data.sales.length === 0)
    body = (
      <p>
        No sales yet. <Link to="/admin/new">Create the first one</Link>.
      </p>
    );
  else
    body = (
      <>
        {error && (
          <p className="stale" role="alert">
            Not refreshed: {describeAdminError(error).headline}
          </p>
        )}
        <div className="scroll" role="region" aria-label="Sales table" tabIndex={0}>
          <table className="data sales stack">
            <caption className="visually-hidden">All sales, live first</caption>
            <thead>
              <tr>
                <th scope="col">Sale</th>
                <th scope="col">State</th>
                <th scope="col" className="num">
                  Stock left
                </th>
                <th scope="col" className="num">
                  Units sold
                </th>
                <th scope="col" className="num">
                  Revenue
                </th>
                <th scope="col">Window</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sortSales(data.sales).map((sale) => (
                <tr key={sale.productId}>
                  <th scope="row">
                    <Link to={salePath(sale)}>{sale.name}</Link>
                    <div className="muted mono">{sale.productId}</div>
                  </th>
                  <td data-label="State">
                    <StateBadge state={sale.state} />
                  </td>
                  <td className="num" data-label="Stock left">
                    {sale.stock}
                  </td>
                  <td className="num" data-label="Units sold">
                    {sale.unitsSold}
                  </td>
                  <td className="num" data-label="Revenue">
                    {formatMoney(sale.revenue)}
                  </td>
                  <td className="window" data-label="Window">
                    {formatWindow(sale.saleStartsAt, sale.saleEndsAt)}
                  </td>
                  <td className="row-actions">
                    <Link to={`${salePath(sale)}/edit`} aria-label={`Edit ${sale.name}`}>
                      Edit
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </>
    );

  return (
    <>
      <div className="page-head">
        <h2 className="page-title" tabIndex={-1}>
          Sales
        </h2>
        <Link className="button primary" to="/admin/new">
          New sale
        </Link>
      </div>
      {body}
    </>
  );
}
