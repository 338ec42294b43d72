/**
 * The server on Deno as a child process, for the end-to-end tests: the Deno twin of wrangler-dev.ts.
 * It is started as `npm run start:deno` starts it (`deno run --config deno.json` with the same
 * permissions, the entry src/deno.ts) on a free port, with CONFIG built for that port's issuer and a
 * fresh Deno KV file (DENO_KV_PATH) in a temp directory.
 *
 * Every server runs in its own process group; stop() ends the group and removes the temp directory.
 * Variables that would point the child elsewhere (CONFIG_FILE, DENO_KV_URL, secrets, ...) are not
 * inherited from the test's environment; pass them in `vars` to set them.
 *
 * The options and the server it returns are those of wrangler-dev.ts, so a test can run against
 * either runtime: `const start = onDeno ? startDenoServer : startWranglerDev`.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { killGroup, killOnExit, release } from "./process-group";
import type { DevServer, SpawnOptions } from "./wrangler-dev";

export type { DevServer };

const ROOT = resolve(import.meta.dirname, "../..");
/** The Deno the devDependency `deno` installs. */
export const DENO = join(ROOT, "node_modules/.bin/deno");
export const DENO_ENTRY = join(ROOT, "src/deno.ts");
/** As in the start:deno script of package.json. */
export const DENO_PERMISSIONS = ["--allow-net", "--allow-env", "--allow-read", "--allow-write"] as const;

/** How long a start may take before it counts as failed (the first run also transpiles src/). */
export const DENO_STARTUP_TIMEOUT_MS = 30_000;

/** Deno's message when the port from freePort() was taken in between: the start is retried. */
const PORT_TAKEN = "Address already in use";
const PORT_ATTEMPTS = 3;

/** Configuration and secrets the entry reads, never inherited from the test's own environment. */
const NOT_INHERITED = [
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
  "SOURCE_ADDRESS_HEADER",
];

export interface DenoSpawnOptions extends SpawnOptions {
  /** Prefix of the temp directory holding the KV file (under the OS temp dir). */
  readonly tempPrefix?: string;
  /**
   * Extra environment variables: secrets (SIGNING_KEYS, SERVER_SECRET, FCM_SERVICE_ACCOUNT), CONFIG_FILE, ...
   * They win over the helper's own settings: a DENO_KV_PATH here replaces the fresh KV file (several
   * servers can share one that way), and that file is the caller's to remove; stop() leaves it.
   */
  readonly vars?: Readonly<Record<string, string>>;
  /** The entry point; default src/deno.ts. */
  readonly entry?: string;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        address && typeof address === "object" ? resolvePort(address.port) : reject(new Error("no port")),
      );
    });
  });
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences start with ESC
const stripAnsi = (text: string): string => text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");

/** The child's environment: ours without NOT_INHERITED, then the server's own settings. */
function childEnv(settings: Record<string, string>, extra: DenoSpawnOptions["vars"] = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of NOT_INHERITED) delete env[name];
  return { ...env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...settings, ...extra };
}

/** Start the Deno entry on a free port with CONFIG = config(issuer); does not wait for it. */
export async function spawnDenoServer(
  config: (issuer: string) => unknown,
  options: DenoSpawnOptions = {},
): Promise<DevServer> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const dataDir = await mkdtemp(join(tmpdir(), options.tempPrefix ?? "haapi-edge-deno-e2e-"));
  const env = childEnv(
    {
      CONFIG: JSON.stringify(config(issuer)),
      PORT: String(port),
      HOST: "127.0.0.1",
      DENO_KV_PATH: join(dataDir, "kv/haapi-edge.sqlite3"),
    },
    options.vars,
  );
  const child = spawn(
    DENO,
    ["run", "--config", join(ROOT, "deno.json"), ...DENO_PERMISSIONS, options.entry ?? DENO_ENTRY],
    {
      cwd: ROOT,
      // Its own process group, so stop() reaches anything it starts.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env,
    },
  );
  if (child.pid !== undefined) killOnExit(child.pid);
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString("utf8");
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  let exitedWith: number | string | undefined;
  const exited = new Promise<number | string>((resolveExit) => {
    child.once("exit", (code, signal) => {
      const settle = () => {
        if (exitedWith !== undefined) return;
        exitedWith = code ?? signal ?? "unknown";
        resolveExit(exitedWith);
      };
      child.once("close", settle);
      setTimeout(settle, 1_000).unref();
    });
    child.once("error", (error) => {
      output += `\nspawn error: ${error.message}\n`;
      exitedWith = "spawn-error";
      resolveExit(exitedWith);
    });
  });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.pid !== undefined && exitedWith === undefined) {
      killGroup(child.pid, "SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    }
    if (child.pid !== undefined) {
      killGroup(child.pid, "SIGKILL");
      release(child.pid);
    }
    await rm(dataDir, { recursive: true, force: true });
  };

  return {
    port,
    issuer,
    child,
    output: () => stripAnsi(output),
    exited,
    hasExited: () => exitedWith !== undefined,
    stop,
  };
}

/**
 * Spawn the Deno server and wait for `settled` to report something other than "pending" (polled every
 * 100 ms, up to DENO_STARTUP_TIMEOUT_MS), retrying on a fresh port when the chosen one was taken.
 * The server is returned running or not; the caller stops it.
 */
export async function spawnDenoSettled<T>(
  config: (issuer: string) => unknown,
  settled: (server: DevServer) => Promise<T | "pending">,
  options: DenoSpawnOptions = {},
): Promise<{ server: DevServer; outcome: T | "pending" }> {
  for (let attempt = 1; ; attempt++) {
    const server = await spawnDenoServer(config, options);
    const deadline = Date.now() + DENO_STARTUP_TIMEOUT_MS;
    let outcome: T | "pending" = "pending";
    while (Date.now() < deadline) {
      outcome = await settled(server);
      if (outcome !== "pending") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (server.hasExited() && server.output().includes(PORT_TAKEN) && attempt < PORT_ATTEMPTS) {
      await server.stop();
      continue;
    }
    return { server, outcome };
  }
}

/** Start the server on Deno and wait until it serves the metadata document; throws with its output otherwise. */
export async function startDenoServer(
  config: (issuer: string) => unknown,
  options: DenoSpawnOptions = {},
): Promise<DevServer> {
  const { server, outcome } = await spawnDenoSettled(
    config,
    async (candidate) => {
      if (candidate.hasExited()) return "exited";
      try {
        const response = await fetch(`${candidate.issuer}/.well-known/oauth-authorization-server`, {
          signal: AbortSignal.timeout(2_000),
        });
        await response.body?.cancel();
        if (response.status === 200) return "serving";
      } catch {
        // not listening yet
      }
      return "pending";
    },
    options,
  );
  if (outcome === "serving") return server;
  const why = server.hasExited()
    ? `exited (${await server.exited})`
    : `did not answer within ${DENO_STARTUP_TIMEOUT_MS / 1000} s`;
  const output = server.output();
  await server.stop();
  const entry = options.entry ?? DENO_ENTRY;
  throw new Error(`deno run ${entry} on ${server.issuer} ${why}. Its output:\n${output}`);
}
