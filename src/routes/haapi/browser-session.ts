/**
 * The browser's binding to its login session, in place of the HAAPI token and `Session-Id`:
 *
 * - a cookie `<session id>.<secret>` (256 random bits), `HttpOnly`, `SameSite=Lax`, `Path=/`, for the
 *   session's lifetime; `Secure` with the `__Host-` prefix when the issuer is https (RFC 6265bis §4.1.3.2),
 *   a plain name on http (development on 127.0.0.1). The session stores only SHA-256 of the secret.
 * - a CSRF token, HMAC-SHA-256 of a fixed label under the cookie secret: every POST form carries it, and
 *   only a page rendered for this cookie can know it (the cookie is HttpOnly). Nothing more is stored.
 * - POSTs from another site are refused outright when the browser says so (`Sec-Fetch-Site`, `Origin`).
 *
 * A missing or wrong cookie is the same `mismatch-between-session-and-access-token` problem a HAAPI
 * client gets; a cross-site POST or a missing or wrong CSRF token is a 403.
 */
import type { Context } from "hono";
import { base64url } from "jose";
import type { LoginSessionOperations, SessionBinding, SessionRecord } from "../../kv/login-session";
import type { RecordRef } from "../../kv/record";
import { cookieName, readCookie, setCookie } from "../../http/cookie";
import { hashToken } from "../../tokens/grant-tokens";
import { constantTimeEqual } from "../../verifiers/constant-time";
import type { HaapiEnv } from "./context";
import { readForm } from "./form-input";
import { CSRF_FIELD } from "./html/page";
import type { CrossSiteReason, HaapiReason } from "./reasons";
import { HaapiProblem } from "./representations";

const COOKIE = "haapi-login";
const COOKIE_VALUE = /^([0-9a-f]{64})\.([A-Za-z0-9_-]{43})$/;
const CSRF_LABEL = "haapi-edge login form";

/** `__Host-haapi-login` when the issuer is https, `haapi-login` otherwise. */
export function loginCookieName(issuer: string): string {
  return cookieName(COOKIE, issuer);
}

/** The Set-Cookie value; Max-Age 0 clears it. */
export function loginCookie(issuer: string, value: string, maxAge: number): string {
  return setCookie(COOKIE, issuer, value, maxAge);
}

/** The session id and secret in a Cookie header, or null (absent, or not a value this server sets). */
export function parseLoginCookie(
  cookieHeader: string | undefined,
  issuer: string,
): { sessionId: string; secret: string } | null {
  const value = readCookie(cookieHeader, loginCookieName(issuer));
  const match = value ? COOKIE_VALUE.exec(value) : null;
  return match ? { sessionId: match[1]!, secret: match[2]! } : null;
}

/** The CSRF token of the session whose cookie holds `secret`. */
export async function csrfToken(secret: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return base64url.encode(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(CSRF_LABEL))));
}

/** A new browser binding for a session: the cookie value to set, what the session stores, the CSRF token. */
export async function newBrowserBinding(
  sessionId: string,
): Promise<{ cookieValue: string; binding: SessionBinding; csrf: string }> {
  const secret = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  return {
    cookieValue: `${sessionId}.${secret}`,
    binding: { kind: "browser", cookie_hash: await hashToken(secret) },
    csrf: await csrfToken(secret),
  };
}

/** Why a POST is not from a page of this server, by what the browser reports; null when nothing says so. */
export function crossSiteReason(
  headers: { secFetchSite?: string; origin?: string },
  issuer: string,
): CrossSiteReason | null {
  const site = headers.secFetchSite;
  if (site !== undefined && site !== "same-origin")
    return site === "cross-site" || site === "same-site" || site === "none"
      ? `sec_fetch_site_${site}`
      : "sec_fetch_site_unknown";
  if (headers.origin !== undefined && headers.origin !== new URL(issuer).origin) return "origin_mismatch";
  return null;
}

export function forbidden(reason: HaapiReason): HaapiProblem {
  return new HaapiProblem(
    "generic-user-error",
    "This form has expired or was not sent from the login page; start the login again",
    {},
    { status: 403, reason },
  );
}

function mismatch(reason: HaapiReason): HaapiProblem {
  return new HaapiProblem(
    "mismatch-between-session-and-access-token",
    "The login session has expired or belongs to another browser; start the login again",
    {},
    { reason },
  );
}

/**
 * The session the login cookie names, checked against its stored hash; for a POST, first the same-origin
 * check and then the CSRF token of the form. Sets `csrf` for the page that answers.
 */
export async function loadBrowserSession(
  c: Context<HaapiEnv>,
): Promise<{ session: SessionRecord; ref: RecordRef<LoginSessionOperations> }> {
  const issuer = c.get("config").issuer;
  const post = c.req.method === "POST";
  if (post) {
    const crossSite = crossSiteReason(
      { secFetchSite: c.req.header("Sec-Fetch-Site"), origin: c.req.header("Origin") },
      issuer,
    );
    if (crossSite) throw forbidden(crossSite);
  }
  const cookie = parseLoginCookie(c.req.header("Cookie"), issuer);
  if (!cookie)
    throw mismatch(c.req.header("Cookie")?.includes(loginCookieName(issuer)) ? "cookie_malformed" : "cookie_missing");
  const ref = c.get("stores").loginSessions.byId(cookie.sessionId);
  const session = ref ? await ref.run("read", null, c.get("now")) : null;
  if (!ref || !session) throw mismatch("session_unknown_or_expired");
  if (session.binding?.kind !== "browser") throw mismatch("session_not_a_browser_session");
  if (!constantTimeEqual(await hashToken(cookie.secret), session.binding.cookie_hash))
    throw mismatch("cookie_secret_mismatch");
  const csrf = await csrfToken(cookie.secret);
  c.set("session", session);
  c.set("csrf", csrf);
  if (post) {
    const presented = (await readForm(c, () => forbidden("csrf_form_not_urlencoded"))).get(CSRF_FIELD);
    if (presented === undefined) throw forbidden("csrf_token_missing");
    if (!constantTimeEqual(presented, csrf)) throw forbidden("csrf_token_mismatch");
  }
  return { session, ref };
}
