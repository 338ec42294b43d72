/**
 * The HAAPI login flow (protocols/haapi.md): the authorize endpoint, then the authenticator steps.
 *
 *   GET /oauth/v2/oauth-authorize   noStore -> acceptHaapi -> haapiToken -> startFlow
 *   /authn/...                      acceptHaapi -> haapiToken -> loadSession -> the step (authenticators.ts)
 */
import { Hono } from "hono";
import { noStore } from "../no-store";
import { startFlow } from "./authorize";
import { authenticatorRoutes } from "./authenticators";
import { AUTHN_PATH, AUTHORIZE_PATH, type HaapiEnv } from "./context";
import { acceptHaapi, haapiToken } from "./guard";

export { AUTHORIZE_PATH };

/** Requests of the flow, whose errors are problem representations. */
export function isHaapiPath(path: string): boolean {
  return path === AUTHORIZE_PATH || path.startsWith(`${AUTHN_PATH}/`);
}

export const haapiRoute = new Hono<HaapiEnv>().get(AUTHORIZE_PATH, noStore, acceptHaapi, haapiToken, startFlow).route("/", authenticatorRoutes);
