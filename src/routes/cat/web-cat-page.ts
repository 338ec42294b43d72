/**
 * The web driver's CAT iframe: the third representation of the CAT endpoint. A browser app's driver
 * frames `GET <token endpoint>/cat?client_id=X` (a navigation: `Accept: text/html`); the page's script
 * (web-cat.client.js, served from CAT_SCRIPT_PATH; the runtime gives its text) holds the DPoP key, attests the embedding origin,
 * gets the CAT and the HAAPI token, and makes the app's HAAPI calls, speaking the driver's postMessage
 * protocol. The app's page never sees a token or a key.
 *
 * What the browser enforces for us, and so what web attestation rests on:
 * - CSP `frame-ancestors` with the client's allowed origins: no other site can frame the page;
 * - `script-src` with this response's nonce (and the script's SRI hash): nothing else runs in it;
 * - `connect-src 'self'`: the page talks to this server only.
 * A client without web attestation, or an unknown one, gets an error page nobody may frame.
 */
import type { Context } from "hono";
import type { Client, Config } from "../../config/load";
import { HAAPI_SCOPE } from "../../protocol";
import { AUTHN_PATH, AUTHORIZE_PATH } from "../haapi/context";
import { html, SafeHtml } from "../haapi/html/escape";
import type { AppEnv } from "../context";

export const CAT_SCRIPT_PATH = "/oauth/v2/oauth-token/cat/web-cat.js";

/** What the page's script is told (the JSON in `#web-cat-config`). */
export interface WebCatConfig {
  readonly clientId: string;
  readonly catEndpoint: string;
  readonly tokenEndpoint: string;
  /** Origins that may frame the page and talk to it (URL.origin form). */
  readonly allowedOrigins: readonly string[];
  /** The HAAPI paths the page makes calls to: exactly these, or under these prefixes (same origin only). */
  readonly apiPaths: readonly string[];
  readonly apiPrefixes: readonly string[];
  readonly scope: string;
  readonly debug: boolean;
}

const integrities = new Map<string, Promise<string>>();

/** The script's SRI hash (sha256-<base64>), computed once per script text. */
function scriptIntegrity(script: string): Promise<string> {
  let integrity = integrities.get(script);
  if (!integrity) {
    integrity = crypto.subtle
      .digest("SHA-256", new TextEncoder().encode(script))
      .then((digest) => `sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}`);
    integrities.set(script, integrity);
  }
  return integrity;
}

/** JSON that is safe inside a `<script type="application/json">` element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Whether a GET of the CAT endpoint is a browser navigation (HTML) rather than the JSON challenge. */
export function wantsCatPage(accept: string | undefined): boolean {
  return (accept ?? "")
    .toLowerCase()
    .split(",")
    .map((part) => part.split(";").map((piece) => piece.trim()))
    .some(([type, ...params]) => type === "text/html" && !params.some((param) => /^q=0(\.0{0,3})?$/.test(param)));
}

function pageConfig(config: Config, client: Client, debug: boolean): WebCatConfig {
  return {
    clientId: client.client_id,
    catEndpoint: config.endpoints.cat,
    tokenEndpoint: config.endpoints.token,
    allowedOrigins: client.attestation!.web!.allowed_origins.map((origin) => new URL(origin).origin),
    apiPaths: [AUTHORIZE_PATH],
    apiPrefixes: [`${AUTHN_PATH}/`],
    scope: HAAPI_SCOPE,
    debug,
  };
}

function errorPage<E extends AppEnv>(c: Context<E>, status: 400, message: string): Response {
  const body = html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>haapi-edge</title></head><body><p>${message}</p></body></html>`;
  return c.html(body.value, status, {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
  });
}

/** GET (HTML): the iframe page for the client named by `client_id`. */
export async function webCatPage<E extends AppEnv>(c: Context<E>): Promise<Response> {
  const config = c.get("config");
  const query = new URL(c.req.url).searchParams;
  const ids = query.getAll("client_id");
  const client = ids.length === 1 && ids[0] ? config.clientsById.get(ids[0]) : undefined;
  c.get("log").client_id = client?.client_id ?? ids[0]?.slice(0, 100) ?? null;
  c.get("log").page = "web-cat";
  if (!client?.attestation?.web) {
    c.get("log").reason = client ? "client_without_web_attestation" : "unknown_client";
    return errorPage(c, 400, client ? "This client is not configured for web attestation." : "Unknown client.");
  }
  const settings = pageConfig(config, client, query.get("debug") === "true");
  const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    `frame-ancestors ${settings.allowedOrigins.join(" ")}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<title>haapi-edge web attestation</title>
<script type="application/json" id="web-cat-config">${new SafeHtml(scriptJson(settings))}</script>
<script src="${CAT_SCRIPT_PATH}" integrity="${await scriptIntegrity(c.get("webCatScript"))}" nonce="${nonce}"></script>
</head>
<body></body>
</html>`;
  return c.html(page.value, 200, {
    "Content-Security-Policy": csp,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
  });
}

/** GET CAT_SCRIPT_PATH: the page's script. */
export function webCatScript<E extends AppEnv>(c: Context<E>): Response {
  return c.body(c.get("webCatScript"), 200, {
    "Content-Type": "text/javascript; charset=utf-8",
    "Cache-Control": "public, max-age=300",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "same-origin",
  });
}
