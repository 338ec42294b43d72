/**
 * HTML answers of the login flow: the page, and the headers every page carries.
 *
 * - `Content-Security-Policy`: no script, no frame, inline style only. `form-action` lists this origin and
 *   the client's redirect URI: Chrome applies `form-action` to the redirect that follows a form POST
 *   (w3c/webappsec-csp#8), and the last POST of the flow is answered with a 303 to the redirect URI.
 * - `Referrer-Policy: same-origin`, not `no-referrer`: with `no-referrer` a browser sends `Origin: null`
 *   on form POSTs (Fetch, "serializing a request origin"), and the CSRF defence checks `Origin`. Nothing
 *   leaves for another origin either way.
 * - `X-Frame-Options: DENY` (older browsers), `nosniff`, `Cache-Control: no-store`.
 */
import type { Context } from "hono";
import type { Config } from "../../../config/load";
import type { SessionRecord } from "../../../kv/login-session";
import type { HaapiEnv } from "../context";
import type { Representation } from "../representations";
import { renderPage, type PageOptions } from "./page";

/** CSP sources for where this page's forms may lead: the issuer, and the redirect URI the flow ends at. */
export function formActionSources(issuer: string, redirectUri: string | undefined): string {
  const sources = ["'self'", new URL(issuer).origin];
  if (redirectUri !== undefined) {
    const target = new URL(redirectUri);
    // An http(s) URI by its origin; an app scheme (RFC 8252 §7.1) by its scheme.
    sources.push(target.protocol === "https:" || target.protocol === "http:" ? target.origin : target.protocol);
  }
  return [...new Set(sources)].join(" ");
}

export function htmlHeaders(config: Config, session: SessionRecord | undefined): Record<string, string> {
  return {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    Pragma: "no-cache",
    "Content-Security-Policy": `default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action ${formActionSources(config.issuer, session?.request.redirect_uri)}; frame-ancestors 'none'; base-uri 'none'`,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
  };
}

/** A representation as the HTML page of this request's session. */
export function htmlPage(
  c: Context<HaapiEnv>,
  representation: Representation,
  status = 200,
  options: Omit<PageOptions, "csrf"> = {},
): Response {
  const csrf = c.get("csrf");
  return c.body(
    renderPage(representation, { ...options, ...(csrf ? { csrf } : {}) }),
    status as 200,
    htmlHeaders(c.get("config"), c.get("session")),
  );
}
