/**
 * CORS (Fetch standard, "CORS protocol") for the endpoints a browser app calls from its own page: the
 * token endpoint (a public client redeeming its code with PKCE), userinfo and revocation.
 *
 * Allowed origins are those of the clients' `attestation.web.allowed_origins`: the origins browser apps
 * are configured to run on. A request from one of them gets `Access-Control-Allow-Origin` (its origin,
 * never `*`, and never credentials: these endpoints use no cookies) with `DPoP-Nonce` and
 * `WWW-Authenticate` exposed, so the app can retry with a nonce (RFC 9449 §8, §9). A preflight from one
 * of them is allowed `Authorization`, `DPoP` and `Content-Type`. Any other origin gets no CORS header at
 * all (its preflight a 403), so the browser keeps the answer from the page.
 *
 * HAAPI itself needs none of this: the web driver's iframe is same-origin with the server.
 */
import type { Config } from "../config/load";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./context";

const ALLOW_HEADERS = "Authorization, DPoP, Content-Type";
const EXPOSE_HEADERS = "DPoP-Nonce, WWW-Authenticate";
/** How long a browser may cache a preflight's answer, seconds. */
const MAX_AGE = "600";

const originsByConfig = new WeakMap<Config, ReadonlySet<string>>();

/** Every origin a configured browser app runs on (scheme://host:port, as URL.origin spells it). */
export function browserOrigins(config: Config): ReadonlySet<string> {
  let origins = originsByConfig.get(config);
  if (!origins) {
    origins = new Set(
      config.clients
        .flatMap((client) => client.attestation?.web?.allowed_origins ?? [])
        .map((origin) => new URL(origin).origin),
    );
    originsByConfig.set(config, origins);
  }
  return origins;
}

/** The request's Origin, when it is an allowed browser app's; otherwise null. */
function allowedOrigin(config: Config, origin: string | undefined): string | null {
  return origin !== undefined && browserOrigins(config).has(origin) ? origin : null;
}

/** Step: CORS headers on the actual response (errors included) for an allowed origin. */
export const corsResponse = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  c.res.headers.append("Vary", "Origin");
  const origin = allowedOrigin(c.get("config"), c.req.header("Origin"));
  if (origin === null) return;
  c.res.headers.set("Access-Control-Allow-Origin", origin);
  c.res.headers.set("Access-Control-Expose-Headers", EXPOSE_HEADERS);
});

/** The answer to a preflight (OPTIONS) for an endpoint serving `methods`. */
export function corsPreflight(methods: string) {
  return createMiddleware<AppEnv>(async (c) => {
    const origin = allowedOrigin(c.get("config"), c.req.header("Origin"));
    c.get("log").cors_origin = c.req.header("Origin")?.slice(0, 200) ?? null;
    if (origin === null) return c.body(null, 403, { Vary: "Origin" });
    return c.body(null, 204, {
      "Access-Control-Allow-Origin": origin,
      "Access-Control-Allow-Methods": methods,
      "Access-Control-Allow-Headers": ALLOW_HEADERS,
      "Access-Control-Max-Age": MAX_AGE,
      Vary: "Origin",
    });
  });
}
