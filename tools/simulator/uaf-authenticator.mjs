// A simulated on-device FIDO UAF authenticator set, as the Nevis Mobile Authentication SDK ships it:
// PIN, fingerprint (iOS: Touch ID), biometric (iOS: Face ID), device passcode and password, with the
// SDK's AAIDs (Android F1D0#000x, iOS F1D0#100x). It answers one RegistrationRequest or
// AuthenticationRequest with real UAFV1TLV assertions signed by WebCrypto ECDSA P-256 keys, and
// surrogate (self-signed) attestation, which is what these software authenticators use.
// UAF Protocol v1.1 §3.4 (messages), UAF Authenticator Commands v1.1 §4 (TLV structures).
// What it cannot answer (a malformed request, an authenticator the policy refuses) is a UafClientError;
// a caller's mistake (an unknown kind or algorithm) is a TypeError.
// Plain ESM on WebCrypto and jose: runs in Node 22 and workerd (the flow tests import it).

import { base64url } from "jose";
import { DEFAULT_UAF_ANDROID_FACET, DEFAULT_UAF_IOS_FACET } from "./defaults.mjs";
import { UafClientError } from "./uaf-errors.mjs";
import { PUB_KEY_ALG, SIG_ALG, TAG, composite, tlv, uintLE } from "./uaf-tlv.mjs";
import { policyRefusal } from "./uaf-policy.mjs";
import { concat, ecdsaRawToDer, sha256 } from "./x509.mjs";

/** @typedef {"android" | "ios"} Platform */
/** @typedef {"pin" | "fingerprint" | "biometric" | "passcode" | "password"} AuthenticatorKind */

/** The SDK's AAIDs. On iOS, fingerprint is Touch ID and biometric is Face ID. */
const AAIDS = Object.freeze({
  android: Object.freeze({
    pin: "F1D0#0001",
    fingerprint: "F1D0#0002",
    biometric: "F1D0#0003",
    passcode: "F1D0#0004",
    password: "F1D0#0005",
  }),
  ios: Object.freeze({
    pin: "F1D0#1001",
    fingerprint: "F1D0#1002",
    biometric: "F1D0#1003",
    passcode: "F1D0#1004",
    password: "F1D0#1005",
  }),
});

/** Every kind, in the order the CLI lists them. */
export const KINDS = /** @type {readonly AuthenticatorKind[]} */ (
  Object.freeze(["pin", "fingerprint", "biometric", "passcode", "password"])
);

/**
 * Trusted facet IDs of the simulated app (UAF AppID and Facet v1.1 §3.1.2), from defaults.mjs: Android
 * `android:apk-key-hash:` + unpadded base64 of SHA-1 of the signing certificate, here of the UTF-8 bytes of
 * "haapi-edge simulator signing certificate"; iOS `ios:bundle-id:` + the bundle id of DEFAULT_IOS_APP_ID.
 * A server must list them in its facets to accept the simulator.
 */
export const FACET_IDS = Object.freeze({ android: DEFAULT_UAF_ANDROID_FACET, ios: DEFAULT_UAF_IOS_FACET });

/** The simulated authenticators' firmware version (ASSERTION_INFO). */
const AUTHENTICATOR_VERSION = 1;
/** authenticationMode: 1 = the user was verified; 2 = and the transaction content was shown. */
const MODE_USER_VERIFIED = 1;
const MODE_TRANSACTION_SHOWN = 2;

/**
 * The AAID of one authenticator kind on one platform.
 * @param {Platform} platform
 * @param {AuthenticatorKind} kind
 * @returns {string}
 * @example aaidFor("ios", "biometric") // "F1D0#1003" (Face ID)
 */
export function aaidFor(platform, kind) {
  const aaid = AAIDS[platform]?.[kind];
  if (!aaid)
    throw new TypeError(
      `no simulated authenticator "${kind}" on "${platform}" (platforms: android, ios; kinds: ${KINDS.join(", ")})`,
    );
  return aaid;
}

/**
 * The platform and kind of a simulated AAID, or undefined for any other AAID.
 * @param {string} aaid
 * @returns {{ platform: Platform, kind: AuthenticatorKind } | undefined}
 */
