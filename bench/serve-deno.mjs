#!/usr/bin/env node
// Serves haapi-edge on Deno exactly as `npm run start:deno` does: `deno run --config deno.json
// --allow-net --allow-env --allow-read --allow-write src/deno.ts` (read from package.json), with CONFIG,
// PORT, HOST=127.0.0.1 and DENO_KV_PATH in a fresh directory on /dev/shm when there is one (bench/deno.mjs).
// Usage: node bench/serve-deno.mjs PORT CONFIG_JSON [INSPECTOR_PORT]   (prints "ready" when serving)
//        node bench/serve-deno.mjs PORT --floor [INSPECTOR_PORT]     (bench/floor-deno.mjs instead: Deno's runtime floor)
// Add --disk to put the KV file on disk (the OS temp directory) instead.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { DENO, ROOT, denoEnv, kvDirectory, startDenoCommand } from "./deno.mjs";

const args = process.argv.slice(2);
const disk = args.includes("--disk");
const [port, config, inspectorPort] = args.filter((arg) => arg !== "--disk");
const floor = config === "--floor";
const { args: denoArgs, entry } = startDenoCommand();
const kv = kvDirectory(floor ? "haapi-edge-deno-floor" : "haapi-edge-deno-kv", { disk });

const child = spawn(
  DENO,
  [
    ...denoArgs,
    ...(inspectorPort ? [`--inspect=127.0.0.1:${inspectorPort}`] : []),
    floor ? "bench/floor-deno.mjs" : entry,
  ],
  {
    cwd: ROOT,
    stdio: ["ignore", "inherit", "inherit"],
    env: denoEnv({
      PORT: port,
      HOST: "127.0.0.1",
      DENO_KV_PATH: join(kv.path, "haapi-edge.sqlite3"),
      ...(floor ? {} : { CONFIG: config }),
    }),
  },
);

process.on("SIGTERM", () => {
  child.kill("SIGTERM");
  kv.cleanup();
  process.exit(0);
});
child.on("exit", (code) => {
  kv.cleanup();
  process.exit(code ?? 1);
});

// Ready when the server answers (the metadata; the floor answers anything).
for (let attempt = 0; attempt < 300; attempt++) {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/.well-known/oauth-authorization-server`);
    await response.arrayBuffer();
    if (response.ok || floor) {
      console.log("ready");
      break;
    }
  } catch {}
  await new Promise((resolve) => setTimeout(resolve, 100));
}
