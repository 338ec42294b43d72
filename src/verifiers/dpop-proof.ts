/**
 * DPoP proof verification, RFC 9449 §4.3, one named check at a time.
 *
 * Pure: no clock (`now` is epoch seconds), no I/O of its own. The replay check and the nonce check
 * are functions the caller passes in, so the caller decides where single use is recorded.
 */
import { base64url, compactVerify, errors, type JWK } from "jose";
import { sha256Base64url } from "../hash";
import { hasPrivateJwkMember, isRecordableJti } from "../protocol";
import { normalizeHtu } from "./htu";
import { fail, ok, type Result } from "./result";

export type DpopFailure =
  | "missing"
  | "multiple"
  | "too_large"
  | "malformed"
  | "header_invalid"
  | "typ"
  | "alg_not_allowed"
  | "jwk_missing"
  | "jwk_private"
  | "jwk_invalid"
  | "signature"
  | "payload_invalid"
  | "jti_invalid"
  | "htm_mismatch"
  | "htu_invalid"
  | "htu_mismatch"
  | "iat_invalid"
  | "iat_too_old"
  | "iat_in_future"
  | "ath_missing"
  | "ath_mismatch"
  | "jkt_mismatch"
  | "nonce_missing"
  | "nonce_invalid"
  | "replayed";

/** Failures answered with `use_dpop_nonce` (and a fresh nonce) instead of `invalid_dpop_proof`. */
export const NONCE_FAILURES: ReadonlySet<DpopFailure> = new Set(["nonce_missing", "nonce_invalid"]);

export interface DpopPolicy {
  /** Allowed JWS algorithms, asymmetric only. */
  readonly algorithms: readonly string[];
  /** Seconds `iat` may lie before or after `now`. */
  readonly clockSkew: number;
  /** The request method. */
  readonly method: string;
  /** The public URL of the request (issuer + path); query and fragment are ignored. */
  readonly url: string;
  /** The access token presented with the proof, if any: `ath` becomes mandatory. */
  readonly accessToken?: string;
  /** The thumbprint the proof's key must have (a token's `cnf.jkt`, a bound code's `dpop_jkt`). */
  readonly expectedJkt?: string;
  /** Whether the proof must carry a server nonce. */
  readonly requireNonce: boolean;
  /** Longest accepted proof, in characters. */
  readonly maxLength: number;
}

export interface DpopDeps {
  /**
   * The RFC 7638 thumbprint and the imported key of a canonical public JWK (its required members, in
   * lexicographic order: the thumbprint input). Callers may cache by that JSON.
   */
  resolveKey(canonical: JWK, alg: string): Promise<{ key: CryptoKey; jkt: string }>;
  /** Whether a server nonce is currently valid. Only called when a nonce is present. */
  isNonceValid(nonce: string, now: number): Promise<boolean>;
  /**
   * Record `jti` as used for key `jkt` until `expiresAt` (epoch seconds), atomically.
   * Resolves false when it was already recorded.
   */
  markUsed(jkt: string, jti: string, expiresAt: number): Promise<boolean>;
}

export interface DpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof key. */
  readonly jkt: string;
  readonly jwk: JWK;
  readonly alg: string;
  readonly jti: string;
  readonly iat: number;
}

const ASYMMETRIC_KTY = new Set(["EC", "RSA", "OKP"]);
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const decoder = new TextDecoder();

