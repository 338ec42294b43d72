/**
 * What the cross-field rules (./<area>.ts) share: how a problem names its field, how a repeated value
 * is found, and the checks several areas make of keys and certificates.
 */
import { PRIVATE_JWK_MEMBERS } from "../../protocol";
import { importTrustAnchors, type TrustAnchor } from "../../x509/chain";
import { X509Error } from "../../x509/parse-certificate";

/** The path of a field inside one list item, e.g. `clients[2].jwks`. */
export type At = (field: string) => string;

/**
 * A record of first occurrences: `firstIndex(key, index)` is the index where `key` was seen first,
 * or undefined (and `index` is remembered) when this is its first time.
 */
export function firstOccurrences(): (key: string, index: number) => number | undefined {
  const seen = new Map<string, number>();
  return (key, index) => {
    const first = seen.get(key);
    if (first === undefined) seen.set(key, index);
    return first;
  };
}

/** Private key members in a JWK set that should hold only public keys; `path` names the set. */
export function privateJwkProblems(jwks: { readonly keys: readonly object[] }, path: string): string[] {
  return jwks.keys.flatMap((key, k) =>
    PRIVATE_JWK_MEMBERS.filter((member) => member in key).map(
      (member) => `${path}.keys[${k}].${member}: private key material; publish only the public key`,
    ),
  );
}

/** The trust anchor a configured PEM certificate makes, or the problem with it (named by `at`). */
export function readCertificate(pem: string, at: string): { anchor: TrustAnchor } | { problem: string } {
  try {
    return { anchor: importTrustAnchors([pem])[0]! };
  } catch (error) {
    return {
      problem: `${at}: not a readable certificate (${error instanceof X509Error ? error.message : "parse error"})`,
    };
  }
}
