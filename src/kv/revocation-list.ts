/**
 * The Android attestation certificate status list (https://android.googleapis.com/attestation/status),
 * read-mostly: cached per isolate and in the cache store (Workers KV, or Deno KV) for `ttl` seconds,
 * fetched when both miss.
 *
 * Cache key: `android-status-list:v1:<url>` (docs/storage.md). The list is public data; the cache only
 * saves every isolate from fetching it. A failed or malformed download is "unavailable": the policy decides
 * (fail-closed refuses, fail-open accepts). Tests seed the KV entry instead of reaching the network.
 */

import type { CacheStore } from "./ports";

/** `entries` keyed by lowercase hex serial without leading zeros. */
export interface StatusList {
  readonly entries: Readonly<Record<string, { readonly status: string; readonly reason?: string }>>;
}

export const statusListKey = (url: string) => `android-status-list:v1:${url}`;

const memory = new Map<string, { until: number; list: StatusList }>();

function isStatusList(value: unknown): value is StatusList {
  if (!value || typeof value !== "object") return false;
  const entries = (value as { entries?: unknown }).entries;
  if (!entries || typeof entries !== "object" || Array.isArray(entries)) return false;
  return Object.values(entries).every(
    (entry) => entry && typeof entry === "object" && typeof (entry as { status?: unknown }).status === "string",
  );
}

export interface StatusListSource {
  readonly cache: CacheStore;
  readonly url: string;
  /** Seconds (KV needs at least 60). */
  readonly ttl: number;
  readonly fetch?: typeof fetch;
}

/** The status list, or "unavailable" when it can be neither read from a cache nor downloaded. Never throws. */
export async function androidStatusList(source: StatusListSource, now: number): Promise<StatusList | "unavailable"> {
  const key = statusListKey(source.url);
  const cached = memory.get(key);
  if (cached && cached.until > now) return cached.list;
  try {
    const text = await source.cache.get(key, now);
    const stored: unknown = text === null ? null : JSON.parse(text);
    if (isStatusList(stored)) {
      memory.set(key, { until: now + Math.min(source.ttl, 300), list: stored });
      return stored;
    }
  } catch {
    // A corrupt KV value is treated as a miss.
  }
  try {
    const response = await (source.fetch ?? fetch)(source.url, {
      headers: { Accept: "application/json" },
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) return "unavailable";
    const list: unknown = await response.json();
    if (!isStatusList(list)) return "unavailable";
    memory.set(key, { until: now + Math.min(source.ttl, 300), list });
    // A failed write (Workers KV refuses a second write to a key within a second, as when isolates refresh
    // the list together) loses only the shared copy: the downloaded list is still the answer.
    await source.cache.put(key, JSON.stringify(list), Math.max(60, source.ttl), now).catch(() => {});
    return list;
  } catch {
    return "unavailable";
  }
}

/** Tests only: forget the per-isolate copy. */
export function clearStatusListMemory(): void {
  memory.clear();
}
