/**
 * Client authentication with a CAT (a client attestation token this server issued, src/routes/cat/): as
 * a client assertion (HAAPI, urn:se:curity:attestation:client) or as the OAuth-Client-Attestation header
 * (IETF draft), there with its PoP header or the DPoP combined mode. The CAT must name a client with
 * `attestation`; it is spent once the request's DPoP proof is verified (spend-attestation.ts).
 */
import type { Context } from "hono";
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import type { Client } from "../../config/load";
import { OAuthError } from "../../errors";
import { verifyAttestationPop } from "../../verifiers/attestation-pop";
import { verifyCat } from "../../verifiers/cat";
import type { AppEnv, AuthenticatedClient } from "../context";
import type { ClientAuthReason } from "../oauth-reasons";
import { keysFor } from "../services";
import { invalidClient, type Presented } from "./presented-credential";

/** Keys that verify the server's own CATs: its published JWK set (current, next and retired keys). */
const catKeySets = new WeakMap<object, JWTVerifyGetKey>();

/** A refused CAT: invalid_client as a client assertion, invalid_client_attestation as the IETF header. */
export function catError(
  via: "assertion" | "header",
  reason: ClientAuthReason,
  detail?: Readonly<Record<string, unknown>>,
): OAuthError {
  if (via === "assertion") return invalidClient(reason, false, detail);
  return new OAuthError("invalid_client_attestation", "client attestation rejected", {
    reason,
    ...(detail ? { detail: { ...detail } } : {}),
  });
}

/** A CAT this server issued, for this client, bound to a key; with the IETF PoP header, proof of that key too. */
export async function authenticateWithCat<E extends AppEnv>(
  c: Context<E>,
  presented: Extract<Presented, { kind: "cat" }>,
  client: Client,
): Promise<AuthenticatedClient> {
  if (!client.attestation) throw catError(presented.via, "cat_client_not_attesting");
  const config = c.get("config");
  const now = c.get("now");
  const keys = await keysFor(c);
  let keySet = catKeySets.get(keys.jwks);
  if (!keySet) {
    keySet = createLocalJWKSet(keys.jwks as JSONWebKeySet);
    catKeySets.set(keys.jwks, keySet);
  }
  const result = await verifyCat(
    presented.cat,
    { issuer: config.issuer, maxLifetime: config.attestation.cat_ttl },
    keySet,
    now,
  );
  if (!result.ok) throw catError(presented.via, `cat_${result.reason}`, result.detail);
  const cat = result.value;
  let popUse: { jti: string; expiresAt: number } | undefined;
  if (presented.via === "header" && presented.pop !== null) {
    const pop = await verifyAttestationPop(
      presented.pop,
      {
        audiences: [config.issuer, config.endpoints.token],
        algorithms: config.dpop.signing_alg_values,
        maxAge: config.attestation.pop_max_age,
        clockSkew: config.dpop.clock_skew,
      },
      cat.jwk,
      now,
    );
    if (!pop.ok) throw catError("header", `attestation_pop_${pop.reason}`, pop.detail);
    popUse = pop.value; // recorded with the CAT in spendAttestation
  }
  return {
    client,
    method: "attest_jwt_client_auth",
    cal: cat.cal,
    certificate: null,
    attestation: { ...cat, via: presented.via, ...(popUse ? { popUse } : {}) },
  };
}
