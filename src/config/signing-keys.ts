/**
 * The SIGNING_KEYS secret: a JWK set of EC P-256 private keys. The first key signs; all are published.
 * Validated at startup like the configuration, with the failing member named.
 */
import type { JWK } from "jose";
import { ConfigError } from "./load";

export interface SigningKeyMaterial {
  readonly kid: string;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

export function parseSigningKeys(secret: string): SigningKeyMaterial[] {
  let set: unknown;
  try {
    set = JSON.parse(secret);
  } catch {
    throw new ConfigError(["SIGNING_KEYS: not valid JSON (expected a JWK set)"]);
  }
  const keys = (set as { keys?: unknown })?.keys;
  if (!Array.isArray(keys) || keys.length === 0)
    throw new ConfigError(["SIGNING_KEYS.keys: required, a non-empty array"]);
  const problems: string[] = [];
  const kids = new Set<string>();
  const material = keys.map((key: Record<string, unknown>, i) => {
    const at = `SIGNING_KEYS.keys[${i}]`;
    if (
      !key ||
      typeof key !== "object" ||
      key.kty !== "EC" ||
      key.crv !== "P-256" ||
      typeof key.d !== "string" ||
      typeof key.x !== "string" ||
      typeof key.y !== "string"
    ) {
      problems.push(`${at}: must be an EC P-256 private key (kty "EC", crv "P-256", x, y, d)`);
    }
    if (typeof key?.kid !== "string" || key.kid === "") problems.push(`${at}.kid: required`);
    else if (kids.has(key.kid)) problems.push(`${at}.kid: duplicate value ${JSON.stringify(key.kid)}`);
    else kids.add(key.kid);
    const { d: _d, ...publicPart } = key ?? {};
    return {
      kid: String(key?.kid),
      privateJwk: { ...key, alg: "ES256" } as JWK,
      publicJwk: {
        kty: publicPart.kty,
        crv: publicPart.crv,
        x: publicPart.x,
        y: publicPart.y,
        kid: key?.kid,
        alg: "ES256",
        use: "sig",
      } as JWK,
    };
  });
  if (problems.length) throw new ConfigError(problems);
  return material;
}