function parseSegment(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(decoder.decode(base64url.decode(segment)));
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** base64url(SHA-256(ASCII(token))), the `ath` claim (RFC 9449 §4.2). */
export function accessTokenHash(token: string): Promise<string> {
  return sha256Base64url(token);
}

/**
 * Verify the value of the `DPoP` request header.
 *
 * @param header The raw header value (`Headers.get("DPoP")`), or null when absent.
 * @example
 * const result = await verifyDpopProof(request.headers.get("DPoP"), policy, deps, Math.floor(Date.now() / 1000));
 * if (!result.ok) log(result.reason);
 */
export async function verifyDpopProof(
  header: string | null,
  policy: DpopPolicy,
  deps: DpopDeps,
  now: number,
): Promise<Result<DpopProof, DpopFailure>> {
  // 1. Shape: exactly one header holding a compact JWS. Headers.get joins repeated headers with ", ".
  if (header === null || header === "") return fail("missing");
  if (header.length > policy.maxLength) return fail("too_large", { length: header.length });
  if (header.includes(",")) return fail("multiple");
  const proof = header.trim();
  if (!COMPACT_JWS.test(proof)) return fail("malformed");
  const [encodedHeader, encodedPayload] = proof.split(".") as [string, string, string];

  const protectedHeader = parseSegment(encodedHeader);
  if (!protectedHeader) return fail("header_invalid");
  if (protectedHeader.typ !== "dpop+jwt") return fail("typ", { typ: protectedHeader.typ });
  const alg = protectedHeader.alg;
  if (typeof alg !== "string" || !policy.algorithms.includes(alg)) return fail("alg_not_allowed", { alg });

  const jwk = protectedHeader.jwk;
  if (!jwk || typeof jwk !== "object" || Array.isArray(jwk)) return fail("jwk_missing");
  const members = jwk as Record<string, unknown>;
  if (hasPrivateJwkMember(members)) return fail("jwk_private");
  if (typeof members.kty !== "string" || !ASYMMETRIC_KTY.has(members.kty))
    return fail("jwk_invalid", { kty: members.kty });

  // 2. Signature, with the embedded key.
  // Only the members the thumbprint covers are imported, so a cached import depends on the thumbprint alone.
  const keyJwk = publicJwk(members);
  let jkt: string;
  let key: CryptoKey;
  try {
    ({ key, jkt } = await deps.resolveKey(keyJwk, alg));
  } catch (error) {
    return fail("jwk_invalid", { error: (error as Error).message });
  }
  try {
    await compactVerify(proof, key, { algorithms: [alg] });
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) return fail("signature");
    return fail("jwk_invalid", { error: (error as Error).message });
  }

  const claims = parseSegment(encodedPayload);
  if (!claims) return fail("payload_invalid");

  // 3-6. Claims.
  const { jti, htm, htu, iat } = claims;
  if (!isRecordableJti(jti)) return fail("jti_invalid", { jti_type: typeof jti });
  if (htm !== policy.method) return fail("htm_mismatch", { expected: policy.method, received: htm });
  if (typeof htu !== "string") return fail("htu_invalid", { received: htu });
  const receivedHtu = normalizeHtu(htu);
  if (receivedHtu === null) return fail("htu_invalid", { received: htu });
  const expectedHtu = normalizeHtu(policy.url);
  if (receivedHtu !== expectedHtu) return fail("htu_mismatch", { expected: expectedHtu, received: htu });
  if (typeof iat !== "number" || !Number.isFinite(iat)) return fail("iat_invalid", { iat });
  if (iat < now - policy.clockSkew) return fail("iat_too_old", { iat, server_time: now });
  if (iat > now + policy.clockSkew) return fail("iat_in_future", { iat, server_time: now });

  // 7. Access token binding.
  if (policy.accessToken !== undefined) {
    if (typeof claims.ath !== "string") return fail("ath_missing");
    if (claims.ath !== (await accessTokenHash(policy.accessToken))) return fail("ath_mismatch");
  }
  if (policy.expectedJkt !== undefined && policy.expectedJkt !== jkt)
    return fail("jkt_mismatch", { expected: policy.expectedJkt, received: jkt });

  // 8. Nonce.
  if (claims.nonce !== undefined || policy.requireNonce) {
    if (typeof claims.nonce !== "string" || claims.nonce === "")
      return fail(policy.requireNonce ? "nonce_missing" : "nonce_invalid");
    if (!(await deps.isNonceValid(claims.nonce, now))) return fail("nonce_invalid");
  }

  // 6. Single use, last: only a proof that passed every other check consumes its jti.
  // The record must outlive the acceptance window of this proof: until iat + skew.
  if (!(await deps.markUsed(jkt, jti, Math.ceil(iat + policy.clockSkew) + 1))) return fail("replayed", { jti });

  return ok({ jkt, jwk: keyJwk, alg, jti, iat });
}

/** The RFC 7638 required members, in lexicographic order: exactly what identifies the public key. */
function publicJwk(jwk: Record<string, unknown>): JWK {
  const pick =
    jwk.kty === "RSA" ? ["e", "kty", "n"] : jwk.kty === "OKP" ? ["crv", "kty", "x"] : ["crv", "kty", "x", "y"];
  const out: Record<string, unknown> = {};
  for (const name of pick) if (jwk[name] !== undefined) out[name] = jwk[name];
  return out as JWK;
}
