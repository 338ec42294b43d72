/**
 * `wrangler dev` as a child process, for the end-to-end tests: started as a user would start it
 * (`npx wrangler dev`) on a free port, with a fresh --persist-to directory and a CONFIG var built
 * for that port's issuer (DPoP htu and assertion aud are compared with the issuer).
 *
 * Every server runs in its own process group; stop() ends the whole group (npx, wrangler, workerd)
 * and removes the persistence directory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { killGroup, killOnExit, release } from "./process-group";

const ROOT = resolve(import.meta.dirname, "../..");

/** How long a start may take before it counts as failed. */
export const STARTUP_TIMEOUT_MS = 60_000;

/**
 * The port from freePort() is released before wrangler binds it, so another process may take it in
 * between; wrangler then exits with this message, and the start is retried on a fresh port.
 */
const PORT_TAKEN = "Address already in use";
const PORT_ATTEMPTS = 3;

export interface DevServer {
  readonly port: number;
  readonly issuer: string;
  readonly child: ChildProcess;
  /** Everything wrangler printed so far, stdout and stderr interleaved, without ANSI colours. */
  output(): string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<number | string>;
  hasExited(): boolean;
  /** Kill the whole process group (npx, wrangler, workerd) and remove the persistence directory. */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** Prefix of the --persist-to temp directory (under the OS temp dir). */
  readonly tempPrefix?: string;
  /** Extra vars and secrets (e.g. FCM_SERVICE_ACCOUNT), each passed as `--var NAME:VALUE`. */
  readonly vars?: Readonly<Record<string, string>>;
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

/** `--var NAME:VALUE` for each var (wrangler splits at the first colon, so values may hold colons). */
function extraVars(vars: SpawnOptions["vars"] = {}): string[] {
  return Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
}

/** Start `npx wrangler dev` on a free port with CONFIG = config(issuer); does not wait for it. */
export async function spawnWranglerDev(
  config: (issuer: string) => unknown,
  options: SpawnOptions = {},
): Promise<DevServer> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const persistDir = await mkdtemp(join(tmpdir(), options.tempPrefix ?? "haapi-edge-e2e-"));
  const child = spawn(
    "npx",
    [
      "wrangler",
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      persistDir,
      "--var",
      `CONFIG:${JSON.stringify(config(issuer))}`,
      ...extraVars(options.vars),
    ],
    {
      cwd: ROOT,
      // Its own process group, so stop() reaches workerd too.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" },
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
      // Let the pipes drain (their "close"), but don't wait on a grandchild that still holds them.
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
    if (child.pid !== undefined) {
      killGroup(child.pid, "SIGTERM");
      const timer = (ms: number) => new Promise((r) => setTimeout(r, ms));
      await Promise.race([exited, timer(5_000)]);
      // The leader may be gone while workerd lingers in the group: make sure of all of it.
      killGroup(child.pid, "SIGKILL");
      release(child.pid);
    }
    await rm(persistDir, { recursive: true, force: true });
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
 * Spawn wrangler dev and wait for `settled` to report something other than "pending" (polled every
 * 250 ms, up to STARTUP_TIMEOUT_MS), retrying on a fresh port when the chosen one was taken.
 * The server is returned running or not; the caller stops it.
 */
export async function spawnSettled<T>(
  config: (issuer: string) => unknown,
  settled: (server: DevServer) => Promise<T | "pending">,
  options: SpawnOptions = {},
): Promise<{ server: DevServer; outcome: T | "pending" }> {
  for (let attempt = 1; ; attempt++) {
    const server = await spawnWranglerDev(config, options);
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    let outcome: T | "pending" = "pending";
    while (Date.now() < deadline) {
      outcome = await settled(server);
      if (outcome !== "pending") break;
      await new Promise((r) => setTimeout(r, 250));
    }
    if (server.hasExited() && server.output().includes(PORT_TAKEN) && attempt < PORT_ATTEMPTS) {
      await server.stop();
      continue;
    }
    return { server, outcome };
  }
}

/** Start wrangler dev and wait until it serves the metadata document; throws with its output otherwise. */
export async function startWranglerDev(
  config: (issuer: string) => unknown,
  options: SpawnOptions = {},
): Promise<DevServer> {
  const { server, outcome } = await spawnSettled(
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
    : `did not answer within ${STARTUP_TIMEOUT_MS / 1000} s`;
  const output = server.output();
  await server.stop();
  throw new Error(`wrangler dev on ${server.issuer} ${why}. Its output:\n${output}`);
}
