/**
 * The read-mostly cache on Workers: Workers KV (the CACHE binding). Eventually consistent across
 * locations, which a cache tolerates; KV's own TTL (at least 60 s) expires entries.
 */
import type { CacheStore } from "../ports";

export function workersKvCache(kv: KVNamespace): CacheStore {
  return {
    get: (key) => kv.get(key, "text"),
    put: (key, value, ttl) => kv.put(key, value, { expirationTtl: Math.max(60, Math.ceil(ttl)) }),
  };
}
