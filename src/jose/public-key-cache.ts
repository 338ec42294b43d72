/**
 * Public keys of DPoP proofs: RFC 7638 thumbprint and imported CryptoKey, computed once per key and alg.
 *
 * The cache key is the canonical JWK JSON (required members, lexicographic order), which is exactly the
 * thumbprint's input, so a hit is the same public key. Importing and hashing cost more than verifying
 * with the key, and a device sends the same key on every request. Bounded, least recently used out.
 */
import { importJWK, type JWK } from "jose";
import { sha256Base64url } from "../hash";

export interface ResolvedKey {
  readonly key: CryptoKey;
  /** RFC 7638 SHA-256 thumbprint. */
  readonly jkt: string;
}

const MAX_ENTRIES = 1024;
const cache = new Map<string, Promise<ResolvedKey>>();

/** Thumbprint and import of a canonical public JWK (required members only, in lexicographic order). */
export async function resolvePublicKey(canonical: JWK, alg: string): Promise<ResolvedKey> {
  const jkt = await sha256Base64url(JSON.stringify(canonical));
  const key = await importJWK(canonical, alg);
  if (key instanceof Uint8Array) throw new TypeError("a public key must be asymmetric");
  return { key, jkt };
}

export function resolvePublicKeyCached(canonical: JWK, alg: string): Promise<ResolvedKey> {
  const id = `${alg}:${JSON.stringify(canonical)}`;
  let resolved = cache.get(id);
  if (resolved) {
    // Refresh recency: Map iteration order is insertion order.
    cache.delete(id);
    cache.set(id, resolved);
    return resolved;
  }
  resolved = resolvePublicKey(canonical, alg);
  resolved.catch(() => cache.delete(id));
  cache.set(id, resolved);
  if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  return resolved;
}
