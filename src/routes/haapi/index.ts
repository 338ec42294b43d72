/**
 * The login flow (protocols/haapi.md): the authorize endpoint, then the authenticator steps. HAAPI apps
 * get JSON representations; browsers (`Accept: text/html`) get the same steps as HTML pages.
 *
 *   GET /oauth/v2/oauth-authorize   noStore -> negotiate -> haapiToken (HAAPI only) -> startFlow
 *   /authn/...                      negotiate -> haapiToken (HAAPI only) -> loadSession -> the step (authenticators.ts)
 */
import { Hono } from "hono";
import { noStore } from "../no-store";
import { startFlow } from "./authorize";
import { authenticatorRoutes } from "./authenticators";
import { AUTHN_PATH, AUTHORIZE_PATH, type HaapiEnv } from "./context";
import { haapiToken, negotiate } from "./guard";

export { AUTHORIZE_PATH };
export { flowProblemResponse } from "./respond-problem";

/** Requests of the flow, whose errors are problem representations. */
export function isHaapiPath(path: string): boolean {
  return path === AUTHORIZE_PATH || path.startsWith(`${AUTHN_PATH}/`);
}

export const haapiRoute = new Hono<HaapiEnv>()
  .get(AUTHORIZE_PATH, noStore, negotiate, haapiToken, startFlow)
  .route("/", authenticatorRoutes);