export function describeAaid(aaid) {
  for (const platform of /** @type {Platform[]} */ (["android", "ios"])) {
    const kind = KINDS.find((k) => AAIDS[platform][k] === aaid);
    if (kind) return { platform, kind };
  }
  return undefined;
}

/**
 * A simulated authenticator's stored key: what the device keeps after a registration.
 * @typedef {object} UafCredential
 * @property {string} aaid
 * @property {string} keyId base64url KeyID
 * @property {JsonWebKey} privateJwk
 * @property {JsonWebKey} publicJwk
 * @property {number} signAlg 0x01 raw or 0x02 DER signatures
 * @property {number} pubKeyAlg 0x100 raw point or 0x101 SPKI, as registered
 * @property {number} signCounter the last counter value signed
 * @property {number} authenticatorVersion
 * @property {string} username
 * @property {string} appID
 */

/**
 * @typedef {object} OperationHeader
 * @property {{ major: number, minor: number }} upv
 * @property {string} op "Reg" | "Auth" | "Dereg"
 * @property {string} [appID]
 * @property {string} [serverData]
 * @property {unknown[]} [exts]
 */

/**
 * @typedef {object} UafResponse a RegistrationResponse or AuthenticationResponse
 * @property {OperationHeader} header
 * @property {string} fcParams base64url FinalChallengeParams
 * @property {Array<{ assertionScheme: "UAFV1TLV", assertion: string }>} assertions
 */

/**
 * The response header: the request's, copied (UAF Protocol §3.4.6 step "copy header").
 * @param {OperationHeader} header
 * @returns {OperationHeader}
 */
function responseHeader(header) {
  return {
    upv: header.upv,
    op: header.op,
    ...(header.appID !== undefined ? { appID: header.appID } : {}),
    ...(header.serverData !== undefined ? { serverData: header.serverData } : {}),
    ...(header.exts !== undefined ? { exts: header.exts } : {}),
  };
}

/**
 * fcParams (base64url of the FinalChallengeParams JSON) and FINAL_CHALLENGE_HASH = SHA-256 of that string.
 * @param {OperationHeader} header
 * @param {string} challenge
 * @param {string} facetId
 * @param {Record<string, string>} [channelBinding]
 */
async function finalChallenge(header, challenge, facetId, channelBinding = {}) {
  const fcParams = base64url.encode(
    JSON.stringify({ appID: header.appID, challenge, facetID: facetId, channelBinding }),
  );
  return { fcParams, hash: await sha256(fcParams) };
}

/**
 * The bytes a transaction shows: its `content`, base64url (UAF Protocol v1.1 §3.1.8).
 * @param {unknown} content
 * @returns {Uint8Array}
 */
function transactionContent(content) {
  if (typeof content !== "string" || !/^[A-Za-z0-9_-]*={0,2}$/.test(content))
    throw new UafClientError("the Auth request's transaction content is not base64url");
  return base64url.decode(content);
}

/**
 * @param {unknown} request
 * @param {string} op
 * @returns {asserts request is { header: OperationHeader, challenge: string, username?: string, policy: import("./uaf-policy.mjs").Policy, transaction?: Array<{ contentType: string, content: string }> }}
 */
function assertRequest(request, op) {
  const r = /** @type {any} */ (request);
  if (r?.header?.op !== op)
    throw new UafClientError(`not a UAF ${op} request (header.op is ${JSON.stringify(r?.header?.op)})`);
  if (typeof r.header.appID !== "string" || !r.header.appID)
    throw new UafClientError(`the ${op} request has no header.appID`);
  if (typeof r.challenge !== "string" || !r.challenge) throw new UafClientError(`the ${op} request has no challenge`);
}

/** @param {CryptoKey} key @param {Uint8Array<ArrayBuffer>} data @param {number} signAlg */
async function sign(key, data, signAlg) {
  const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, data));
  return signAlg === SIG_ALG.SECP256R1_ECDSA_SHA256_DER ? ecdsaRawToDer(raw) : raw;
}

