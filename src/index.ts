/**
 * The Workers entry point: the HTTP application on the Worker's bindings, and the Durable Object classes
 * (thin hosts of the record kinds, src/kv/workers/). The only barrel for Workers, and with its adapters
 * the only code that knows it runs on Workers.
 *
 * The configuration (and SIGNING_KEYS, when set) is validated when the Worker starts, so a bad field
 * stops `wrangler dev` / `wrangler deploy` with its path instead of failing requests later.
 */
import { env } from "cloudflare:workers";
import { createApp } from "./app";
import { configFor } from "./config/load";
import { parseSigningKeys } from "./config/signing-keys";
import type { Env } from "./env";
import { workersStores } from "./kv/workers/stores";
import { writeLog } from "./log";
// Bundled as text (wrangler.toml [[rules]] Text): served to browsers, never run here.
import WEB_CAT_SCRIPT from "./routes/cat/web-cat.client.js";
import type { Runtime } from "./runtime";

// Every Durable Object class wrangler.toml binds must be exported by the main module.
export * from "./kv/workers/classes";
export { ReplayGuard } from "./kv/workers/replay-guard";

const startupEnv = env as unknown as Env;
const config = configFor(startupEnv.CONFIG);
if (startupEnv.SIGNING_KEYS) parseSigningKeys(startupEnv.SIGNING_KEYS);
if (startupEnv.SERVER_SECRET !== undefined && startupEnv.SERVER_SECRET.length < 32) {
  throw new Error("SERVER_SECRET: must be at least 32 characters");
}
if (config.environment === "development") {
  writeLog(config.logging.level, "warn", {
    msg: "running the development configuration profile: plain-text client secrets are accepted",
    issuer: config.issuer,
  });
}

const runtimes = new WeakMap<object, Runtime>();

/** A request's runtime, from its bindings (the same object for every request of an isolate; tests pass others). */
export function workersRuntime(bindings: Env): Runtime {
  let runtime = runtimes.get(bindings);
  if (!runtime) {
    runtime = {
      config: configFor(bindings.CONFIG),
      stores: workersStores(bindings),
      secrets: {
        signingKeys: bindings.SIGNING_KEYS,
        serverSecret: bindings.SERVER_SECRET,
        fcmServiceAccount: bindings.FCM_SERVICE_ACCOUNT,
      },
      webCatScript: WEB_CAT_SCRIPT,
    };
    runtimes.set(bindings, runtime);
  }
  return runtime;
}

const app = createApp((bindings) => workersRuntime(bindings as Env));

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
