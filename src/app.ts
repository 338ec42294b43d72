/**
 * The HTTP application: per-request context, the routes, and the one place errors become responses.
 * It runs on any runtime: the runtime's entry point passes `runtimeOf`, which gives each request its
 * configuration, stores, secrets and assets (src/runtime.ts).
 */
import { Hono, type Context } from "hono";
import { asOAuthError, errorResponse, OAuthError } from "./errors";
import { writeLog } from "./log";
import type { AppEnv } from "./routes/context";
import { jwksRoute, JWKS_PATH } from "./routes/jwks";
import { metadataRoute } from "./routes/metadata";
import { tokenRoute, TOKEN_PATH } from "./routes/token";
import { catRoute, CAT_PATH } from "./routes/cat";
import { registrationRoute, REGISTRATION_PATH } from "./routes/registration";
import { HaapiProblem } from "./routes/haapi/representations";
import { haapiRoute, AUTHORIZE_PATH, isHaapiPath, flowProblemResponse } from "./routes/haapi";
import { userinfoRoute, USERINFO_PATH } from "./routes/userinfo";
import { revokeRoute, REVOKE_PATH } from "./routes/revoke";
import { introspectRoute, INTROSPECT_PATH } from "./routes/introspect";
import { isUafServicePath, uafRoute } from "./routes/uaf";
import { serverResponse, UafError, UAF_STATUS } from "./routes/uaf/uaf-error";
import type { RuntimeOf } from "./runtime";
import { StoreBusyError } from "./kv/ports";

/** Paths and the methods they answer, for 405 responses. */
const ALLOWED_METHODS: Record<string, string> = {
  [TOKEN_PATH]: "POST",
  [CAT_PATH]: "GET, POST",
  [JWKS_PATH]: "GET",
  [REGISTRATION_PATH]: "POST",
  [AUTHORIZE_PATH]: "GET",
  [USERINFO_PATH]: "GET, POST",
  [REVOKE_PATH]: "POST",
  [INTROSPECT_PATH]: "POST",
  "/.well-known/oauth-authorization-server": "GET",
  "/.well-known/openid-configuration": "GET",
};

/** The one place an error becomes a response; the precise reason goes to the request's log line. */
async function respondWithError(c: Context<AppEnv>, thrown: unknown): Promise<Response> {
  // A busy store is a 503 with Retry-After on every path (ports.ts), not a fault.
  const error = thrown instanceof StoreBusyError ? asOAuthError(thrown) : thrown;
  // The UAF services answer ServerResponses: their own errors, and any other one at their paths.
  if (error instanceof UafError || (isUafServicePath(c.req.path) && !(error instanceof HaapiProblem))) {
    const uaf = error instanceof UafError ? error : uafErrorOf(error);
    const log = c.get("log") ?? {};
    log.uaf_status = uaf.statusCode;
    log.reason = uaf.reason;
    if (uaf.statusCode >= 1500 && error instanceof Error && error.stack) log.stack = error.stack;
    return serverResponse(uaf);
  }
  if (error instanceof HaapiProblem) {
    const log = c.get("log") ?? {};
    log.problem = error.type;
    log.reason = error.reason;
    // JSON for a HAAPI app, an HTML page (or the redirect) for a browser.
    return flowProblemResponse(c, error);
  }
  // A bug inside the HAAPI flow is still a representation the app can show: the `unexpected` problem.
  if (!(error instanceof OAuthError) && isHaapiPath(c.req.path)) {
    const log = c.get("log") ?? {};
    log.problem = "unexpected";
    log.reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    if (error instanceof Error && error.stack) log.stack = error.stack;
    return flowProblemResponse(c, new HaapiProblem("unexpected", "Something went wrong; start the login again"));
  }
  const oauthError = asOAuthError(error);
  const log = c.get("log") ?? {};
  log.error = oauthError.code;
  log.reason = oauthError.reason;
  if (oauthError.detail) log.detail = oauthError.detail;
  if (oauthError.status >= 500 && error instanceof Error && error.stack) log.stack = error.stack;
  return errorResponse(oauthError);
}

/** An error at a UAF service that is not a UafError: a refused OAuth-level check keeps its status class. */
function uafErrorOf(error: unknown): UafError {
  if (error instanceof OAuthError) {
    const code =
      error.status === 401
        ? UAF_STATUS.UNAUTHORIZED
        : error.status === 403
          ? UAF_STATUS.FORBIDDEN
          : error.status === 404
            ? UAF_STATUS.NOT_FOUND
            : error.status >= 500
              ? UAF_STATUS.INTERNAL_SERVER_ERROR
              : UAF_STATUS.BAD_REQUEST;
    return new UafError(
      code,
      error.description,
      `${error.code}: ${error.reason}`,
      error.headers,
      error.status === 503 ? 503 : undefined,
    );
  }
  return new UafError(
    UAF_STATUS.INTERNAL_SERVER_ERROR,
    "Internal server error",
    error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  );
}

export function createApp(runtimeOf: RuntimeOf): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  // Context for every request, and its one log line.
  app.use(async (c, next) => {
    const started = performance.now();
    const log: Record<string, unknown> = { method: c.req.method, path: c.req.path };
    c.set("log", log);
    c.set("now", Math.floor(Date.now() / 1000));
    const runtime = runtimeOf(c.env);
    const config = runtime.config;
    c.set("config", config);
    c.set("stores", runtime.stores);
    c.set("secrets", runtime.secrets);
    c.set("webCatScript", runtime.webCatScript);
    await next();
    c.header("Date", new Date(c.get("now") * 1000).toUTCString());
    const status = c.res.status;
    const ray = c.req.header("cf-ray");
    writeLog(config.logging.level, status >= 500 ? "error" : status >= 400 ? "warn" : "info", {
      msg: "request",
      ...log,
      status,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      ...(ray ? { ray } : {}),
    });
  });

  app.route("/", metadataRoute);
  app.route("/", jwksRoute);
  app.route("/", tokenRoute);
  app.route("/", catRoute);
  app.route("/", registrationRoute);
  app.route("/", haapiRoute);
  app.route("/", userinfoRoute);
  app.route("/", revokeRoute);
  app.route("/", introspectRoute);
  app.route("/", uafRoute);

  app.notFound((c) => {
    const allowed = ALLOWED_METHODS[c.req.path];
    const error = allowed
      ? new OAuthError("method_not_allowed", `use ${allowed}`, { headers: { Allow: allowed } })
      : new OAuthError("not_found", "no such endpoint");
    return respondWithError(c, error);
  });

  app.onError((error, c) => respondWithError(c, error));

  return app;
}