/**
 * @typedef {object} RegistrationOptions
 * @property {string} aaid the authenticator to register (see aaidFor); the request's policy must accept it
 * @property {string} [facetId] default FACET_IDS of the AAID's platform
 * @property {number} [signCounter] default 0
 * @property {number} [regCounter] default 1
 * @property {number} [signAlg] 0x01 (raw r||s, default) or 0x02 (DER)
 * @property {number} [pubKeyAlg] 0x100 (raw X9.62 point, default) or 0x101 (SPKI)
 * @property {string[]} [registeredKeyIds] KeyIDs this authenticator already holds for the user: a
 *   `disallowed` entry naming one of them refuses the registration, as the SDK does
 */

/**
 * Answer one RegistrationRequest: a new key pair, its KRD, and a surrogate attestation (the KRD TLV,
 * header included, signed by the new key).
 * @param {unknown} request one element of the uafRequest array (op "Reg")
 * @param {RegistrationOptions} options
 * @returns {Promise<{ response: UafResponse, credential: UafCredential }>}
 * @throws {UafClientError} when the request is not a registration request, or its policy does not accept the AAID
 * @throws {TypeError} for an unsupported signAlg or pubKeyAlg
 *
 * @example
 * const [request] = JSON.parse(returnUafRequest.uafRequest);
 * const { response, credential } = await registrationResponse(request, { aaid: aaidFor("android", "pin") });
 * const uafResponse = uafResponseString([response]);
 */
export async function registrationResponse(request, options) {
  assertRequest(request, "Reg");
  if (typeof request.username !== "string" || !request.username)
    throw new UafClientError("the Reg request has no username");
  const aaid = options.aaid;
  const signAlg = options.signAlg ?? SIG_ALG.SECP256R1_ECDSA_SHA256_RAW;
  const pubKeyAlg = options.pubKeyAlg ?? PUB_KEY_ALG.ECC_X962_RAW;
  if (!Object.values(SIG_ALG).includes(signAlg))
    throw new TypeError(`unsupported signAlg 0x${signAlg.toString(16)} (0x01 raw or 0x02 DER)`);
  if (!Object.values(PUB_KEY_ALG).includes(pubKeyAlg))
    throw new TypeError(`unsupported pubKeyAlg 0x${pubKeyAlg.toString(16)} (0x100 raw or 0x101 SPKI)`);
  const refusal = policyRefusal(request.policy, { aaid, keyIds: options.registeredKeyIds ?? [], signAlg });
  if (refusal) throw new UafClientError(`cannot register: ${refusal}`);
  const facetId = options.facetId ?? FACET_IDS[describeAaid(aaid)?.platform ?? "android"];

  const keyPair = /** @type {CryptoKeyPair} */ (
    await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])
  );
  const publicKey = new Uint8Array(
    await crypto.subtle.exportKey(pubKeyAlg === PUB_KEY_ALG.ECC_X962_DER ? "spki" : "raw", keyPair.publicKey),
  );
  const keyId = crypto.getRandomValues(new Uint8Array(32));
  const signCounter = options.signCounter ?? 0;
  const { fcParams, hash } = await finalChallenge(request.header, request.challenge, facetId);
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", keyPair.publicKey);

  const krd = composite(
    TAG.UAFV1_KRD,
    tlv(TAG.AAID, new TextEncoder().encode(aaid)),
    tlv(
      TAG.ASSERTION_INFO,
      concat(uintLE(AUTHENTICATOR_VERSION, 2), uintLE(MODE_USER_VERIFIED, 1), uintLE(signAlg, 2), uintLE(pubKeyAlg, 2)),
    ),
    tlv(TAG.FINAL_CHALLENGE_HASH, hash),
    tlv(TAG.KEYID, keyId),
    tlv(TAG.COUNTERS, concat(uintLE(signCounter, 4), uintLE(options.regCounter ?? 1, 4))),
    tlv(TAG.PUB_KEY, publicKey),
  );
  const attestation = composite(
    TAG.ATTESTATION_BASIC_SURROGATE,
    tlv(TAG.SIGNATURE, await sign(keyPair.privateKey, krd, signAlg)),
  );
  const assertion = composite(TAG.UAFV1_REG_ASSERTION, krd, attestation);

  return {
    response: {
      header: responseHeader(request.header),
      fcParams,
      assertions: [{ assertionScheme: "UAFV1TLV", assertion: base64url.encode(assertion) }],
    },
    credential: {
      aaid,
      keyId: base64url.encode(keyId),
      privateJwk: await crypto.subtle.exportKey("jwk", keyPair.privateKey),
      publicJwk: { kty, crv, x, y },
      signAlg,
      pubKeyAlg,
      signCounter,
      authenticatorVersion: AUTHENTICATOR_VERSION,
      username: request.username,
      appID: /** @type {string} */ (request.header.appID),
    },
  };
}

