/**
 * The storage ports: what routes may ask of storage, with no runtime in sight. Each runtime's entry
 * point builds a `Stores` from its adapters (Workers: Durable Objects and KV, src/kv/workers/; Deno:
 * Deno KV, src/kv/deno/) and puts it in the request context. docs/storage.md lists every record.
 *
 * Most stores keep one record per object and are RecordCollections of a record kind (record.ts): the
 * kind's operations are the only ways to change a record, and each runs atomically. Two stores are
 * simpler: single use of identifiers, and a read-mostly cache.
 */
import type { RecordCollection } from "./record";

/** Single use of identifiers: DPoP proof `jti`s, client assertions, CATs, challenges, Device-Signatures. */
export interface ReplayStore {
  /**
   * Record `id` in `scope` as used until `expiresAt` (epoch seconds). True on its first use; false while
   * an earlier use is recorded and unexpired. Of any number of racing calls with the same scope and id,
   * exactly one gets true.
   */
  use(scope: string, id: string, expiresAt: number, now: number): Promise<boolean>;
}

/**
 * A read-mostly cache (remote JWK sets, the Android revocation list): eventually consistent, never used
 * to decide whether something was already used.
 */
export interface CacheStore {
  /** The value put under `key`, or null when there is none or it expired. */
  get(key: string, now: number): Promise<string | null>;
  /** Keep `value` for `ttl` seconds (at least 60). */
  put(key: string, value: string, ttl: number, now: number): Promise<void>;
}

/**
 * A store could not complete an operation now (too much contention, a database locked for too long):
 * the request is answered 503 with `Retry-After`, never 500. Nothing was written.
 */
export class StoreBusyError extends Error {
  constructor(
    message: string,
    /** Seconds a client should wait before it tries again. */
    readonly retryAfter = 1,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "StoreBusyError";
  }
}

export type { RecordCollection };
