import { describe, expect, it, vi } from "vitest";
import { challengeFor, createAuth, decodeJwt } from "./auth.js";

function jwt(claims) {
  const encode = (value) =>
    btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(value))))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
  return `${encode({ alg: "RS256" })}.${encode(claims)}.signature`;
}

function memoryStorage() {
  const values = new Map();
  return {
    getItem: (key) => (values.has(key) ? values.get(key) : null),
    setItem: (key, value) => values.set(key, String(value)),
    removeItem: (key) => values.delete(key),
  };
}

function setup(overrides = {}) {
  const location = {
    origin: "https://shop.example",
    href: "https://shop.example/",
    pathname: overrides.pathname ?? "/",
    assign: vi.fn(),
  };
  const storage = memoryStorage();
  const auth = createAuth({
    domain: "https://login.example",
    clientId: "client-1",
    storage,
    location,
    now: () => 1_000_000,
    ...overrides,
  });
  return { auth, location, storage };
}

describe("auth", () => {
  it("is off without a Cognito domain (local stage: dev identity)", () => {
    expect(createAuth({ domain: undefined, clientId: undefined }).enabled).toBe(false);
  });

  it("sends the shopper to the hosted sign-in with a PKCE challenge", async () => {
    const { auth, location, storage } = setup();
    await auth.signIn();
    const url = new URL(location.assign.mock.calls[0][0]);
    expect(url.origin + url.pathname).toBe("https://login.example/oauth2/authorize");
    expect(url.searchParams.get("client_id")).toBe("client-1");
    expect(url.searchParams.get("redirect_uri")).toBe("https://shop.example/");
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    const verifier = storage.getItem("flashsale.pkce.verifier");
    expect(url.searchParams.get("code_challenge")).toBe(await challengeFor(verifier));
    expect(url.searchParams.get("state")).toBe(storage.getItem("flashsale.pkce.state"));
  });

  it("trades the returned code for an ID token whose sub is the userId", async () => {
    const fetchImpl = vi.fn(async () =>
      new Response(JSON.stringify({ id_token: jwt({ sub: "sub-123", email: "a@b.c" }), expires_in: 3600 })),
    );
    const { auth, storage } = setup({ fetchImpl });
    await auth.signIn();
    const state = storage.getItem("flashsale.pkce.state");

    const session = await auth.completeSignIn(`https://shop.example/?code=abc&state=${state}`);

    expect(session).toMatchObject({ userId: "sub-123", email: "a@b.c", expiresAt: 1_000_000 + 3_600_000 });
    const [url, init] = fetchImpl.mock.calls[0];
    expect(url).toBe("https://login.example/oauth2/token");
    const form = new URLSearchParams(init.body);
    expect(form.get("grant_type")).toBe("authorization_code");
    expect(form.get("code")).toBe("abc");
    expect(form.get("code_verifier")).toBeTruthy();
    expect(auth.token()).toBe(session.idToken);
  });

  it("returns to the page that asked to sign in, and only to a path of this site", async () => {
    const { auth, storage } = setup({ pathname: "/admin/sales/lamp" });
    await auth.signIn();
    expect(auth.takeReturnPath()).toBe("/admin/sales/lamp");
    expect(auth.takeReturnPath()).toBe("/");
    storage.setItem("flashsale.returnTo", "//evil.example/");
    expect(auth.takeReturnPath()).toBe("/");
  });

  it("keeps the token's groups (the console says when a user is not an admin)", async () => {
    const fetchImpl = vi.fn(
      async () =>
        new Response(
          JSON.stringify({ id_token: jwt({ sub: "s", "cognito:groups": ["admins"] }), expires_in: 60 }),
        ),
    );
    const { auth, storage } = setup({ fetchImpl });
    await auth.signIn();
    const session = await auth.completeSignIn(
      `https://shop.example/?code=c&state=${storage.getItem("flashsale.pkce.state")}`,
    );
    expect(session.groups).toEqual(["admins"]);
  });

  it("refuses a callback whose state it did not send", async () => {
    const { auth } = setup({ fetchImpl: vi.fn() });
    await auth.signIn();
    await expect(auth.completeSignIn("https://shop.example/?code=abc&state=forged")).rejects.toThrow(
      "state mismatch",
    );
  });

  it("forgets an expired session", async () => {
    let clock = 0;
    const fetchImpl = vi.fn(async () => new Response(JSON.stringify({ id_token: jwt({ sub: "s" }), expires_in: 60 })));
    const { auth, storage } = setup({ fetchImpl, now: () => clock });
    await auth.signIn();
    await auth.completeSignIn(`https://shop.example/?code=c&state=${storage.getItem("flashsale.pkce.state")}`);
    expect(auth.session()).not.toBeNull();
    clock = 61_000;
    expect(auth.session()).toBeNull();
    expect(auth.token()).toBeNull();
  });

  it("decodes base64url JWT payloads, unicode included", () => {
    expect(decodeJwt(jwt({ sub: "x", name: "Priyā" })).name).toBe("Priyā");
  });
});
