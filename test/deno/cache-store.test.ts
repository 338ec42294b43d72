/** denoCacheStore (src/kv/deno/cache-store.ts) under real Deno, on an in-memory Deno KV. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CHUNK_CHARS, denoCacheStore } from "../../src/kv/deno/cache-store";
import { EXPIRY_MARGIN_MS } from "../../src/kv/deno/kv";
import { recordingSets } from "./recording-kv";

const NOW = 1_800_000_000;

let kv: Deno.Kv;
beforeEach(async () => {
  kv = await Deno.openKv(":memory:");
});
afterEach(() => kv.close());

async function keyCount(): Promise<number> {
  let count = 0;
  for await (const _ of kv.list({ prefix: ["cache"] })) count++;
  return count;
}

describe("denoCacheStore", () => {
  it("get after put; absent before; absent once expired", async () => {
    const cache = denoCacheStore(kv);
    expect(await cache.get("jwks:a", NOW)).toBeNull();
    await cache.put("jwks:a", '{"keys":[]}', 300, NOW);
    expect(await cache.get("jwks:a", NOW + 299)).toBe('{"keys":[]}');
    expect(await cache.get("jwks:a", NOW + 300)).toBeNull();
    expect((await kv.get(["cache", "jwks:a"])).value).toEqual({ value: '{"keys":[]}', expires_at: NOW + 300 });
  });

  it("sets expireIn on the head and every part: the ttl plus 60 s", async () => {
    const { kv: recording, sets } = recordingSets(kv);
    await denoCacheStore(recording).put("list", "z".repeat(CHUNK_CHARS + 1), 600, NOW);
    expect(sets.map((set) => set.key.length)).toEqual([4, 4, 2]);
    expect(new Set(sets.map((set) => set.options?.expireIn))).toEqual(new Set([600_000 + EXPIRY_MARGIN_MS]));
  });

  it("a ttl under 60 s is kept 60 s, as on Workers KV; a bad ttl or value is a TypeError", async () => {
    const cache = denoCacheStore(kv);
    await cache.put("k", "v", 5, NOW);
    expect(await cache.get("k", NOW + 59)).toBe("v");
    expect(await cache.get("k", NOW + 60)).toBeNull();
    await expect(cache.put("k", "v", Number.NaN, NOW)).rejects.toThrow(TypeError);
    await expect(cache.put("k", 42 as unknown as string, 60, NOW)).rejects.toThrow(TypeError);
  });

  it("values over one Deno KV value are split and joined again (code points across part boundaries)", async () => {
    const cache = denoCacheStore(kv);
    // ~1.2 MB of two-byte text, with a surrogate pair straddling the first boundary.
    const big = `${"a".repeat(CHUNK_CHARS - 1)}😀${"é€😀 status list ".repeat(80_000)}`;
    await cache.put("android-status-list:v1:https://example.test/status", big, 3600, NOW);
    expect(await cache.get("android-status-list:v1:https://example.test/status", NOW + 1)).toBe(big);
    expect(await cache.get("android-status-list:v1:https://example.test/status", NOW + 3600)).toBeNull();
  });

  it("replacing a split value removes its parts", async () => {
    const cache = denoCacheStore(kv);
    await cache.put("list", "x".repeat(CHUNK_CHARS * 3 + 1), 3600, NOW);
    expect(await keyCount()).toBe(1 + 4);
    await cache.put("list", "small", 3600, NOW);
    expect(await keyCount()).toBe(1);
    expect(await cache.get("list", NOW)).toBe("small");
  });

  it("a split value whose parts are gone is a miss, not an error", async () => {
    const cache = denoCacheStore(kv);
    await cache.put("list", "y".repeat(CHUNK_CHARS * 2), 3600, NOW);
    for await (const entry of kv.list({ prefix: ["cache", "list"] }))
      if (entry.key.length > 2) await kv.delete(entry.key);
    expect(await cache.get("list", NOW)).toBeNull();
  });

  it("long keys are keyed by their digest", async () => {
    const cache = denoCacheStore(kv);
    const key = `jwks:https://example.test/${"p".repeat(4_000)}`;
    await cache.put(key, "v", 60, NOW);
    expect(await cache.get(key, NOW)).toBe("v");
    expect(await cache.get(`${key}x`, NOW)).toBeNull();
  });
});
