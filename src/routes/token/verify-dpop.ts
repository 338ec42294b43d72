/**
 * Step: DPoP at the token endpoint (RFC 9449 §5).
 *
 * Required when the scope contains the HAAPI scope, the client has dpop_bound_access_tokens, or it
 * authenticates with a CAT (whose key the proof must use); verified whenever a proof is sent. Every failure is 400 invalid_dpop_proof, except a missing or
 * stale nonce: 400 use_dpop_nonce with a fresh DPoP-Nonce.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Client, Config } from "../../config/load";
import { HAAPI_SCOPE } from "../../protocol";
import { OAuthError } from "../../errors";
import { resolvePublicKeyCached } from "../../jose/public-key-cache";
import { checkDpopNonce, currentDpopNonce } from "../../tokens/dpop-nonces";
import { NONCE_FAILURES, verifyDpopProof, type DpopFailure, type DpopProof } from "../../verifiers/dpop-proof";
import type { AppEnv } from "../context";
import { dpopReplay, keysFor } from "../services";

/** Public text per failure: specific where it helps a developer fix a client, vague where it would help an attacker. */
function publicDescription(reason: DpopFailure, now: number): string {
  switch (reason) {
    case "missing":
      return "DPoP proof required";
    case "multiple":
      return "exactly one DPoP header is allowed";
    case "htm_mismatch":
      return "DPoP proof htm does not match the request method";
    case "htu_invalid":
    case "htu_mismatch":
      return "DPoP proof htu does not match the request URL";
    case "iat_invalid":
    case "iat_too_old":
    case "iat_in_future":
      return `DPoP proof iat is outside the acceptance window; server time is ${now}`;
    case "nonce_missing":
      return "DPoP nonce required";
    case "nonce_invalid":
      return "DPoP nonce expired or invalid";
    case "typ":
    case "alg_not_allowed":
    case "too_large":
    case "malformed":
    case "header_invalid":
    case "jwk_missing":
    case "jwk_private":
    case "jwk_invalid":
    case "signature":
    case "payload_invalid":
    case "jti_invalid":
    case "ath_missing":
    case "ath_mismatch":
    case "jkt_mismatch":
    case "replayed":
      return "invalid DPoP proof";
  }
}

export function nonceRequired(config: Config, client: Client, scopes: readonly string[]): boolean {
  if (client.require_dpop_nonce !== undefined) return client.require_dpop_nonce;
  if (config.dpop.require_nonce) return true;
  return scopes.includes(HAAPI_SCOPE) && !client.capabilities.haapi?.use_legacy_dpop;
}

export const verifyDpop = createMiddleware<AppEnv>(async (c, next) => {
  const config = c.get("config");
  const scopes = c.get("scopes");
  const authenticated = c.get("authenticated");
  const { client } = authenticated;
  const header = c.req.header("DPoP") ?? null;
  const required =
    client.dpop_bound_access_tokens || scopes.includes(HAAPI_SCOPE) || authenticated.attestation !== undefined;
  if (header === null && !required) {
    c.set("dpop", undefined);
    return next();
  }
  const proof = await requireDpopProof(c, {
    url: config.endpoints.token,
    requireNonce: nonceRequired(config, client, scopes),
  });
  // An attested client proves possession of the attested key with its proof (HAAPI; the IETF draft's DPoP combined mode).
  if (authenticated.attestation && proof.jkt !== authenticated.attestation.jkt) {
    throw new OAuthError(
      authenticated.attestation.via === "header" ? "invalid_client_attestation" : "invalid_client",
      "the DPoP key is not the attested key",
      {
        status: 400,
        reason: "cat_key_mismatch",
        detail: { expected_jkt: authenticated.attestation.jkt, proof_jkt: proof.jkt },
      },
    );
  }
  c.set("dpop", proof);
  await next();
});

/**
 * Verify the request's DPoP proof for `url` (RFC 9449 §4.3), or throw the OAuth error for it.
 * On success the response carries a fresh `DPoP-Nonce`, so well-behaved clients never pay the retry (§8.2).
 */
export async function requireDpopProof<E extends AppEnv>(
  c: Context<E>,
  options: { url: string; requireNonce: boolean; accessToken?: string; expectedJkt?: string },
): Promise<DpopProof> {
  const config = c.get("config");
  const now = c.get("now");
  const keys = await keysFor(c);
  const stepSeconds = config.dpop.nonce_step;
  const result = await verifyDpopProof(
    c.req.header("DPoP") ?? null,
    {
      algorithms: config.dpop.signing_alg_values,
      clockSkew: config.dpop.clock_skew,
      method: c.req.method,
      url: options.url,
      requireNonce: options.requireNonce,
      maxLength: config.limits.max_header_bytes,
      ...(options.accessToken !== undefined ? { accessToken: options.accessToken } : {}),
      ...(options.expectedJkt !== undefined ? { expectedJkt: options.expectedJkt } : {}),
    },
    {
      resolveKey: resolvePublicKeyCached,
      isNonceValid: (nonce, at) => checkDpopNonce(keys.nonceKey, nonce, at, stepSeconds),
      markUsed: dpopReplay(c),
    },
    now,
  );
  if (!result.ok) {
    const nonceProblem = NONCE_FAILURES.has(result.reason);
    throw new OAuthError(
      nonceProblem ? "use_dpop_nonce" : "invalid_dpop_proof",
      publicDescription(result.reason, now),
      {
        reason: `dpop_${result.reason}`,
        ...(result.detail ? { detail: { ...result.detail } } : {}),
        headers: { "DPoP-Nonce": await currentDpopNonce(keys.nonceKey, now, stepSeconds) },
      },
    );
  }
  c.get("log").jkt = result.value.jkt;
  c.header("DPoP-Nonce", await currentDpopNonce(keys.nonceKey, now, stepSeconds));
  return result.value;
}
