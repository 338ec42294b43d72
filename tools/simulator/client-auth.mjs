// Client authentication for the simulator's token requests, as small factories (in the manner of
// oauth4webapi's `ClientSecretBasic(secret)`, `PrivateKeyJwt(key)`): each returns a ClientAuth that
// adds its credential to one request. Plain ESM on jose + WebCrypto (Node 22, workerd).

import { importJWK, SignJWT } from "jose";
import { JWT_BEARER_ASSERTION_TYPE } from "./defaults.mjs";

/**
 * @typedef {object} ClientAuth
 * @property {string} clientId
 * @property {"client_secret_basic" | "private_key_jwt"} method
 * @property {(form: URLSearchParams, headers: Record<string, string>, audience: string) => Promise<void>} apply
 *   adds the credential to one request's form and headers; `audience` is the issuer (the assertion's `aud`)
 */

/**
 * RFC 6749 §2.3.1: client_id and secret are form-urlencoded before they are joined and base64-encoded.
 * @param {string} clientId
 * @param {string} secret
 * @returns {string} the Authorization header value
 */
export function basicAuthorization(clientId, secret) {
  const encode = (/** @type {string} */ value) => encodeURIComponent(value).replace(/%20/g, "+");
  return `Basic ${btoa(`${encode(clientId)}:${encode(secret)}`)}`;
}

/**
 * `client_secret_basic`: HTTP Basic with the form-urlencoded id and secret.
 * @param {string} clientId
 * @param {string} secret
 * @returns {ClientAuth}
 * @example
 * const auth = clientSecretBasic("haapi-client", "Password1");
 */
export function clientSecretBasic(clientId, secret) {
  return {
    clientId,
    method: "client_secret_basic",
    apply: async (_form, headers) => {
      headers.authorization = basicAuthorization(clientId, secret);
    },
  };
}

/**
 * The JWS alg for a private JWK: its own `alg`, else the usual one for its key type.
 * @param {import("jose").JWK} jwk
 * @returns {string}
 */
function algorithmFor(jwk) {
  if (typeof jwk.alg === "string") return jwk.alg;
  if (jwk.kty === "EC") {
    const alg = /** @type {Record<string, string>} */ ({ "P-256": "ES256", "P-384": "ES384", "P-521": "ES512" })[
      jwk.crv ?? ""
    ];
    if (alg) return alg;
  }
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "EdDSA";
  if (jwk.kty === "RSA") return "RS256";
  throw new TypeError(`cannot tell the signing algorithm of a ${jwk.kty} key; give the JWK an "alg"`);
}

/**
 * `private_key_jwt` (RFC 7523 §2.2): a fresh client assertion per request, `iss` = `sub` = client_id,
 * `aud` = the issuer, `exp` one minute ahead, a random `jti` (the server accepts each once).
 * @param {string} clientId
 * @param {import("jose").JWK} privateJwk the client's private key (with `d`); its `kid` goes in the header
 * @returns {ClientAuth}
 * @example
 * const auth = privateKeyJwt("haapi-jwt-client", JSON.parse(await readFile(file, "utf8")));
 */
export function privateKeyJwt(clientId, privateJwk) {
  if (typeof privateJwk !== "object" || privateJwk === null || typeof privateJwk.d !== "string") {
    throw new TypeError('privateKeyJwt needs a private JWK (with "d")');
  }
  const alg = algorithmFor(privateJwk);
  /** @type {Promise<CryptoKey | Uint8Array> | undefined} */
  let key; // imported on first use, so a bad key fails the request that needs it
  const signingKey = () => {
    key ??= importJWK(privateJwk, alg);
    return key;
  };
  return {
    clientId,
    method: "private_key_jwt",
    apply: async (form, _headers, audience) => {
      const now = Math.floor(Date.now() / 1000);
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg, ...(privateJwk.kid ? { kid: privateJwk.kid } : {}) })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(audience)
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .setJti(crypto.randomUUID())
        .sign(await signingKey());
      form.set("client_assertion_type", JWT_BEARER_ASSERTION_TYPE);
      form.set("client_assertion", assertion);
    },
  };
}
