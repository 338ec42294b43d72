/** GET /oauth/v2/oauth-jwks: the public signing keys (next, current and still-needed retired ones). */
import { Hono } from "hono";
import type { AppEnv } from "./context";
import { refuseOtherMethods } from "./method-not-allowed";
import { keysFor } from "./services";

export const JWKS_PATH = "/oauth/v2/oauth-jwks";

export const jwksRoute = refuseOtherMethods(
  new Hono<AppEnv>().get(JWKS_PATH, async (c) => {
    const keys = await keysFor(c);
    return c.json(keys.jwks, 200, { "Cache-Control": "public, max-age=300" });
  }),
);