/**
 * @typedef {object} AuthenticationOptions
 * @property {string} [facetId] default FACET_IDS of the AAID's platform
 * @property {number} [signCounter] sign this counter value instead of the next one (e.g. to replay an
 *   old value for a cloned-authenticator test); default credential.signCounter + 1
 */

/**
 * Answer one AuthenticationRequest with a credential the request's policy accepts: SIGNED_DATA and its
 * signature. When the request carries a transaction, the first one is "shown" (authenticationMode 2)
 * and TRANSACTION_CONTENT_HASH is SHA-256 of its base64url-decoded content.
 * @param {unknown} request one element of the uafRequest array (op "Auth")
 * @param {UafCredential} credential from registrationResponse (or a JSON copy of it); not modified
 * @param {AuthenticationOptions} [options]
 * @returns {Promise<{ response: UafResponse, credential: UafCredential }>} the credential with the new counter
 * @throws {UafClientError} when the request is not an authentication request this credential can answer
 */
export async function authenticationResponse(request, credential, options = {}) {
  assertRequest(request, "Auth");
  if (request.header.appID !== credential.appID)
    throw new UafClientError(`the credential was registered for ${credential.appID}, not ${request.header.appID}`);
  const refusal = policyRefusal(request.policy, {
    aaid: credential.aaid,
    keyIds: [credential.keyId],
    signAlg: credential.signAlg,
  });
  if (refusal) throw new UafClientError(`cannot authenticate: ${refusal}`);
  const facetId = options.facetId ?? FACET_IDS[describeAaid(credential.aaid)?.platform ?? "android"];
  const signCounter = options.signCounter ?? credential.signCounter + 1;
  const transaction = request.transaction?.[0];
  const { fcParams, hash } = await finalChallenge(request.header, request.challenge, facetId);
  const key = await crypto.subtle.importKey(
    "jwk",
    credential.privateJwk,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );

  const signedData = composite(
    TAG.UAFV1_SIGNED_DATA,
    tlv(TAG.AAID, new TextEncoder().encode(credential.aaid)),
    tlv(
      TAG.ASSERTION_INFO,
      concat(
        uintLE(credential.authenticatorVersion ?? AUTHENTICATOR_VERSION, 2),
        uintLE(transaction ? MODE_TRANSACTION_SHOWN : MODE_USER_VERIFIED, 1),
        uintLE(credential.signAlg, 2),
      ),
    ),
    tlv(TAG.AUTHENTICATOR_NONCE, crypto.getRandomValues(new Uint8Array(8))),
    tlv(TAG.FINAL_CHALLENGE_HASH, hash),
    tlv(
      TAG.TRANSACTION_CONTENT_HASH,
      transaction ? await sha256(transactionContent(transaction.content)) : new Uint8Array(0),
    ),
    tlv(TAG.KEYID, base64url.decode(credential.keyId)),
    tlv(TAG.COUNTERS, uintLE(signCounter, 4)),
  );
  const assertion = composite(
    TAG.UAFV1_AUTH_ASSERTION,
    signedData,
    tlv(TAG.SIGNATURE, await sign(key, signedData, credential.signAlg)),
  );

  return {
    response: {
      header: responseHeader(request.header),
      fcParams,
      assertions: [{ assertionScheme: "UAFV1TLV", assertion: base64url.encode(assertion) }],
    },
    credential: { ...credential, signCounter },
  };
}

/**
 * The wire `uafResponse`: a string holding the JSON array of responses.
 * @param {UafResponse[]} responses
 * @returns {string}
 */
export function uafResponseString(responses) {
  return JSON.stringify(responses);
}
