/**
 * A server key set for verifier tests: a fresh ES256 signing key published under `kid`, and HMAC keys
 * for the other purposes, as src/tokens/server-keys.ts derives them (here random: no verifier test
 * depends on their derivation).
 */
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWTVerifyGetKey } from "jose";
import type { ServerKeys } from "../../src/tokens/server-keys";

export async function testServerKeys(
  kid: string,
  validUntil: number,
): Promise<{ server: ServerKeys; keySet: JWTVerifyGetKey }> {
  const pair = await generateKeyPair("ES256", { extractable: true });
  const hmac = () =>
    crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]) as Promise<CryptoKey>;
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid, alg: "ES256", use: "sig" };
  const server: ServerKeys = {
    kid,
    signingKey: pair.privateKey,
    jwks: { keys: [publicJwk] },
    nonceKey: await hmac(),
    challengeKey: await hmac(),
    uafServerDataKey: await hmac(),
    approvalKey: await hmac(),
    validUntil,
  };
  return { server, keySet: createLocalJWKSet({ keys: [publicJwk] }) };
}
