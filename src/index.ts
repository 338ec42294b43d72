/**
 * The Worker: the HTTP application and the Durable Object classes. The only barrel.
 *
 * The configuration (and SIGNING_KEYS, when set) is validated when the Worker starts, so a bad
 * field stops `wrangler dev` / `wrangler deploy` with its path instead of failing requests later.
 */
import { env } from "cloudflare:workers";
import { createApp } from "./app";
import { configFor } from "./config/load";
import { parseSigningKeys } from "./config/signing-keys";
import type { Env } from "./env";
import { writeLog } from "./log";

export { DynamicClientStore } from "./kv/dynamic-client";
export { Grant } from "./kv/grant";
export { KeyManager } from "./kv/key-manager";
export { LoginSession } from "./kv/login-session";
export { UserStore } from "./kv/user-store";
export { UafTransaction } from "./kv/uaf-transaction";
export { UafUser } from "./kv/uaf-user";
export { WebSession } from "./kv/web-session";
export { RateLimiter } from "./kv/rate-limiter";
export { ReplayGuard } from "./kv/replay-guard";

const startupEnv = env as unknown as Env;
const config = configFor(startupEnv.CONFIG);
if (startupEnv.SIGNING_KEYS) parseSigningKeys(startupEnv.SIGNING_KEYS);
if (startupEnv.SERVER_SECRET !== undefined && startupEnv.SERVER_SECRET.length < 32) {
  throw new Error("SERVER_SECRET: must be at least 32 characters");
}
if (config.environment === "development") {
  writeLog(config.logging.level, "warn", { msg: "running the development configuration profile: plain-text client secrets are accepted", issuer: config.issuer });
}

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
