/**
 * The Deno entry point: the same HTTP application as on Workers, on Deno KV. The only code (with its
 * adapters, src/kv/deno/) that knows it runs on Deno.
 *
 *   npm run start:deno        serves the development configuration on http://127.0.0.1:8787
 *
 * Environment (docs/deno.md):
 * - `CONFIG` (the configuration JSON) or `CONFIG_FILE` (a file holding it); neither: the development
 *   configuration. An invalid field stops the start with its path, as on Workers.
 * - Secrets: `SIGNING_KEYS`, `SERVER_SECRET`, `FCM_SERVICE_ACCOUNT`.
 * - `PORT` (8787) and `HOST` (127.0.0.1; on Deno Deploy, Deploy's own).
 * - `SOURCE_ADDRESS_HEADER`: behind a reverse proxy, the header it writes the client's address in
 *   (X-Real-IP, X-Forwarded-For); otherwise the connection's peer is the client (src/http/source-address.ts).
 * - `DENO_KV_URL` (+ `DENO_KV_ACCESS_TOKEN`), or `DENO_KV_PATH` (default `.deno-kv/haapi-edge.sqlite3`).
 */
import { createApp } from "./app";
import { ConfigError, configFor, isBundledDevelopment, isLoopbackHost } from "./config/load";
import { parseSigningKeys } from "./config/signing-keys";
import { sourceHeaderProblem, withSourceAddress } from "./http/source-address";
import { denoKvStores } from "./kv/deno/stores";
import { kvLocation, openDenoKv } from "./kv/deno/open";
import { writeLog } from "./log";
import type { Runtime } from "./runtime";

const env = (name: string): string | undefined => Deno.env.get(name);

/** The configuration document: CONFIG, or the file CONFIG_FILE names, or none (the development one). */
async function configDocument(): Promise<unknown> {
  const inline = env("CONFIG");
  const file = env("CONFIG_FILE");
  if (inline !== undefined && file !== undefined)
    throw new ConfigError(["CONFIG_FILE: give either CONFIG or CONFIG_FILE, not both"]);
  if (file === undefined) return inline;
  try {
    return await Deno.readTextFile(file);
  } catch (error) {
    throw new ConfigError([
      `CONFIG_FILE: cannot read ${JSON.stringify(file)} (${error instanceof Error ? error.message : String(error)})`,
    ]);
  }
}

async function start(): Promise<void> {
  const config = configFor(await configDocument());
  const secrets = {
    signingKeys: env("SIGNING_KEYS"),
    serverSecret: env("SERVER_SECRET"),
    fcmServiceAccount: env("FCM_SERVICE_ACCOUNT"),
  };
  if (secrets.signingKeys) parseSigningKeys(secrets.signingKeys);
  if (secrets.serverSecret !== undefined && secrets.serverSecret.length < 32)
    throw new ConfigError(["SERVER_SECRET: must be at least 32 characters"]);
  const proxyHeader = env("SOURCE_ADDRESS_HEADER") || undefined;
  const headerProblem = proxyHeader === undefined ? null : sourceHeaderProblem(proxyHeader);
  if (headerProblem) throw new ConfigError([`SOURCE_ADDRESS_HEADER: ${headerProblem}`]);
  const kv = await openDenoKv(kvLocation(env), Deno);
  const runtime: Runtime = {
    config,
    stores: denoKvStores(kv),
    secrets,
    webCatScript: await Deno.readTextFile(new URL("./routes/cat/web-cat.client.js", import.meta.url)),
  };
  const app = createApp(() => runtime);
  if (config.environment === "development") {
    writeLog(config.logging.level, "warn", {
      msg: "running the development configuration profile: plain-text client secrets are accepted",
      issuer: config.issuer,
    });
  }
  const onDeploy = env("DENO_DEPLOY") === "true";
  const port = Number(env("PORT") ?? 8787);
  if (!Number.isInteger(port) || port <= 0 || port > 65535)
    throw new ConfigError([`PORT: must be a TCP port, got ${JSON.stringify(env("PORT"))}`]);
  const hostname = env("HOST") ?? (onDeploy ? undefined : "127.0.0.1");
  // The bundled development configuration's secrets are public: never on an address others can reach.
  if (isBundledDevelopment(config) && (hostname === undefined || !isLoopbackHost(hostname))) {
    throw new ConfigError([
      `CONFIG: not set, and the bundled development configuration listens on loopback only (HOST=${hostname ?? "Deno Deploy"}); give CONFIG or CONFIG_FILE`,
    ]);
  }
  Deno.serve(
    {
      port,
      ...(hostname ? { hostname } : {}),
      onListen: ({ hostname: host, port: listening }) =>
        writeLog(config.logging.level, "info", {
          msg: "listening",
          runtime: "deno",
          url: `http://${host}:${listening}`,
          issuer: config.issuer,
        }),
    },
    // The rate limits' client address: never what the client claims (src/http/source-address.ts).
    (request, info) =>
      app.fetch(
        withSourceAddress(request, "hostname" in info.remoteAddr ? info.remoteAddr.hostname : "unknown", proxyHeader),
      ),
  );
}

try {
  await start();
} catch (error) {
  // A configuration error names its fields; anything else is a bug worth its stack.
  console.error(error instanceof ConfigError ? error.message : error);
  Deno.exit(1);
}
