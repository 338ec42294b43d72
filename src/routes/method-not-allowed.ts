/**
 * 405 Method Not Allowed with `Allow` (RFC 9110 §15.5.6), built from a sub-app's own route table: every
 * path the sub-app registers refuses the methods it does not serve with the sub-app's own error, so the
 * sub-app's `onError` answers in its format. Call it on a sub-app once its routes are all in, before it
 * is mounted. CORS preflights (OPTIONS) are answered where they are registered and are not listed in
 * `Allow`; HEAD is served by GET (Hono).
 */
import type { Env, Hono, Schema } from "hono";
import { type AppError, OAuthError } from "../errors";

/** `ALL` entries are middleware (and these 405 answers); OPTIONS are CORS preflights. */
const NOT_LISTED = new Set(["ALL", "OPTIONS"]);

/** The `Allow` value of each path in a route table: its methods, in the order they were registered. */
export function allowedMethods(
  routes: readonly { readonly method: string; readonly path: string }[],
): Map<string, string> {
  const byPath = new Map<string, string[]>();
  for (const { method, path } of routes) {
    if (NOT_LISTED.has(method)) continue;
    const methods = byPath.get(path) ?? [];
    if (!methods.includes(method)) methods.push(method);
    byPath.set(path, methods);
  }
  return new Map([...byPath].map(([path, methods]) => [path, methods.join(", ")]));
}

/** The OAuth endpoints' 405: `method_not_allowed`. */
export function oauthMethodNotAllowed(allow: string): AppError {
  return new OAuthError("method_not_allowed", `use ${allow}`, {
    reason: "method_not_allowed",
    headers: { Allow: allow },
  });
}

/** Answer every other method of `app`'s paths with `refuse(allow)`; returns `app`. */
export function refuseOtherMethods<E extends Env, S extends Schema, B extends string>(
  app: Hono<E, S, B>,
  refuse: (allow: string) => AppError = oauthMethodNotAllowed,
): Hono<E, S, B> {
  for (const [path, allow] of allowedMethods(app.routes)) {
    app.all(path, () => {
      throw refuse(allow);
    });
  }
  return app;
}
