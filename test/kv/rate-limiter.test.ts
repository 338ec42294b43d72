/**
 * Rate limits on Workers (src/kv/rate-limiter.ts, hosted by the RateLimiter Durable Object): a token
 * bucket per key, atomic, cleaned up by an alarm once full again. Windows are long (an hour) so that
 * refill during a test is negligible: no assertion depends on how fast the test runs.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { rateLimitKey, type Bucket } from "../../src/kv/rate-limiter";
import type { RateLimiter } from "../../src/kv/workers/classes";
import { RECORD } from "../../src/kv/workers/host";
import { testStores } from "../helpers/runtime";

const HOUR = 3600;
const now = () => Math.floor(Date.now() / 1000);

/** The bucket `key`, as the routes take from it; `object` is its Durable Object. */
function rateLimiter(key: string) {
  const ref = testStores().rateLimits.named(key);
  return {
    take: async (requests: number, window: number) => (await ref).run("take", { requests, window }, now()),
    object: env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`rate-limit:${key}`)),
  };
}

const freshBucket = () => rateLimiter(rateLimitKey.registrationByClient(`main-${crypto.randomUUID()}`));

describe("RateLimiter", () => {
  it("allows `requests` takes, then refuses with a Retry-After of at least a second and at most one refill interval", async () => {
    const bucket = freshBucket();
    for (let i = 0; i < 3; i++) expect(await bucket.take(3, HOUR)).toEqual({ allowed: true, retryAfter: 0 });
    const refused = await bucket.take(3, HOUR);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfter).toBeGreaterThanOrEqual(1);
    // One token refills every HOUR / 3 seconds.
    expect(refused.retryAfter).toBeLessThanOrEqual(HOUR / 3);
    expect(Number.isInteger(refused.retryAfter)).toBe(true);
    // Refused again: a refusal takes nothing, and gives nothing back.
    expect((await bucket.take(3, HOUR)).allowed).toBe(false);
  });

  it("a bucket of one", async () => {
    const bucket = freshBucket();
    expect((await bucket.take(1, HOUR)).allowed).toBe(true);
    expect(await bucket.take(1, HOUR)).toMatchObject({ allowed: false });
  });

  it("separate keys are independent", async () => {
    const a = freshBucket();
    const b = freshBucket();
    expect((await a.take(1, HOUR)).allowed).toBe(true);
    expect((await a.take(1, HOUR)).allowed).toBe(false);
    expect((await b.take(1, HOUR)).allowed).toBe(true);
    // Per client and per source are different keys even for the same string.
    expect(rateLimitKey.registrationByClient("x")).not.toBe(rateLimitKey.registrationBySource("x"));
    const name = `same-${crypto.randomUUID()}`;
    const byClient = rateLimiter(rateLimitKey.registrationByClient(name));
    const bySource = rateLimiter(rateLimitKey.registrationBySource(name));
    expect((await byClient.take(1, HOUR)).allowed).toBe(true);
    expect((await bySource.take(1, HOUR)).allowed).toBe(true);
  });

  it("the same key reaches the same bucket", async () => {
    const key = rateLimitKey.registrationBySource(`10.0.0.${crypto.randomUUID()}`);
    expect((await rateLimiter(key).take(1, HOUR)).allowed).toBe(true);
    expect((await rateLimiter(key).take(1, HOUR)).allowed).toBe(false);
  });

  it("twenty racing takes on a bucket of five: exactly five allowed", async () => {
    const bucket = freshBucket();
    const decisions = await Promise.all(Array.from({ length: 20 }, () => bucket.take(5, HOUR)));
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(5);
    expect(decisions.filter((decision) => !decision.allowed).every((decision) => decision.retryAfter >= 1)).toBe(true);
  });

  it("twenty racing takes through separate stubs of one key: exactly five allowed", async () => {
    const key = rateLimitKey.registrationByClient(`main-${crypto.randomUUID()}`);
    const decisions = await Promise.all(Array.from({ length: 20 }, () => rateLimiter(key).take(5, HOUR)));
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(5);
  });

  it("an allowed take schedules the alarm for when the bucket is full again", async () => {
    const bucket = freshBucket();
    const before = now();
    await bucket.take(4, HOUR);
    const after = now();
    const alarm = await runInDurableObject(bucket.object, (_instance: RateLimiter, state) => state.storage.getAlarm());
    // One token back takes HOUR / 4 seconds, counted from the take (the request's time, in seconds).
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeGreaterThanOrEqual((before + HOUR / 4) * 1000);
    expect(alarm!).toBeLessThanOrEqual((after + HOUR / 4) * 1000);
  });

  it("an alarm before the bucket is full again keeps it and reschedules; once full, it deletes the storage", async () => {
    const bucket = freshBucket();
    expect((await bucket.take(1, HOUR)).allowed).toBe(true);
    expect((await bucket.take(1, HOUR)).allowed).toBe(false);
    expect(await runDurableObjectAlarm(bucket.object)).toBe(true);
    // Early (alarms are at-least-once): the drained bucket stays drained.
    expect((await bucket.take(1, HOUR)).allowed).toBe(false);
    expect(
      await runInDurableObject(bucket.object, (_instance: RateLimiter, state) => state.storage.getAlarm()),
    ).not.toBeNull();
    // Backdate the refill, as if the hour had passed; now the alarm deletes everything.
    await runInDurableObject(bucket.object, (_instance: RateLimiter, state) => {
      const stored = state.storage.kv.get<Bucket>(RECORD)!;
      state.storage.kv.put(RECORD, { ...stored, fullAt: now() - 1 });
    });
    expect(await runDurableObjectAlarm(bucket.object)).toBe(true);
    expect(
      await runInDurableObject(bucket.object, (_instance: RateLimiter, state) => [...state.storage.kv.list()]),
    ).toEqual([]);
    expect(
      await runInDurableObject(bucket.object, (_instance: RateLimiter, state) => state.storage.getAlarm()),
    ).toBeNull();
    expect((await bucket.take(1, HOUR)).allowed).toBe(true);
  });
});
