// What the bench needs to run things on Deno as `npm run start:deno` does.
//
// - The command is read from package.json's `start:deno` script, so the bench cannot drift from it:
//   `deno run --config deno.json <permissions> src/deno.ts`, with the `deno` the devDependency installs.
// - The KV file lives in a fresh directory on a memory-backed file system (/dev/shm) when there is one,
//   as the workerd row's Durable Object storage does. Deno 2 refuses any path under /dev unless it runs
//   with --allow-all ("Requires all access to /dev/shm/…"), which `start:deno` does not grant; its check
//   is on the path it is given, so the directory is reached through a symbolic link from the OS temp
//   directory: the same tmpfs, under exactly the permissions of `start:deno`.
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = new URL("..", import.meta.url).pathname;
export const DENO = join(ROOT, "node_modules/.bin/deno");

/** `start:deno` split into Deno's arguments before the entry, and the entry: ["run", "--config", "deno.json", …], "src/deno.ts". */
export function startDenoCommand() {
  const script = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts["start:deno"];
  const words = script.trim().split(/\s+/);
  const entry = words.at(-1);
  if (words[0] !== "deno" || words[1] !== "run" || !entry.endsWith(".ts")) {
    throw new Error(
      `bench/deno.mjs: start:deno is no longer "deno run … <entry>.ts" (${JSON.stringify(script)}): update the bench`,
    );
  }
  return { args: words.slice(1, -1), entry };
}

/** The memory-backed file system when there is one (Linux: /dev/shm), else undefined. */
export function memoryFs() {
  try {
    return statSync("/dev/shm").isDirectory() ? "/dev/shm" : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A fresh directory for a KV file, on /dev/shm (through a link, see above) when there is one, or on
 * disk when `disk` is set or there is none. Returns the path Deno is given, where the data really is,
 * and a cleanup.
 */
export function kvDirectory(prefix, { disk = false } = {}) {
  const outer = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const memory = disk ? undefined : memoryFs();
  if (!memory)
    return {
      path: outer,
      backing: outer,
      memory: false,
      cleanup: () => rmSync(outer, { recursive: true, force: true }),
    };
  const backing = mkdtempSync(join(memory, `${prefix}-`));
  const path = join(outer, "kv");
  symlinkSync(backing, path);
  return {
    path,
    backing,
    memory: true,
    cleanup: () => {
      rmSync(backing, { recursive: true, force: true });
      rmSync(outer, { recursive: true, force: true });
    },
  };
}

/** The environment for a Deno child: ours without what would point it elsewhere, then `settings`. */
export function denoEnv(settings) {
  const env = { ...process.env };
  for (const name of [
    "CONFIG",
    "CONFIG_FILE",
    "SIGNING_KEYS",
    "SERVER_SECRET",
    "FCM_SERVICE_ACCOUNT",
    "PORT",
    "HOST",
    "DENO_KV_URL",
    "DENO_KV_ACCESS_TOKEN",
    "DENO_KV_PATH",
    "DENO_DEPLOY",
  ]) {
    delete env[name];
  }
  return { ...env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...settings };
}
