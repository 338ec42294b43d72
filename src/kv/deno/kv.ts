/**
 * The part of the Deno KV API (`Deno.Kv`) that the adapters in this folder use, as plain types: a
 * `Deno.Kv` satisfies them, and these files type-check without Deno's global types (the project's
 * tsc runs with the Workers types; `deno check` checks them against the real ones through test/deno/).
 *
 * Limits that shape the keys and values here (Deno's KV documentation and its ext/kv/config.rs): a key
 * of at most 2,048 bytes, a value of at most 65,536 bytes, and `expireIn` a non-negative integer of
 * milliseconds, only the earliest time the key may go (the SQLite backend collects on a ~60 s timer).
 */

/** As Deno types it (symbols included, though Deno refuses them at run time). */
export type KvKeyPart = string | number | bigint | boolean | symbol | Uint8Array;
export type KvKey = readonly KvKeyPart[];

/** An entry as `get` returns it: value and versionstamp are null when the key is absent. */
export interface KvEntryMaybe<T> {
  readonly key: KvKey;
  readonly value: T | null;
  readonly versionstamp: string | null;
}

export interface KvAtomic {
  /** The commit fails (`ok: false`) unless `key` still has `versionstamp` (null: must be absent). */
  check(...checks: { readonly key: KvKey; readonly versionstamp: string | null }[]): this;
  set(key: KvKey, value: unknown, options?: { expireIn?: number }): this;
  delete(key: KvKey): this;
  commit(): Promise<{ readonly ok: true; readonly versionstamp: string } | { readonly ok: false }>;
}

/** What the adapters need of a `Deno.Kv`. */
export interface DenoKv {
  get<T = unknown>(key: KvKey): Promise<KvEntryMaybe<T>>;
  /** At most 10 keys per call. */
  getMany<T extends readonly unknown[]>(
    keys: readonly [...{ [K in keyof T]: KvKey }],
  ): Promise<{ [K in keyof T]: KvEntryMaybe<T[K]> }>;
  atomic(): KvAtomic;
}

/** How long after its own expiry a key is left before Deno may delete it: reads already see it as absent. */
export const EXPIRY_MARGIN_MS = 60_000;

/**
 * `expireIn` for a value that expires at `expiresAt` (epoch seconds), seen at `now`: the milliseconds
 * until then plus EXPIRY_MARGIN_MS, as a non-negative integer; undefined when it never expires.
 */
export function expireIn(expiresAt: number, now: number): number | undefined {
  if (!Number.isFinite(expiresAt)) return undefined;
  return Math.max(0, Math.ceil((expiresAt - now) * 1000)) + EXPIRY_MARGIN_MS;
}

/** Strings up to this many UTF-8 bytes are key parts as they are; longer ones are replaced by their digest. */
const MAX_TEXT_PART_BYTES = 256;

/**
 * A key part for `text`, which may come from a client (a `jti`) and so be of any length: the string
 * itself when short, otherwise its SHA-256 as bytes. A Uint8Array part never equals a string part, so
 * the two forms cannot collide, and every key stays far below the 2,048-byte limit.
 */
export async function textKeyPart(text: string): Promise<KvKeyPart> {
  const bytes = new TextEncoder().encode(text);
  if (bytes.byteLength <= MAX_TEXT_PART_BYTES) return text;
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}
