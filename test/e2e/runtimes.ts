/**
 * The runtimes every end-to-end suite runs against, and one way to start the server on each:
 *   workers  `wrangler dev` (wrangler-dev.ts): workerd, KV and Durable Objects persisted to a temp dir;
 *   deno     `deno run src/deno.ts` (deno-server.ts): Deno KV in a temp SQLite file.
 * Both helpers take the same options and return the same `DevServer`, so a suite is written once:
 *
 *   const servers = perRuntime((runtime) => startServer(runtime, (issuer) => ({ ...development, issuer })));
 *   describe.each(RUNTIMES)("... on %s", (runtime) => {
 *     let server: DevServer;
 *     beforeAll(async () => {
 *       server = await servers.get(runtime);
 *     });
 *     ...
 *   });
 *
 * perRuntime starts every runtime's server at once (a wrangler dev start takes seconds, a Deno start well
 * under one, so the Deno server is ready by the time the Workers tests are done), and each runtime's
 * block waits for its own: a server that fails to start fails its own runtime's tests only, and the
 * suite's name says which runtime failed.
 */
import { afterAll, beforeAll } from "vitest";
import { DENO_STARTUP_TIMEOUT_MS, spawnDenoSettled, startDenoServer } from "./deno-server";
import { spawnSettled, startWranglerDev, STARTUP_TIMEOUT_MS, type DevServer, type SpawnOptions } from "./wrangler-dev";

export type { DevServer, SpawnOptions };

export type Runtime = "workers" | "deno";

export const RUNTIMES: readonly Runtime[] = ["workers", "deno"];

/** What a runtime's server is called in failure messages ("<name> output:"). */
export const SERVER_NAME: Readonly<Record<Runtime, string>> = { workers: "wrangler dev", deno: "deno run src/deno.ts" };

/** How long a start may take on each runtime before it counts as failed. */
export const STARTUP_TIMEOUT: Readonly<Record<Runtime, number>> = {
  workers: STARTUP_TIMEOUT_MS,
  deno: DENO_STARTUP_TIMEOUT_MS,
};

/** Start the server on `runtime` with CONFIG = config(issuer) and wait until it serves its metadata. */
export function startServer(
  runtime: Runtime,
  config: (issuer: string) => unknown,
  options: SpawnOptions = {},
): Promise<DevServer> {
  switch (runtime) {
    case "workers":
      return startWranglerDev(config, options);
    case "deno":
      return startDenoServer(config, options);
  }
}

/** Start the server on `runtime` and poll `settled` until it is not "pending" (spawnSettled of either helper). */
export function spawnSettledOn<T>(
  runtime: Runtime,
  config: (issuer: string) => unknown,
  settled: (server: DevServer) => Promise<T | "pending">,
  options: SpawnOptions = {},
): Promise<{ server: DevServer; outcome: T | "pending" }> {
  switch (runtime) {
    case "workers":
      return spawnSettled(config, settled, options);
    case "deno":
      return spawnDenoSettled(config, settled, options);
  }
}

export interface PerRuntime<T> {
  /** The runtime's value once started; rejects with its start's error. Call it from a hook or a test. */
  get(runtime: Runtime): Promise<T>;
}

/**
 * In the enclosing suite's beforeAll, start `start(runtime)` for every runtime at once, without waiting;
 * in its afterAll, stop every one that started. Call it at the top of a file or of a describe block, and
 * await `get(runtime)` in the runtime's own beforeAll.
 */
export function perRuntime<T extends { stop(): Promise<void> }>(
  start: (runtime: Runtime) => Promise<T>,
): PerRuntime<T> {
  let started: Map<Runtime, Promise<T>> | undefined;
  beforeAll(() => {
    started = new Map(RUNTIMES.map((runtime) => [runtime, start(runtime)]));
    // A start that fails is reported by get(), to its own runtime's tests; not as an unhandled rejection.
    for (const value of started.values()) value.catch(() => undefined);
  });
  afterAll(async () => {
    const values = await Promise.allSettled(started?.values() ?? []);
    await Promise.all(values.map((value) => (value.status === "fulfilled" ? value.value.stop() : undefined)));
  });
  return {
    get(runtime) {
      const value = started?.get(runtime);
      if (!value)
        throw new TypeError(`perRuntime: ${runtime} was not started (call get() from a hook or a test of the suite)`);
      return value;
    },
  };
}
