// Out-of-band payloads as a Nevis-style app receives them (Nevis out-of-band operations, docs/uaf.md):
// the `nma_data` JSON ({token, redeem_url}), as is, base64url in a QR code, or in a link
// `.../open?dispatchTokenResponse=<base64url>`; or, in a push message (FCM data, string values), `nma_data`
// as a compact JWE encrypted to the phone's encryption key (`nma_data_content_type: "application/jose"`,
// ECDH-ES+A256KW / A256GCM, src/routes/uaf/out-of-band.ts); and where the phone sends its answer to the
// UAF request it redeemed. A payload it cannot read is a UafClientError naming what is wrong.
// Plain ESM on WebCrypto and jose: Node 22 and workerd.

import { base64url, compactDecrypt } from "jose";
import { UafClientError } from "./uaf-errors.mjs";

/** What the server encrypts push payloads with; the phone accepts nothing else. */
const PAYLOAD_ENCRYPTION = Object.freeze({ alg: "ECDH-ES+A256KW", enc: "A256GCM" });

/**
 * @typedef {object} OutOfBandPayload
 * @property {string} token the dispatch token
 * @property {string} redeemUrl nma_data.redeem_url
 * @property {Record<string, any>} payload the decoded payload JSON
 */

/** @param {string} text @param {string} what @returns {any} */
function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch {
    throw new UafClientError(`the out-of-band payload ${what} is not JSON`);
  }
}

/**
 * The JSON value whose UTF-8 text is base64url-encoded in `text` (an out-of-band payload as a QR code
 * or a link's `dispatchTokenResponse` holds it).
 * @param {string} text
 * @param {string} [what] where the text came from, for the error message
 * @returns {any}
 * @throws {UafClientError} when it is not base64url, not UTF-8 or not JSON
 */
export function decodeBase64UrlJson(text, what = "(base64url)") {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(text))
    throw new UafClientError(`the out-of-band payload ${what} is not base64url`);
  let json;
  try {
    json = new TextDecoder("utf-8", { fatal: true }).decode(base64url.decode(text));
  } catch {
    throw new UafClientError(`the out-of-band payload ${what} is not base64url of UTF-8 text`);
  }
  return parseJson(json, what);
}

/**
 * The payload object of any of its forms.
 * @param {string | Record<string, any>} input
 * @returns {Record<string, any>}
 */
function decodePayload(input) {
  /** @type {any} */
  let payload = input;
  if (typeof input === "string") {
    const text = input.trim();
    if (text.startsWith("{")) payload = parseJson(text, "text");
    else if (/[?&]dispatchTokenResponse=/.test(text)) {
      let param;
      try {
        param = new URL(text).searchParams.get("dispatchTokenResponse");
      } catch {
        throw new UafClientError("the out-of-band link is not a URL");
      }
      payload = decodeBase64UrlJson(param ?? "", "in the link's dispatchTokenResponse");
    } else payload = decodeBase64UrlJson(text);
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload))
    throw new UafClientError("the out-of-band payload is not a JSON object");
  return payload;
}

/** @param {Record<string, any>} payload @returns {boolean} */
const isEncrypted = (payload) => payload.nma_data_content_type === "application/jose";

/**
 * The token and redeem URL of a decoded nma_data.
 * @param {any} data nma_data: the object, or (FCM data values are strings) its JSON text
 * @param {Record<string, any>} payload
 * @returns {OutOfBandPayload}
 */
function readNmaData(data, payload) {
  if (typeof data === "string") data = parseJson(data, "nma_data");
  if (typeof data?.token !== "string" || !data.token)
    throw new UafClientError("the out-of-band payload has no nma_data.token");
  if (typeof data.redeem_url !== "string" || !URL.canParse(data.redeem_url))
    throw new UafClientError("the out-of-band payload has no nma_data.redeem_url URL");
  return { token: data.token, redeemUrl: data.redeem_url, payload };
}

/**
 * Decode a plain (`application/json`) out-of-band payload given in any of its forms. Synchronous; an
 * encrypted payload needs the phone's key: use openOutOfBandPayload.
 * @param {string | Record<string, any>} input the JSON object (an FCM data message's too); its JSON text;
 *   its base64url (QR code); or a link with a `dispatchTokenResponse` query parameter
 * @returns {OutOfBandPayload}
 * @throws {UafClientError} naming what is wrong with it
 *
 * @example parseOutOfBandPayload("https://demo-app.mauth.nevis.cloud/open?dispatchTokenResponse=eyJubWFfZGF0YSI6...")
 */
