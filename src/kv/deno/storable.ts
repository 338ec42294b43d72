/**
 * What may be written to Deno KV. Values are stored by V8 structured clone, which would accept a
 * CryptoKey, non-extractable or not, and write its key material to the file (measured here, docs/deno.md):
 * records hold keys as JWKs, deliberately, so a CryptoKey in a record is a bug, refused here before
 * anything is written. Deno itself refuses values over 65,536 bytes; valueTooLarge() recognises that.
 */

/** The path of the first CryptoKey inside `value` (plain objects and arrays are searched), or null. */
export function findCryptoKey(value: unknown, path = "$"): string | null {
  if (value === null || typeof value !== "object") return null;
  if (typeof CryptoKey !== "undefined" && value instanceof CryptoKey) return path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findCryptoKey(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return null;
  for (const [name, item] of Object.entries(value)) {
    const found = findCryptoKey(item, `${path}.${name}`);
    if (found) return found;
  }
  return null;
}

/** Deno's refusal of a value over the limit: `TypeError: Value too large (max 65536 bytes)`, thrown by commit(). */
export function isValueTooLarge(error: unknown): boolean {
  return error instanceof TypeError && /^Value too large/.test(error.message);
}

/** Deno KV's limit on one value, serialized. */
export const MAX_VALUE_BYTES = 65_536;
