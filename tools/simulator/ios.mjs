// Simulated iOS App Attest: attestation objects and assertions in Apple's wire format,
// with the credential certificate signed by the local test CA's Apple-style intermediate.
//
// The App Attest key is a fresh P-256 key separate from the DPoP key (as on iOS, where the
// Secure Enclave key cannot sign DPoP proofs for arbitrary data in JWS form); the DPoP key is
// bound through clientDataHash = SHA-256(UTF-8(challenge + "." + jkt)).
//
// Plain ESM on WebCrypto + cborg + @peculiar/asn1-*: runs in Node 22 and workerd.

import { encode } from "cborg";
import { TEST_ORGANIZATION, getDefaultTestCa } from "./test-ca.mjs";
import { DEFAULT_IOS_APP_ID, DEFAULT_IOS_ENVIRONMENT } from "./defaults.mjs";
import {
  KU,
  basicConstraintsExt,
  buildName,
  concat,
  ecdsaRawToDer,
  extension,
  issueCertificate,
  keyUsageExt,
  sha256,
  subjectOf,
  toBase64,
  toHex,
} from "./x509.mjs";

/** App Attest nonce extension OID. */
export const APPLE_NONCE_OID = "1.2.840.113635.100.8.2";

/** AAGUIDs: "appattestdevelop" (development) and "appattest" followed by seven 0x00 (production). */
export const AAGUID_DEVELOPMENT = new TextEncoder().encode("appattestdevelop");
export const AAGUID_PRODUCTION = concat(new TextEncoder().encode("appattest"), new Uint8Array(7));

/** @typedef {"development" | "production"} AppAttestEnvironment */

/**
 * @typedef {object} AppAttestationOptions
 * @property {Uint8Array} clientDataHash 32 bytes: SHA-256(UTF-8(challenge + "." + jkt)) for the CAT endpoint
 * @property {string} [appId] "<teamId>.<bundleId>"; default HAAPIEDGE1.io.haapiedge.simulator
 * @property {AppAttestEnvironment} [environment] default "development"
 * @property {import("./test-ca.mjs").TestCa} [ca] default the committed development test CA
 * @property {CryptoKeyPair} [keyPair] attest this P-256 key pair instead of generating one
 * @property {Date} [now] certificate issuance time; default now
 * @property {Uint8Array} [receipt] attStmt.receipt bytes; default a placeholder (not a real Apple CMS receipt)
 */

/**
 * @typedef {object} AppAttestation
 * @property {string} keyId base64 SHA-256 of the 65-byte uncompressed public key point
 * @property {string} attestationObject base64 CBOR
 * @property {CryptoKeyPair} keyPair the attested App Attest key (keep it for assertions)
 */

/** @param {number} n @returns {Uint8Array} 4 bytes big-endian */
const u32 = (n) => new Uint8Array([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);

/** @param {number} ms @returns {Uint8Array} minimal big-endian bytes (Apple uses a millisecond timestamp as serial) */
function msSerial(ms) {
  const out = [];
  for (let v = ms; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return new Uint8Array(out.length ? out : [1]);
}

/**
 * Build a simulated App Attest attestation object.
 * @param {AppAttestationOptions} o
 * @returns {Promise<AppAttestation>}
 */
export async function makeAppAttestation(o) {
  if (o.clientDataHash.length !== 32) throw new Error("clientDataHash must be 32 bytes");
  const ca = o.ca ?? (await getDefaultTestCa());
  const now = o.now ?? new Date();
  const appId = o.appId ?? DEFAULT_IOS_APP_ID;
  const environment = o.environment ?? DEFAULT_IOS_ENVIRONMENT;
  if (environment !== "development" && environment !== "production")
    throw new Error(`unknown environment ${environment}`);

  const keyPair =
    o.keyPair ??
    /** @type {CryptoKeyPair} */ (
      await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])
    );
  const point = new Uint8Array(await crypto.subtle.exportKey("raw", keyPair.publicKey)); // 04 || X || Y
  const keyId = await sha256(point);

  const coseKey = new Map(
    /** @type {Array<[number, number | Uint8Array]>} */ ([
      [1, 2], // kty EC2
      [3, -7], // alg ES256
      [-1, 1], // crv P-256
      [-2, point.subarray(1, 33)],
      [-3, point.subarray(33, 65)],
    ]),
  );
  const authData = concat(
    await sha256(appId), // rpIdHash
    new Uint8Array([0x40]), // flags: AT
    u32(0), // counter
    environment === "development" ? AAGUID_DEVELOPMENT : AAGUID_PRODUCTION,
    new Uint8Array([0x00, 0x20]), // credentialId length
    keyId, // credentialId
    encode(coseKey),
  );

  const nonce = await sha256(concat(authData, o.clientDataHash));
  const nonceExt = concat(new Uint8Array([0x30, 0x24, 0xa1, 0x22, 0x04, 0x20]), nonce);

  const credCert = await issueCertificate({
    subject: buildName([
      ["CN", toHex(keyId)],
      ["OU", "AAA Certification"],
      ["O", TEST_ORGANIZATION],
      ["ST", "California"],
    ]),
    issuer: subjectOf(ca.apple.certificateDer),
    serialNumber: msSerial(now.getTime()),
    notBefore: new Date(now.getTime() - 24 * 3600 * 1000),
    notAfter: new Date(now.getTime() + 339 * 24 * 3600 * 1000),
    publicKey: keyPair.publicKey,
    signingKey: ca.apple.privateKey,
    hash: "SHA-256", // Apple's P-384 intermediate signs leaves with ecdsa-with-SHA256
    extensions: [
      basicConstraintsExt(false),
      keyUsageExt(KU.digitalSignature | KU.nonRepudiation | KU.keyEncipherment | KU.dataEncipherment),
      extension(APPLE_NONCE_OID, false, nonceExt),
    ],
  });

  const attestation = {
    fmt: "apple-appattest",
    attStmt: {
      x5c: [credCert, ca.apple.certificateDer],
      receipt: o.receipt ?? new TextEncoder().encode("haapi-edge simulator receipt (not an Apple receipt)"),
    },
    authData,
  };
  return { keyId: toBase64(keyId), attestationObject: toBase64(encode(attestation)), keyPair };
}

/**
 * @typedef {object} AppAttestAssertionOptions
 * @property {CryptoKeyPair} keyPair the attested App Attest key
 * @property {Uint8Array} clientDataHash SHA-256 of the client data being asserted
 * @property {string} [appId] default HAAPIEDGE1.io.haapiedge.simulator
 * @property {number} counter sign counter; must exceed the last one the server stored (first assertion: 1)
 */

/**
 * Build a simulated App Attest assertion: CBOR {signature, authenticatorData}, where
 * authenticatorData = rpIdHash || flags 0x40 || counter (4 bytes BE) and signature is
 * DER ECDSA P-256/SHA-256 with message nonce = SHA-256(authenticatorData || clientDataHash).
 * @param {AppAttestAssertionOptions} o
 * @returns {Promise<string>} base64 CBOR
 */
export async function makeAppAttestAssertion(o) {
  const authenticatorData = concat(await sha256(o.appId ?? DEFAULT_IOS_APP_ID), new Uint8Array([0x40]), u32(o.counter));
  const nonce = await sha256(concat(authenticatorData, o.clientDataHash));
  const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, o.keyPair.privateKey, nonce));
  return toBase64(encode({ signature: ecdsaRawToDer(raw), authenticatorData }));
}