export function parseOutOfBandPayload(input) {
  const payload = decodePayload(input);
  if (isEncrypted(payload))
    throw new UafClientError(
      "the out-of-band payload is encrypted (application/jose): open it with the phone's key (openOutOfBandPayload)",
    );
  return readNmaData(payload.nma_data, payload);
}

/**
 * Decode an out-of-band payload in any of its forms, decrypting an `application/jose` one with the
 * phone's encryption key (ECDH-ES+A256KW / A256GCM only). `payload` in the result is the payload as
 * received (with the JWE); the token and redeem URL are the decrypted ones.
 * @param {string | Record<string, any>} input as for parseOutOfBandPayload, or an FCM data message
 *   `{nma_data: "<JWE>", nma_data_content_type: "application/jose", nma_data_version: "1"}`
 * @param {import("./uaf-phone.mjs").UafPhone} phone
 * @returns {Promise<OutOfBandPayload>}
 * @throws {UafClientError} naming what is wrong: not a JWE, another algorithm, encrypted to another key, ...
 *
 * @example const { token, redeemUrl } = await openOutOfBandPayload(fcmMessage.data, phone);
 */
export async function openOutOfBandPayload(input, phone) {
  const payload = decodePayload(input);
  if (!isEncrypted(payload)) return readNmaData(payload.nma_data, payload);
  if (typeof payload.nma_data !== "string" || payload.nma_data.split(".").length !== 5)
    throw new UafClientError("the encrypted out-of-band payload's nma_data is not a compact JWE");
  if (!phone.encryptionKey)
    throw new UafClientError(
      "the out-of-band payload is encrypted, and this phone has no encryption key: it was encrypted to another device",
    );
  const key = await crypto.subtle.importKey(
    "jwk",
    phone.encryptionKey.privateJwk,
    { name: "ECDH", namedCurve: "P-256" },
    false,
    ["deriveBits"],
  );
  let plaintext;
  try {
    ({ plaintext } = await compactDecrypt(payload.nma_data, key, {
      keyManagementAlgorithms: [PAYLOAD_ENCRYPTION.alg],
      contentEncryptionAlgorithms: [PAYLOAD_ENCRYPTION.enc],
    }));
  } catch (e) {
    throw new UafClientError(decryptionFailure(/** @type {any} */ (e)));
  }
  return readNmaData(parseJson(new TextDecoder().decode(plaintext), "(decrypted nma_data)"), payload);
}

/** @param {{ code?: string, message?: string }} e a jose error @returns {string} */
function decryptionFailure(e) {
  switch (e.code) {
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return `the encrypted out-of-band payload uses another algorithm (${e.message}); the phone accepts alg ${PAYLOAD_ENCRYPTION.alg}, enc ${PAYLOAD_ENCRYPTION.enc}`;
    case "ERR_JWE_DECRYPTION_FAILED":
      return "the encrypted out-of-band payload does not decrypt with this phone's encryption key: it was encrypted to another device";
    default:
      return `the encrypted out-of-band payload is not a valid JWE (${e.code ?? "error"}: ${e.message})`;
  }
}

/**
 * Where the phone sends its answer to a redeemed request: the registration or authentication response
 * service of the redeem URL's path family.
 * - `…/_app/token/redeem/*` → `…/_app/uaf/1.1/registration` or `…/_app/uaf/1.1/authentication`;
 * - `…/nevisfido/token/redeem/*` → `…/nevisfido/uaf/1.1/registration` or `…/auth/fidouaf/authenticationresponse`.
 * @param {string} redeemUrl
 * @param {"Reg" | "Auth"} op the op of the redeemed request
 * @returns {string}
 * @throws {UafClientError} when the redeem URL is in neither path family
 */
export function responseServiceUrl(redeemUrl, op) {
  const url = new URL(redeemUrl);
  const m = /^(.*)\/(_app|nevisfido)\/token\/redeem\/[a-z]+\/?$/.exec(url.pathname);
  if (!m)
    throw new UafClientError(
      `redeem_url ${redeemUrl} is not a …/_app/token/redeem/… or …/nevisfido/token/redeem/… URL`,
    );
  const [, prefix, family] = m;
  if (op === "Reg") url.pathname = `${prefix}/${family}/uaf/1.1/registration`;
  else if (op === "Auth")
    url.pathname =
      family === "_app" ? `${prefix}/_app/uaf/1.1/authentication` : `${prefix}/auth/fidouaf/authenticationresponse`;
  else throw new TypeError(`no response service for op ${JSON.stringify(op)}`);
  url.search = "";
  url.hash = "";
  return url.href;
}
