// The simulated phone of the UAF client simulator: one device (id, name, platform, optional FCM
// registration token), its EC P-256 signature key (the key a Nevis SDK registers as the dispatch
// target's `signatureKey` and signs Device-Signature JWSs with), its EC P-256 encryption key (the
// dispatch target's `encryptionKey`: push payloads are encrypted to it, ECDH-ES+A256KW / A256GCM),
// and its UAF credentials, one per username and AAID. A plain JSON-able object, so the CLI can keep it
// in a file (uaf-phone-file.mjs) and the flow tests in memory.
// Plain ESM on WebCrypto: runs in Node 22 and workerd.

/** @typedef {import("./uaf-authenticator.mjs").UafCredential} UafCredential */
/** @typedef {import("./uaf-authenticator.mjs").Platform} Platform */

/**
 * @typedef {object} UafPhone
 * @property {1} version
 * @property {string} deviceId stable, random; the server keys the device's information by it
 * @property {string} name the DeviceInformation name
 * @property {Platform} platform
 * @property {string} [fcmRegistrationToken]
 * @property {{ privateJwk: JsonWebKey, publicJwk: JsonWebKey }} signatureKey EC P-256 (ECDSA)
 * @property {{ privateJwk: JsonWebKey, publicJwk: JsonWebKey }} [encryptionKey] EC P-256 (ECDH); absent
 *   in phones stored before it existed, until ensureEncryptionKey adds it
 * @property {UafCredential[]} credentials
 */

/** Default device names per platform. */
const DEFAULT_DEVICE_NAMES = Object.freeze({ android: "Simulated Pixel", ios: "Simulated iPhone" });

/** @param {"ECDSA" | "ECDH"} name @returns {Promise<{ privateJwk: JsonWebKey, publicJwk: JsonWebKey }>} */
async function newKeyPair(name) {
  const usages = /** @type {KeyUsage[]} */ (name === "ECDSA" ? ["sign", "verify"] : ["deriveBits"]);
  const pair = /** @type {CryptoKeyPair} */ (
    await crypto.subtle.generateKey({ name, namedCurve: "P-256" }, true, usages)
  );
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return { privateJwk: await crypto.subtle.exportKey("jwk", pair.privateKey), publicJwk: { kty, crv, x, y } };
}

/**
 * A new phone with a fresh device id, signature and encryption keys, and no credentials.
 * @param {{ platform: Platform, name?: string, deviceId?: string, fcmRegistrationToken?: string }} o
 * @returns {Promise<UafPhone>}
 */
export async function newPhone(o) {
  if (o.platform !== "android" && o.platform !== "ios")
    throw new TypeError(`unknown platform ${JSON.stringify(o.platform)} (android or ios)`);
  return {
    version: 1,
    deviceId: o.deviceId ?? crypto.randomUUID(),
    name: o.name ?? DEFAULT_DEVICE_NAMES[o.platform],
    platform: o.platform,
    ...(o.fcmRegistrationToken !== undefined ? { fcmRegistrationToken: o.fcmRegistrationToken } : {}),
    signatureKey: await newKeyPair("ECDSA"),
    encryptionKey: await newKeyPair("ECDH"),
    credentials: [],
  };
}

/**
 * The phone's encryption key, created first when the phone has none (a phone stored before the
 * simulator had encryption keys). A device the server already knows keeps the information it was
 * registered with: only a device new to a user sends the key along (docs/uaf.md, SendUAFResponse).
 * @param {UafPhone} phone modified when it had no encryption key
 * @returns {Promise<{ privateJwk: JsonWebKey, publicJwk: JsonWebKey }>}
 */
export async function ensureEncryptionKey(phone) {
  phone.encryptionKey ??= await newKeyPair("ECDH");
  return phone.encryptionKey;
}

/**
 * The registration context the phone sends with a RegistrationResponse (docs/uaf.md, SendUAFResponse).
 * @param {UafPhone} phone with its encryption key (see ensureEncryptionKey)
 * @returns {{ deviceId: string, deviceInformation: { name: string, fcmRegistrationToken?: string, signatureKey: JsonWebKey, encryptionKey: JsonWebKey } }}
 * @throws {TypeError} when the phone has no encryption key yet
 */
export function deviceContext(phone) {
  if (!phone.encryptionKey)
    throw new TypeError("the phone has no encryption key yet: await ensureEncryptionKey(phone) first");
  return {
    deviceId: phone.deviceId,
    deviceInformation: {
      name: phone.name,
      ...(phone.fcmRegistrationToken !== undefined ? { fcmRegistrationToken: phone.fcmRegistrationToken } : {}),
      signatureKey: phone.signatureKey.publicJwk,
      encryptionKey: phone.encryptionKey.publicJwk,
    },
  };
}

/**
 * Store a credential, replacing the one for the same user and AAID (a new registration, or a new counter).
 * @param {UafPhone} phone modified
 * @param {UafCredential} credential
 */
export function putCredential(phone, credential) {
  const i = phone.credentials.findIndex((c) => c.username === credential.username && c.aaid === credential.aaid);
  if (i === -1) phone.credentials.push(credential);
  else phone.credentials[i] = credential;
}

/**
 * Remove the credentials that match a predicate.
 * @param {UafPhone} phone modified
 * @param {(credential: UafCredential) => boolean} predicate
 * @returns {UafCredential[]} the removed ones
 */
export function removeCredentials(phone, predicate) {
  const removed = phone.credentials.filter(predicate);
  phone.credentials = phone.credentials.filter((c) => !predicate(c));
  return removed;
}

/**
 * The phone without its private keys, to print.
 * @param {UafPhone} phone
 */
export function phoneView(phone) {
  return {
    deviceId: phone.deviceId,
    name: phone.name,
    platform: phone.platform,
    ...(phone.fcmRegistrationToken !== undefined ? { fcmRegistrationToken: phone.fcmRegistrationToken } : {}),
    signatureKey: phone.signatureKey.publicJwk,
    ...(phone.encryptionKey ? { encryptionKey: phone.encryptionKey.publicJwk } : {}),
    credentials: phone.credentials.map(({ privateJwk: _private, ...rest }) => rest),
  };
}
