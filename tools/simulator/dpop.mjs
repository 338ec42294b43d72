// DPoP (RFC 9449) for the device simulator: ES256 key pairs, proofs, RFC 7638 thumbprints,
// and the bytes a CAT challenge response attests. Plain ESM on jose + WebCrypto (Node 22, workerd).

import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import { sha256, toBase64 } from "./x509.mjs";

/**
 * A fresh ES256 (P-256) DPoP key pair. The private key is extractable only if asked.
 * @param {{ extractable?: boolean }} [opts]
 * @returns {Promise<CryptoKeyPair>}
 */
export async function generateDpopKeyPair(opts = {}) {
  return /** @type {CryptoKeyPair} */ (await generateKeyPair("ES256", { extractable: opts.extractable ?? false }));
}

/**
 * Public JWK of a key (only kty, crv, x, y).
 * @param {CryptoKey} publicKey
 * @returns {Promise<import("jose").JWK>}
 */
export async function publicJwk(publicKey) {
  const { kty, crv, x, y } = await exportJWK(publicKey);
  return { kty, crv, x, y };
}

/**
 * RFC 7638 SHA-256 thumbprint, base64url: the `jkt`.
 * @param {CryptoKey} publicKey
 * @returns {Promise<string>}
 */
export async function jwkThumbprint(publicKey) {
  return calculateJwkThumbprint(await publicJwk(publicKey), "sha256");
}

/**
 * The bytes the device attests for a CAT challenge: SHA-256(UTF-8(challenge + "." + jkt)).
 * They are Android's attestationChallenge and iOS's clientDataHash.
 * @param {string} challenge as received from GET /oauth/v2/oauth-token/cat
 * @param {string} jkt RFC 7638 thumbprint of the DPoP key
 * @returns {Promise<Uint8Array>}
 */
export function attestedChallengeBytes(challenge, jkt) {
  return sha256(`${challenge}.${jkt}`);
}

/**
 * @typedef {object} DpopProofOptions
 * @property {CryptoKeyPair} keyPair
 * @property {string} htm HTTP method
 * @property {string} htu target URI (query and fragment are stripped)
 * @property {string} [nonce] server-provided DPoP-Nonce
 * @property {string} [accessToken] adds `ath` = base64url(SHA-256(access token))
 * @property {number} [iat] seconds; default now
 * @property {string} [jti] default a random UUID
 */

/**
 * Create a DPoP proof JWT (typ dpop+jwt, ES256, jwk header).
 * @param {DpopProofOptions} o
 * @returns {Promise<string>}
 */
export async function createDpopProof(o) {
  const url = new URL(o.htu);
  url.search = "";
  url.hash = "";
  /** @type {Record<string, unknown>} */
  const payload = { htm: o.htm.toUpperCase(), htu: url.href };
  if (o.nonce) payload.nonce = o.nonce;
  if (o.accessToken) {
    payload.ath = toBase64(await sha256(o.accessToken))
      .replace(/=+$/, "")
      .replace(/\+/g, "-")
      .replace(/\//g, "_");
  }
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: await publicJwk(o.keyPair.publicKey) })
    .setJti(o.jti ?? crypto.randomUUID())
    .setIssuedAt(o.iat ?? Math.floor(Date.now() / 1000))
    .sign(o.keyPair.privateKey);
}
