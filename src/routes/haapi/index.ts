/**
 * The login flow (Curity's Hypermedia Authentication API; docs/haapi.md): the authorize endpoint, then the authenticator steps. HAAPI apps
 * get JSON representations; browsers (`Accept: text/html`) get the same steps as HTML pages.
 *
 *   GET /oauth/v2/oauth-authorize   noStore -> negotiate -> haapiToken (HAAPI only) -> startFlow
 *   /authn/...                      negotiate -> haapiToken (HAAPI only) -> loadSession -> the step (authenticators.ts)
 */
import { Hono } from "hono";
import { errorHandler } from "../error-handler";
import { refuseOtherMethods } from "../method-not-allowed";
import { noStore } from "../no-store";
import { startFlow } from "./authorize";
import { authenticatorRoutes } from "./authenticators";
import { AUTHORIZE_PATH, type HaapiEnv } from "./context";
import { haapiToken, negotiate } from "./guard";
import { HaapiProblem } from "./representations";
import { asFlowError, renderFlowError } from "./respond-problem";

export { AUTHORIZE_PATH };

/** A wrong method on a path of the flow: a problem, with Allow. */
function methodNotAllowed(allow: string): HaapiProblem {
  return new HaapiProblem(
    "generic-user-error",
    `Use ${allow}`,
    {},
    { status: 405, reason: "method_not_allowed", headers: { Allow: allow } },
  );
}

/** Its errors are problems (JSON for an app, a page for a browser): its own onError, whatever the path. */
export const haapiRoute = refuseOtherMethods(
  new Hono<HaapiEnv>().get(AUTHORIZE_PATH, noStore, negotiate, haapiToken, startFlow).route("/", authenticatorRoutes),
  methodNotAllowed,
);
haapiRoute.onError(errorHandler(asFlowError, renderFlowError));
