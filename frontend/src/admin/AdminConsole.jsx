import { useEffect, useMemo, useRef } from "react";
import { createClient } from "../api.js";
import { createAuth } from "../auth.js";
import { Link, usePath } from "../router.jsx";
import "./admin.css";
import { createAdminApi } from "./adminApi.js";
import { LiveSale } from "./LiveSale.jsx";
import { SaleForm } from "./SaleForm.jsx";
import { SalesTable } from "./SalesTable.jsx";

// /admin                     the sales
// /admin/new                 create a sale
// /admin/sales/{id}          one sale, live
// /admin/sales/{id}/edit     edit it
export function route(path) {
  const parts = path.replace(/\/+$/, "").split("/").slice(2);
  const decode = (part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return null;
    }
  };
  if (parts.length === 0) return { page: "sales" };
  if (parts.length === 1 && parts[0] === "new") return { page: "new" };
  if (parts[0] === "sales" && parts.length >= 2 && parts.length <= 3 && decode(parts[1])) {
    if (parts.length === 2) return { page: "live", productId: decode(parts[1]) };
    if (parts[2] === "edit") return { page: "edit", productId: decode(parts[1]) };
  }
  return { page: "missing" };
}

export default function AdminConsole({ api: givenApi, auth: givenAuth }) {
  const auth = useMemo(() => givenAuth ?? createAuth(), [givenAuth]);
  const api = useMemo(() => givenApi ?? createAdminApi(createClient(undefined, undefined, auth.token)), [givenApi, auth]);
  const path = usePath();
  const current = route(path);
  const session = auth.enabled ? auth.session() : null;
  const signedOut = auth.enabled && !session;
  const notAdmin = session && !(session.groups ?? []).includes("admins");
  const mainRef = useRef(null);
  const firstPath = useRef(path);

  // After an in-app navigation, focus goes to the new page's heading, as a page load would.
  useEffect(() => {
    if (path === firstPath.current) return;
    firstPath.current = null;
    mainRef.current?.querySelector(".page-title")?.focus();
  }, [path]);

  let page;
  if (signedOut)
    page = (
      <>
        <h2 className="page-title" tabIndex={-1}>
          Sign in
        </h2>
        <p>The operator console needs an account in the admins group.</p>
        <button type="button" className="primary" onClick={() => auth.signIn()}>
          Sign in
        </button>
      </>
    );
  else if (current.page === "sales") page = <SalesTable api={api} />;
  else if (current.page === "new")
    page = (
      <>
        <h2 className="page-title" tabIndex={-1}>
          New sale
        </h2>
        <SaleForm api={api} />
      </>
    );
  else if (current.page === "edit")
    page = (
      <>
        <h2 className="page-title" tabIndex={-1}>
          Edit sale <span className="mono">{current.productId}</span>
        </h2>
        <SaleForm key={current.productId} api={api} productId={current.productId} />
      </>
    );
  else if (current.page === "live") page = <LiveSale key={current.productId} api={api} productId={current.productId} />;
  else
    page = (
      <>
        <h2 className="page-title" tabIndex={-1}>
          Page not found
        </h2>
        <p>
          There is no console page at <span className="mono">{path}</span>. <Link to="/admin">See all sales</Link>.
        </p>
      </>
    );

  return (
    <>
      <title>FlashSale operator console</title>
      <header className="top admin-top">
        <h1 className="brand">
          FlashSale <span>operator console</span>
        </h1>
        <nav aria-label="Console">
          <Link to="/admin" aria-current={current.page === "sales" ? "page" : undefined}>
            Sales
          </Link>
          <Link to="/admin/new" aria-current={current.page === "new" ? "page" : undefined}>
            New sale
          </Link>
          <a href="/">Shop</a>
        </nav>
        <div className="user">
          {!auth.enabled ? (
            <span>Local stage: no sign-in</span>
          ) : session ? (
            <>
              <span>Signed in as {session.email ?? "operator"}</span>
              <button type="button" onClick={() => auth.signOut()}>
                Sign out
              </button>
            </>
          ) : null}
        </div>
      </header>
      <main className="console" ref={mainRef}>
        {notAdmin && (
          <p className="notice error" role="alert">
            This account is not in the admins group, so the API will refuse the console&apos;s requests.
          </p>
        )}
        {page}
      </main>
    </>
  );
}
