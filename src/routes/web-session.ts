/**
 * The browser session cookie (`haapi-session`, `__Host-haapi-session` on https): `<session id>.<secret>`,
 * `HttpOnly`, `SameSite=Lax`, `Path=/`. Set when a browser login finishes; read by the FIDO UAF services'
 * cookie authorization. Storage is a web-session record (src/kv/web-session.ts).
 */
import type { Context } from "hono";
import { base64url } from "jose";
import type { AuthenticatedUser } from "../kv/login-session";
import type { WebSessionRecord } from "../kv/web-session";
import { cookieName, readCookie, setCookie } from "../http/cookie";
import { hashToken } from "../tokens/grant-tokens";
import type { AppEnv } from "./context";

const COOKIE = "haapi-session";
const COOKIE_VALUE = /^([0-9a-f]{64})\.([A-Za-z0-9_-]{43})$/;

export function sessionCookieName(issuer: string): string {
  return cookieName(COOKIE, issuer);
}

/** Start a browser session for `user`; returns the Set-Cookie value, or null when sessions are off. */
export async function startWebSession(c: Context<AppEnv>, user: AuthenticatedUser): Promise<string | null> {
  const config = c.get("config");
  const ttl = config.login.web_session_ttl;
  if (ttl === 0) return null;
  const now = c.get("now");
  const secret = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  const ref = c.get("stores").webSessions.fresh();
  const id = ref.id;
  await ref.run(
    "create",
    {
      id,
      secret_hash: await hashToken(secret),
      sub: user.sub,
      username: user.username,
      acr: user.acr,
      amr: user.amr,
      auth_time: user.auth_time,
      created_at: now,
      expires_at: now + ttl,
    },
    now,
  );
  return setCookie(COOKIE, config.issuer, `${id}.${secret}`, ttl);
}

/** Whether the Cookie header carries a session cookie at all (well-formed or not). */
export function hasSessionCookie(cookieHeader: string | undefined, issuer: string): boolean {
  return readCookie(cookieHeader, sessionCookieName(issuer)) !== undefined;
}

/** The live session the Cookie header names, or null. */
export async function webSessionOf(
  c: Context<AppEnv>,
  cookieHeader: string | undefined,
): Promise<WebSessionRecord | null> {
  const value = readCookie(cookieHeader, sessionCookieName(c.get("config").issuer));
  const match = value ? COOKIE_VALUE.exec(value) : null;
  if (!match) return null;
  return (
    (await c
      .get("stores")
      .webSessions.byId(match[1]!)
      ?.run("read", await hashToken(match[2]!), c.get("now"))) ?? null
  );
}

/** Whether the session `id` (from the server's own sealed data, never from a cookie) is still live. */
export async function isWebSessionLive(c: Context<AppEnv>, id: string): Promise<boolean> {
  return (await c.get("stores").webSessions.byId(id)?.run("isLive", null, c.get("now"))) ?? false;
}
