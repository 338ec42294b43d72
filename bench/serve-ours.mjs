#!/usr/bin/env node
// Serves haapi-edge as deployed: the bundle `wrangler deploy --dry-run` builds, run by workerd (the
// open-source Workers runtime) with SQLite-backed Durable Objects, and nothing in front of it.
// (`wrangler dev` adds a proxying workerd, and Miniflare an entry worker, per request: that would
// measure the development tooling, about half the throughput, rather than the Worker.)
// Usage: node bench/serve-ours.mjs PORT CONFIG_JSON [INSPECTOR_PORT]   (prints "ready" when listening)
//        node bench/serve-ours.mjs PORT --floor      (bench/floor-worker.js instead: the runtime floor)
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [port, config, inspectorPort] = process.argv.slice(2);
const floor = config === "--floor";
const root = new URL("..", import.meta.url).pathname;
const outdir = mkdtempSync(join(tmpdir(), "haapi-edge-bundle-"));
if (floor) copyFileSync(join(root, "bench/floor-worker.js"), join(outdir, "index.js"));
else
  execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", outdir], {
    cwd: root,
    stdio: "ignore",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
const wranglerToml = readFileSync(join(root, "wrangler.toml"), "utf8");
const compatibilityDate = wranglerToml.match(/compatibility_date = "([^"]+)"/)[1];

// The bundle's other modules (wrangler writes them beside index.js, and index.js imports them by file
// name): the browser scripts the server serves, bundled as text by wrangler.toml's [[rules]] (Text for
// "**/*.client.js"), and as ES modules anything else that is JavaScript.
const textSuffixes = [...wranglerToml.matchAll(/\[\[rules\]\]\s*type = "Text"\s*globs = \[([^\]]*)\]/g)].flatMap(
  (match) => [...match[1].matchAll(/"\*\*\/\*([^"]+)"/g)].map((glob) => glob[1]),
);
const extraModules = readdirSync(outdir)
  .filter((file) => file !== "index.js" && !file.endsWith(".map") && file !== "README.md" && file !== "workerd.capnp")
  .map((file) => {
    if (textSuffixes.some((suffix) => file.endsWith(suffix)))
      return `(name = ${JSON.stringify(file)}, text = embed ${JSON.stringify(file)})`;
    if (/\.m?js$/.test(file)) return `(name = ${JSON.stringify(file)}, esModule = embed ${JSON.stringify(file)})`;
    throw new Error(`bench/serve-ours.mjs: the bundle has a module of a kind it does not know: ${file}`);
  });

// Durable Object storage on a memory-backed file system when there is one: the peer keeps its replay
// cache in memory, and on Cloudflare an object's storage is not on the Worker's machine.
const memoryFs = ["/dev/shm"].find((dir) => {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
});
const storage = mkdtempSync(join(memoryFs ?? tmpdir(), "haapi-edge-do-"));
const text = (value) => JSON.stringify(value); // capnp text literals use JSON string escapes

writeFileSync(
  join(outdir, "workerd.capnp"),
  `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "storage", disk = (path = ${text(storage)}, writable = true)),
  ],
  sockets = [ (name = "http", address = ${text(`127.0.0.1:${port}`)}, http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "index.js", esModule = embed "index.js")${extraModules.map((module) => `, ${module}`).join("")} ],
  compatibilityDate = ${text(compatibilityDate)},
${
  floor
    ? `bindings = [ (name = "GUARD", durableObjectNamespace = "FloorReplayGuard") ],
  durableObjectNamespaces = [ (className = "FloorReplayGuard", uniqueKey = "haapi-edge-floor", enableSql = true) ],`
    : `bindings = [
    (name = "CONFIG", text = ${text(config)}),
    (name = "REPLAY_GUARD", durableObjectNamespace = "ReplayGuard"),
    (name = "KEY_MANAGER", durableObjectNamespace = "KeyManager"),
    (name = "DYNAMIC_CLIENTS", durableObjectNamespace = "DynamicClientStore"),
    (name = "RATE_LIMITER", durableObjectNamespace = "RateLimiter"),
    (name = "LOGIN_SESSIONS", durableObjectNamespace = "LoginSession"),
    (name = "GRANTS", durableObjectNamespace = "Grant"),
    (name = "USERS", durableObjectNamespace = "UserStore"),
    (name = "UAF_USERS", durableObjectNamespace = "UafUser"),
    (name = "UAF_TRANSACTIONS", durableObjectNamespace = "UafTransaction"),
    (name = "WEB_SESSIONS", durableObjectNamespace = "WebSession"),
  ],
  durableObjectNamespaces = [
    (className = "ReplayGuard", uniqueKey = "haapi-edge-replay-guard", enableSql = true),
    (className = "KeyManager", uniqueKey = "haapi-edge-key-manager", enableSql = true),
    (className = "DynamicClientStore", uniqueKey = "haapi-edge-dynamic-clients", enableSql = true),
    (className = "RateLimiter", uniqueKey = "haapi-edge-rate-limiter", enableSql = true),
    (className = "LoginSession", uniqueKey = "haapi-edge-login-sessions", enableSql = true),
    (className = "Grant", uniqueKey = "haapi-edge-grants", enableSql = true),
    (className = "UserStore", uniqueKey = "haapi-edge-users", enableSql = true),
    (className = "UafUser", uniqueKey = "haapi-edge-uaf-users", enableSql = true),
    (className = "UafTransaction", uniqueKey = "haapi-edge-uaf-transactions", enableSql = true),
    (className = "WebSession", uniqueKey = "haapi-edge-web-sessions", enableSql = true),
  ],`
}
  durableObjectStorage = (localDisk = "storage"),
);
`,
);

const workerd = join(root, "node_modules/.bin/workerd");
const child = spawn(
  workerd,
  ["serve", join(outdir, "workerd.capnp"), ...(inspectorPort ? [`--inspector-addr=127.0.0.1:${inspectorPort}`] : [])],
  { stdio: ["ignore", "inherit", "inherit"] },
);

function cleanup() {
  child.kill("SIGTERM");
  rmSync(storage, { recursive: true, force: true });
  rmSync(outdir, { recursive: true, force: true });
}
process.on("SIGTERM", () => {
  cleanup();
  process.exit(0);
});
// The group's SIGTERM may reach workerd first: its exit cleans up as well.
child.on("exit", (code) => {
  rmSync(storage, { recursive: true, force: true });
  rmSync(outdir, { recursive: true, force: true });
  process.exit(code ?? 1);
});

// Ready when the server answers (the metadata; the floor worker answers anything).
for (let attempt = 0; attempt < 200; attempt++) {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/.well-known/oauth-authorization-server`);
    if (response.ok || floor) {
      console.log("ready");
      break;
    }
  } catch {}
  await new Promise((resolve) => setTimeout(resolve, 100));
}
