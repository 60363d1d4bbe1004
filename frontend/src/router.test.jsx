import { act, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, expect, it } from "vitest";
import { isAdminPath, Link, navigate, usePath } from "./router.jsx";

afterEach(() => window.history.replaceState({}, "", "/"));

function Where() {
  return <p data-testid="path">{usePath()}</p>;
}

it("tells the shop from the console by path", () => {
  expect(["/admin", "/admin/", "/admin/sales/a.b"].every(isAdminPath)).toBe(true);
  expect(["/", "/administrator", "/shop/admin"].some(isAdminPath)).toBe(false);
});

it("re-renders on navigate and on the browser's back button", () => {
  render(<Where />);
  expect(screen.getByTestId("path")).toHaveTextContent(/^\/$/);
  act(() => navigate("/admin/sales/new"));
  expect(screen.getByTestId("path")).toHaveTextContent("/admin/sales/new");
  expect(window.location.pathname).toBe("/admin/sales/new");
  act(() => {
    window.history.replaceState({}, "", "/admin");
    window.dispatchEvent(new PopStateEvent("popstate"));
  });
  expect(screen.getByTestId("path")).toHaveTextContent(/^\/admin$/);
});

it("follows a plain click in place but leaves modified clicks to the browser", () => {
  render(
    <>
      <Where />
      <Link to="/admin/sales/lamp">Lamp</Link>
    </>,
  );
  const link = screen.getByRole("link", { name: "Lamp" });
  expect(link).toHaveAttribute("href", "/admin/sales/lamp");
  // A new-tab click is not prevented (jsdom then ignores it), so the path stays.
  expect(fireEvent.click(link, { ctrlKey: true })).toBe(true);
  expect(screen.getByTestId("path")).toHaveTextContent(/^\/$/);
  expect(fireEvent.click(link)).toBe(false);
  expect(screen.getByTestId("path")).toHaveTextContent("/admin/sales/lamp");
});
