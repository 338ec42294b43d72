/**
 * The read-mostly cache on Workers: Workers KV (the CACHE binding). Eventually consistent across
 * locations, which a cache tolerates. An entry is `{ value, expires_at }` (epoch seconds) and a read
 * at `now` treats an expired one as absent, as on Deno (KV's own TTL deletes it later); nothing is kept
 * for less than 60 s, Workers KV's floor. An entry that is not such an envelope is a miss.
 */
import type { CacheStore } from "../ports";

/** Workers KV keeps nothing for less than 60 s. */
const MIN_TTL_SECONDS = 60;

export function workersKvCache(kv: KVNamespace): CacheStore {
  return {
    async get(key, now) {
      const text = await kv.get(key, "text");
      if (text === null) return null;
      try {
        const entry = JSON.parse(text) as { value?: unknown; expires_at?: unknown };
        return typeof entry.value === "string" && typeof entry.expires_at === "number" && entry.expires_at > now
          ? entry.value
          : null;
      } catch {
        return null;
      }
    },
    async put(key, value, ttl, now) {
      const keep = Math.max(MIN_TTL_SECONDS, Math.ceil(ttl));
      await kv.put(key, JSON.stringify({ value, expires_at: now + keep }), { expirationTtl: keep });
    },
  };
}
