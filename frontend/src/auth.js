// Shopper sign-in for deployed stages: Cognito's hosted pages with the OAuth 2.0
// authorization-code flow and PKCE (no client secret in the browser). The ID token
// goes to the API as `Authorization`; its `sub` is the shopper's userId. Without
// VITE_COGNITO_DOMAIN (the local stage) there is no sign-in: a dev identity is used.

const VERIFIER = "flashsale.pkce.verifier";
const STATE = "flashsale.pkce.state";
const SESSION = "flashsale.session";
// Cognito returns to "/" (the one callback URL); the page that asked to sign in is kept here.
const RETURN_TO = "flashsale.returnTo";

export function createAuth({
  domain = import.meta.env.VITE_COGNITO_DOMAIN,
  clientId = import.meta.env.VITE_COGNITO_CLIENT_ID,
  storage = globalThis.sessionStorage,
  location = globalThis.location,
  fetchImpl = (...args) => globalThis.fetch(...args),
  now = () => Date.now(),
} = {}) {
  const enabled = Boolean(domain && clientId);
  const redirectUri = () => `${location.origin}/`;

  function session() {
    const saved = storage.getItem(SESSION);
    if (!saved) return null;
    const parsed = JSON.parse(saved);
    return parsed.expiresAt > now() ? parsed : null;
  }

  async function signIn() {
    const verifier = randomString(64);
    const state = randomString(24);
    storage.setItem(VERIFIER, verifier);
    storage.setItem(STATE, state);
    storage.setItem(RETURN_TO, location.pathname ?? "/");
    const query = new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: redirectUri(),
      scope: "openid email",
      state,
      code_challenge_method: "S256",
      code_challenge: await challengeFor(verifier),
    });
    location.assign(`${domain}/oauth2/authorize?${query}`);
  }

  // On the way back from the hosted pages: trade the code for tokens.
  async function completeSignIn(url = location.href) {
    const params = new URL(url).searchParams;
    const code = params.get("code");
    if (!code) return session();
    const expected = storage.getItem(STATE);
    storage.removeItem(STATE);
    if (!expected || params.get("state") !== expected) throw new Error("sign-in state mismatch");
    const response = await fetchImpl(`${domain}/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: clientId,
        code,
        redirect_uri: redirectUri(),
        code_verifier: storage.getItem(VERIFIER) ?? "",
      }),
    });
    storage.removeItem(VERIFIER);
    if (!response.ok) throw new Error(`sign-in failed (${response.status})`);
    const tokens = await response.json();
    const claims = decodeJwt(tokens.id_token);
    const signedIn = {
      idToken: tokens.id_token,
      userId: claims.sub,
      email: claims.email ?? null,
      // Shown to say why the console refuses; the API checks the group itself.
      groups: claims["cognito:groups"] ?? [],
      expiresAt: now() + tokens.expires_in * 1000,
    };
    storage.setItem(SESSION, JSON.stringify(signedIn));
    return signedIn;
  }

  function signOut() {
    storage.removeItem(SESSION);
    const query = new URLSearchParams({ client_id: clientId, logout_uri: redirectUri() });
    location.assign(`${domain}/logout?${query}`);
  }

  // Where to go after the sign-in round trip: a same-origin path, never a full URL.
  function takeReturnPath() {
    const path = storage.getItem(RETURN_TO);
    storage.removeItem(RETURN_TO);
    return path && path.startsWith("/") && !path.startsWith("//") ? path : "/";
  }

  return {
    enabled,
    session,
    signIn,
    completeSignIn,
    signOut,
    takeReturnPath,
    token: () => session()?.idToken ?? null,
  };
}

export function decodeJwt(token) {
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  const padded = payload + "=".repeat((4 - (payload.length % 4)) % 4);
  const json = new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)));
  return JSON.parse(json);
}

export async function challengeFor(verifier) {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

function randomString(bytes) {
  return base64url(globalThis.crypto.getRandomValues(new Uint8Array(bytes)));
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
