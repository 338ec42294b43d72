#!/usr/bin/env node
// Serves haapi-edge as deployed: the bundle `wrangler deploy --dry-run` builds, run by Miniflare in one
// workerd process with local SQLite-backed Durable Objects and KV. (`wrangler dev` puts a second,
// proxying workerd in front, which would measure the dev tooling rather than the Worker.)
// Usage: node bench/serve-ours.mjs PORT CONFIG_JSON   (prints "ready" when listening)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";

const [port, config] = process.argv.slice(2);
const root = new URL("..", import.meta.url).pathname;
const outdir = mkdtempSync(join(tmpdir(), "haapi-edge-bundle-"));
execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", outdir], { cwd: root, stdio: "ignore", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
const compatibilityDate = readFileSync(join(root, "wrangler.toml"), "utf8").match(/compatibility_date = "([^"]+)"/)[1];

const mf = new Miniflare(convertV4MiniflareOptions({
  host: "127.0.0.1",
  port: Number(port),
  workers: [
    {
      name: "haapi-edge",
      modules: true,
      scriptPath: join(outdir, "index.js"),
      modulesRoot: outdir,
      compatibilityDate,
      durableObjects: {
        REPLAY_GUARD: { className: "ReplayGuard", useSQLite: true },
        KEY_MANAGER: { className: "KeyManager", useSQLite: true },
      },
      kvNamespaces: ["CACHE"],
      bindings: { CONFIG: config },
    },
  ],
}));
await mf.ready;
console.log("ready");
process.on("SIGTERM", async () => {
  await mf.dispose();
  process.exit(0);
});
