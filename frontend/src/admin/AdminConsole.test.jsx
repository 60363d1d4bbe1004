import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { navigate } from "../router.jsx";
import AdminConsole, { route } from "./AdminConsole.jsx";
import { fakeAdminApi } from "./fakeAdminApi.js";

afterEach(() => window.history.replaceState({}, "", "/"));

const localAuth = { enabled: false, session: () => null, signIn: vi.fn(), signOut: vi.fn(), token: () => null };

function at(path, props = {}) {
  window.history.replaceState({}, "", path);
  const api = props.api ?? fakeAdminApi();
  render(<AdminConsole api={api} auth={props.auth ?? localAuth} />);
  return api;
}

describe("route", () => {
  it.each([
    ["/admin", { page: "sales" }],
    ["/admin/", { page: "sales" }],
    ["/admin/new", { page: "new" }],
    ["/admin/sales/lamp", { page: "live", productId: "lamp" }],
    ["/admin/sales/a%40b.c", { page: "live", productId: "a@b.c" }],
    ["/admin/sales/lamp/edit", { page: "edit", productId: "lamp" }],
    ["/admin/sales/lamp/other", { page: "missing" }],
    ["/admin/sales/%E0%A4%A", { page: "missing" }],
    ["/admin/nope", { page: "missing" }],
  ])("%s", (path, expected) => expect(route(path)).toEqual(expected));
});

describe("AdminConsole", () => {
  it("opens on the sales and goes to a sale's live view and back", async () => {
    at("/admin");
    const user = userEvent.setup();
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("FlashSale operator console");
    expect(screen.getByRole("link", { name: "Sales" })).toHaveAttribute("aria-current", "page");
    expect(screen.getByText("Local stage: no sign-in")).toBeInTheDocument();
    await user.click(await screen.findByRole("link", { name: "Desk lamp" }));
    expect(window.location.pathname).toBe("/admin/sales/lamp");
    const heading = await screen.findByRole("heading", { name: "Desk lamp", level: 2 });
    expect(screen.getByTestId("units-sold")).toHaveTextContent("2");
    await user.click(screen.getByRole("link", { name: "Sales" }));
    // Focus follows the navigation to the new page's heading.
    await waitFor(() => expect(screen.getByRole("heading", { name: "Sales", level: 2 })).toHaveFocus());
    expect(heading).not.toBeInTheDocument();
  });

  it("opens the create form and the edit form", async () => {
    at("/admin/new");
    expect(screen.getByRole("heading", { name: "New sale" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Create sale" })).toBeInTheDocument();
    act(() => navigate("/admin/sales/lamp/edit"));
    expect(await screen.findByLabelText("Name")).toHaveValue("Desk lamp");
    expect(screen.getByRole("heading", { name: "Edit sale lamp" })).toHaveFocus();
  });

  it("says when a console page doesn't exist", () => {
    at("/admin/elsewhere");
    expect(screen.getByRole("heading", { name: "Page not found" })).toBeInTheDocument();
  });

  it("asks a signed-out operator to sign in and calls nothing", async () => {
    const auth = { ...localAuth, enabled: true, signIn: vi.fn() };
    const api = at("/admin", { auth });
    await userEvent.setup().click(screen.getAllByRole("button", { name: "Sign in" })[0]);
    expect(auth.signIn).toHaveBeenCalled();
    expect(api.listSales).not.toHaveBeenCalled();
  });

  it("warns a signed-in user who is not in the admins group", async () => {
    const session = { userId: "s", email: "shopper@example.com", groups: [] };
    at("/admin", { auth: { ...localAuth, enabled: true, session: () => session } });
    expect(screen.getByRole("alert")).toHaveTextContent("This account is not in the admins group");
    expect(screen.getByText("Signed in as shopper@example.com")).toBeInTheDocument();
  });

  it("lets an admin in", async () => {
    const session = { userId: "s", email: "op@example.com", groups: ["admins"] };
    at("/admin", { auth: { ...localAuth, enabled: true, session: () => session } });
    expect(await screen.findByRole("link", { name: "Desk lamp" })).toBeInTheDocument();
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });
});
