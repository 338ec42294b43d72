/**
 * Rate limits as routes use them: a token bucket per key (src/kv/rate-limiter.ts names the keys).
 */
import type { Context } from "hono";
import type { Limit, RateDecision } from "../kv/rate-limiter";
import type { AppEnv } from "./context";

/** Take one token from the bucket `key`. */
export async function takeToken<E extends AppEnv>(c: Context<E>, key: string, limit: Limit): Promise<RateDecision> {
  return (await c.get("stores").rateLimits.named(key)).run("take", limit, c.get("now"));
}

/** Whether the bucket `key` has a token, without taking it. */
export async function peekToken<E extends AppEnv>(c: Context<E>, key: string, limit: Limit): Promise<RateDecision> {
  return (await c.get("stores").rateLimits.named(key)).run("peek", limit, c.get("now"));
}
