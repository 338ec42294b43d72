/** denoReplayStore (src/kv/deno/replay-store.ts) under real Deno, on an in-memory Deno KV. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EXPIRY_MARGIN_MS } from "../../src/kv/deno/kv";
import { denoReplayStore } from "../../src/kv/deno/replay-store";
import { recordingSets } from "./recording-kv";

const NOW = 1_800_000_000;

let kv: Deno.Kv;
beforeEach(async () => {
  kv = await Deno.openKv(":memory:");
});
afterEach(() => kv.close());

describe("denoReplayStore", () => {
  it("first use true, later uses false until it expires, then true again", async () => {
    const replay = denoReplayStore(kv);
    expect(await replay.use("dpop:k1", "jti-1", NOW + 300, NOW)).toBe(true);
    expect(await replay.use("dpop:k1", "jti-1", NOW + 300, NOW + 1)).toBe(false);
    expect(await replay.use("dpop:k1", "jti-1", NOW + 300, NOW + 299)).toBe(false);
    expect(await replay.use("dpop:k1", "jti-1", NOW + 600, NOW + 300)).toBe(true);
    expect(await replay.use("dpop:k1", "jti-1", NOW + 600, NOW + 301)).toBe(false);
  });

  it("scopes are separate", async () => {
    const replay = denoReplayStore(kv);
    expect(await replay.use("dpop:k1", "jti-1", NOW + 300, NOW)).toBe(true);
    expect(await replay.use("dpop:k2", "jti-1", NOW + 300, NOW)).toBe(true);
    expect(await replay.use("dpop:k1", "jti-2", NOW + 300, NOW)).toBe(true);
  });

  it('stores { expires_at } at ["replay", scope, id] with expireIn', async () => {
    const { kv: recording, sets } = recordingSets(kv);
    const replay = denoReplayStore(recording);
    await replay.use("dpop:k1", "jti-1", NOW + 300, NOW);
    expect((await kv.get(["replay", "dpop:k1", "jti-1"])).value).toEqual({ expires_at: NOW + 300 });
    expect(sets).toEqual([{ key: ["replay", "dpop:k1", "jti-1"], options: { expireIn: 300_000 + EXPIRY_MARGIN_MS } }]);
  });

  it("ids and scopes of any length (a client's jti): long ones are keyed by their digest, never refused", async () => {
    const replay = denoReplayStore(kv);
    const long = "j".repeat(5_000);
    expect(await replay.use("dpop:k1", long, NOW + 300, NOW)).toBe(true);
    expect(await replay.use("dpop:k1", long, NOW + 300, NOW)).toBe(false);
    expect(await replay.use("dpop:k1", `${long}x`, NOW + 300, NOW)).toBe(true);
    expect(await replay.use("s".repeat(3_000), "jti", NOW + 300, NOW)).toBe(true);
    expect(await replay.use("s".repeat(3_000), "jti", NOW + 300, NOW)).toBe(false);
  });

  it("10 concurrent uses of one jti: exactly one true", async () => {
    const replay = denoReplayStore(kv);
    const results = await Promise.all(Array.from({ length: 10 }, () => replay.use("dpop:k1", "raced", NOW + 300, NOW)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("NaN expiry is a TypeError", async () => {
    await expect(denoReplayStore(kv).use("s", "i", Number.NaN, NOW)).rejects.toThrow(TypeError);
  });
});
