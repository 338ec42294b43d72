// The `Device-Signature` header a Nevis-style app sends to the UAF device service and, in place of a
// user's token, to the deregistration (and registration) request services: a compact JWS, ES256, by the
// phone's signature key (the `signatureKey` it registered as its dispatch target), naming the device and
// the user (the SDK's JwsAuthorizationProvider; the server's check is src/verifiers/device-signature.ts).
// Each JWS has a fresh `jti`: the server spends it, so one JWS authorizes one request.
// Plain ESM on WebCrypto and jose: runs in Node 22 and workerd.

import { base64url, SignJWT } from "jose";

/** How long a Device-Signature is valid, seconds (the server accepts an `iat` up to 300 s old). */
export const DEVICE_SIGNATURE_LIFETIME = 120;

/**
 * A Device-Signature JWS: protected header `{alg: "ES256", typ: "JWT"}`, payload
 * `{dispatchTargetId, username, iat, exp: iat + 120, jti}`.
 * @param {import("./uaf-phone.mjs").UafPhone} phone signs with its signature key
 * @param {string} username the user the request is for
 * @param {{ now?: number, jti?: string }} [options] `now` in epoch seconds (default the clock);
 *   `jti` default 128 random bits, base64url
 * @returns {Promise<string>}
 *
 * @example
 * const jws = await deviceSignature(phone, "alice");
 * await fetch(`${base}/_app/devices/${phone.deviceId}`, { headers: { "Device-Signature": jws } });
 */
export async function deviceSignature(phone, username, options = {}) {
  if (typeof username !== "string" || !username) throw new TypeError("a Device-Signature needs the username it is for");
  const iat = options.now ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(iat)) throw new TypeError(`now must be whole epoch seconds, not ${iat}`);
  const key = await crypto.subtle.importKey(
    "jwk",
    phone.signatureKey.privateJwk,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  return new SignJWT({ dispatchTargetId: phone.deviceId, username })
    .setProtectedHeader({ alg: "ES256", typ: "JWT" })
    .setIssuedAt(iat)
    .setExpirationTime(iat + DEVICE_SIGNATURE_LIFETIME)
    .setJti(options.jti ?? base64url.encode(crypto.getRandomValues(new Uint8Array(16))))
    .sign(key);
}
