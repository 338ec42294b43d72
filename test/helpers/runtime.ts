/**
 * The Worker's runtime as tests reach it: the application over the test bindings (or others, e.g. a
 * production-shaped CONFIG), its stores, and its keys.
 */
import { env } from "cloudflare:workers";
import type { Hono } from "hono";
import { createApp } from "../../src/app";
import type { Env } from "../../src/env";
import { workersRuntime } from "../../src/index";
import type { Stores } from "../../src/kv/stores";
import type { AppEnv } from "../../src/routes/context";
import { runtimeKeys } from "../../src/routes/services";
import type { ServerKeys } from "../../src/tokens/server-keys";

/** The HTTP application as the Worker runs it (call `.fetch(request, bindings)`, or read `.routes`). */
export function workerApp(): Hono<AppEnv> {
  return createApp((bindings) => workersRuntime(bindings as Env));
}

/** The stores of the test bindings: real Durable Objects and KV. */
export function testStores(bindings: Env = env): Stores {
  return workersRuntime(bindings).stores;
}

/** The server's keys as of `now` (epoch seconds), as a request at that time would see them. */
export function testKeys(now: number, bindings: Env = env): Promise<ServerKeys> {
  return runtimeKeys(workersRuntime(bindings), now);
}
