/**
 * Imported public keys of DPoP proofs, by RFC 7638 thumbprint and alg, bounded.
 * Importing a JWK costs more than verifying with it; a device sends the same key on every request.
 */
import { importJWK, type JWK } from "jose";

const MAX_ENTRIES = 1024;
const cache = new Map<string, Promise<CryptoKey>>();

export function importPublicKeyCached(jwk: JWK, alg: string, thumbprint: string): Promise<CryptoKey> {
  const id = `${alg}:${thumbprint}`;
  let key = cache.get(id);
  if (key) {
    // Refresh recency: Map iteration order is insertion order.
    cache.delete(id);
    cache.set(id, key);
    return key;
  }
  key = importJWK(jwk, alg) as Promise<CryptoKey>;
  key.catch(() => cache.delete(id));
  cache.set(id, key);
  if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  return key;
}
