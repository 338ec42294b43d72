/**
 * The HTTP application: per-request context and its log line, the sub-apps, and the answer for what no
 * sub-app answers.
 * It runs on any runtime: the runtime's entry point passes `runtimeOf`, which gives each request its
 * configuration, stores, secrets and assets (src/runtime.ts).
 */
import { Hono } from "hono";
import { isBundledDevelopment, isLoopbackHost } from "./config/load";
import { OAuthError } from "./errors";
import { writeLog } from "./log";
import type { AppEnv } from "./routes/context";
import { oauthErrorHandler } from "./routes/error-handler";
import { jwksRoute } from "./routes/jwks";
import { metadataRoute } from "./routes/metadata";
import { tokenRoute } from "./routes/token";
import { catRoute } from "./routes/cat";
import { registrationRoute } from "./routes/registration";
import { haapiRoute } from "./routes/haapi";
import { userinfoRoute } from "./routes/userinfo";
import { revokeRoute } from "./routes/revoke";
import { introspectRoute } from "./routes/introspect";
import { uafRoute } from "./routes/uaf";
import type { RuntimeOf } from "./runtime";

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
    // The bundled development configuration's secrets are public: it answers loopback addresses only.
    if (isBundledDevelopment(config) && !isLoopbackHost(new URL(c.req.url).hostname)) {
      const refusal = new OAuthError("server_error", "this server has no configuration (CONFIG)", {
        reason: "development_configuration_exposed",
      });
      writeLog(config.logging.level, "error", {
        msg: "request",
        ...log,
        ...refusal.logFields(),
        reason: refusal.reason,
        status: refusal.status,
      });
      return refusal.toResponse();
    }
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

  // Each sub-app answers its own errors and wrong methods (its onError, src/routes/method-not-allowed.ts);
  // what is left is an unknown path, or a fault outside any sub-app: OAuth JSON.
  app.notFound((c) => oauthErrorHandler(new OAuthError("not_found", "no such endpoint", { reason: "no_route" }), c));
  app.onError(oauthErrorHandler);

  return app;
}
