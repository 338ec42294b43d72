/**
 * Step: DPoP at the token endpoint (RFC 9449 §5).
 *
 * Required when the scope contains the HAAPI scope or the client has dpop_bound_access_tokens;
 * verified whenever a proof is sent. Every failure is 400 invalid_dpop_proof, except a missing or
 * stale nonce: 400 use_dpop_nonce with a fresh DPoP-Nonce.
 */
import { createMiddleware } from "hono/factory";
import type { Client, Config } from "../../config/load";
import { HAAPI_SCOPE } from "../../config/schema";
import { OAuthError } from "../../errors";
import { resolvePublicKeyCached } from "../../jose/public-key-cache";
import { checkDpopNonce, currentDpopNonce } from "../../tokens/dpop-nonces";
import { NONCE_FAILURES, verifyDpopProof, type DpopFailure } from "../../verifiers/dpop-proof";
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
  const now = c.get("now");
  const scopes = c.get("scopes");
  const log = c.get("log");
  const { client } = c.get("authenticated");
  const header = c.req.header("DPoP") ?? null;
  const required = client.dpop_bound_access_tokens || scopes.includes(HAAPI_SCOPE);
  if (header === null && !required) {
    c.set("dpop", undefined);
    return next();
  }
  const keys = await keysFor(c.env, config, now);
  const stepSeconds = config.dpop.nonce_step;
  const result = await verifyDpopProof(
    header,
    {
      algorithms: config.dpop.signing_alg_values,
      clockSkew: config.dpop.clock_skew,
      method: c.req.method,
      url: config.endpoints.token,
      requireNonce: nonceRequired(config, client, scopes),
      maxLength: config.limits.max_header_bytes,
    },
    {
      resolveKey: resolvePublicKeyCached,
      isNonceValid: (nonce, at) => checkDpopNonce(keys.nonceKey, nonce, at, stepSeconds),
      markUsed: dpopReplay(c.env),
    },
    now,
  );
  if (!result.ok) {
    const nonceProblem = NONCE_FAILURES.has(result.reason);
    throw new OAuthError(nonceProblem ? "use_dpop_nonce" : "invalid_dpop_proof", publicDescription(result.reason, now), {
      reason: `dpop_${result.reason}`,
      ...(result.detail ? { detail: { ...result.detail } } : {}),
      headers: { "DPoP-Nonce": await currentDpopNonce(keys.nonceKey, now, stepSeconds) },
    });
  }
  log.jkt = result.value.jkt;
  c.set("dpop", result.value);
  // Fresh nonce on success too, so well-behaved clients never pay the retry (RFC 9449 §8.2).
  c.header("DPoP-Nonce", await currentDpopNonce(keys.nonceKey, now, stepSeconds));
  await next();
});
