/**
 * The CacheStore port (../ports.ts) on Deno KV: `["cache", key]` → `{ value, expires_at }` (epoch
 * seconds), with `expireIn` set to that plus a margin; a read treats an expired entry as absent.
 *
 * A value too long for one Deno KV value (65,536 bytes; the Android revocation list is several times
 * that) is split: the head `["cache", key]` then holds `{ expires_at, generation, chunks }` and the
 * parts live at `["cache", key, generation, i]`. Parts are written first and the head last, so a reader
 * that finds a head finds its parts, unless a newer put replaced them in between: a miss, which a cache
 * may have. Replacing a head deletes the parts of the one it replaces.
 */
import type { CacheStore } from "../ports";
import { commitLoop, kvCall, type RetryOptions } from "./commit-loop";
import { randomHexId } from "./hex-id";
import { expireIn, textKeyPart, type DenoKv, type KvKey } from "./kv";

/** The head of a cached value: the value itself, or how to find its parts. */
export type CacheHead =
  | { readonly expires_at: number; readonly value: string }
  | { readonly expires_at: number; readonly generation: string; readonly chunks: number };

export const CACHE_PREFIX = "cache";

/** UTF-16 code units per part: at most 2 bytes each serialized, so a part stays under 65,536 bytes. */
export const CHUNK_CHARS = 30_000;
/** Parts per commit: a commit carries at most 819,200 bytes of mutations. */
const CHUNKS_PER_COMMIT = 12;
/** A commit carries at most 1,000 mutations. */
const MAX_DELETES_PER_COMMIT = 900;
/** Keys per getMany. */
const KEYS_PER_READ = 10;
/** Workers KV keeps nothing for less than 60 s (ports.ts); the same floor here, so both behave alike. */
const MIN_TTL_SECONDS = 60;

/**
 * @example
 * const cache = denoCacheStore(kv);
 * await cache.put(`jwks:${url}`, JSON.stringify(jwks), 3600, now);
 * const text = await cache.get(`jwks:${url}`, now);
 */
export function denoCacheStore(kv: DenoKv, options: RetryOptions = {}): CacheStore {
  const headKey = async (key: string): Promise<KvKey> => [CACHE_PREFIX, await textKeyPart(key)];

  return {
    async get(key, now) {
      const head = await headKey(key);
      return commitLoop(
        "cache.get",
        async () => {
          const entry = await kvCall(() => kv.get<CacheHead>(head));
          const stored = entry.value;
          if (stored === null || !(stored.expires_at > now)) return { result: null };
          if ("value" in stored) return { result: stored.value };
          const parts: string[] = [];
          for (let first = 0; first < stored.chunks; first += KEYS_PER_READ) {
            const keys = Array.from(
              { length: Math.min(KEYS_PER_READ, stored.chunks - first) },
              (_, i): KvKey => [...head, stored.generation, first + i],
            );
            const entries = await kvCall(() => kv.getMany<string[]>(keys));
            for (const part of entries) {
              // Replaced by a newer put since the head was read: a miss.
              if (typeof part.value !== "string") return { result: null };
              parts.push(part.value);
            }
          }
          return { result: parts.join("") };
        },
        options,
      );
    },

    async put(key, value, ttl, now) {
      if (typeof value !== "string") throw new TypeError(`cache.put: the value must be a string, got ${typeof value}`);
      if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl <= 0)
        throw new TypeError(`cache.put: ttl must be a positive number of seconds, got ${String(ttl)}`);
      const head = await headKey(key);
      const expiresAt = now + Math.max(MIN_TTL_SECONDS, ttl);
      const written = { expireIn: expireIn(expiresAt, now)! };

      let next: CacheHead;
      if (value.length <= CHUNK_CHARS) {
        next = { expires_at: expiresAt, value };
      } else {
        const generation = randomHexId().slice(0, 16);
        const chunks = Math.ceil(value.length / CHUNK_CHARS);
        for (let first = 0; first < chunks; first += CHUNKS_PER_COMMIT) {
          await commitLoop(
            "cache.put",
            async () => {
              const atomic = kv.atomic();
              for (let i = first; i < Math.min(chunks, first + CHUNKS_PER_COMMIT); i++) {
                atomic.set([...head, generation, i], value.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS), written);
              }
              return { result: undefined, commit: atomic };
            },
            options,
          );
        }
        next = { expires_at: expiresAt, generation, chunks };
      }

      await commitLoop(
        "cache.put",
        async () => {
          const entry = await kvCall(() => kv.get<CacheHead>(head));
          const atomic = kv.atomic().check({ key: head, versionstamp: entry.versionstamp }).set(head, next, written);
          const replaced = entry.value;
          // Parts left behind (a huge replaced value, a racing put) go by expireIn.
          if (replaced !== null && "generation" in replaced && replaced.chunks <= MAX_DELETES_PER_COMMIT) {
            for (let i = 0; i < replaced.chunks; i++) atomic.delete([...head, replaced.generation, i]);
          }
          return { result: undefined, commit: atomic };
        },
        options,
      );
    },
  };
}
