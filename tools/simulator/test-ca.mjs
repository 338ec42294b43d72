// The local development test CA: a root with an Android-style and an Apple-style intermediate.
//
// THE PRIVATE KEYS ARE PUBLICLY KNOWN TEST MATERIAL (dev/test-ca/, test-ca-material.mjs).
// Only the development configuration's non-production attestation policies trust root.pem;
// production never does. Anyone can mint attestations under this CA.
//
// Plain ESM on WebCrypto: runs in Node 22 and workerd. `generateTestCa` makes a fresh CA
// (make-test-ca.mjs writes it to disk; tests may also make a throwaway one in memory);
// `loadTestCa` imports stored material for signing.

import { TEST_CA_MATERIAL } from "./test-ca-material.mjs";
import {
  KU,
  authorityKeyIdExt,
  basicConstraintsExt,
  buildName,
  derToPem,
  issueCertificate,
  keyIdentifier,
  keyUsageExt,
  pemToDer,
  randomBytes,
  subjectKeyIdExt,
  toHex,
} from "./x509.mjs";

export const TEST_CA_NOTICE = "NOT FOR PRODUCTION";
export const ROOT_COMMON_NAME = "haapi-edge development test CA — NOT FOR PRODUCTION";
export const TEST_ORGANIZATION = "haapi-edge development (publicly known test keys)";

/**
 * One stored CA certificate with its key, as written to dev/test-ca/ and test-ca-material.mjs.
 * @typedef {object} CaMaterialEntry
 * @property {string} certificatePem
 * @property {string} privateKeyPem PKCS#8
 * @property {JsonWebKey} privateKeyJwk
 */

/**
 * @typedef {object} TestCaMaterial
 * @property {CaMaterialEntry} root ECDSA P-256, self-signed
 * @property {CaMaterialEntry} android factory-style intermediate (subject carries a serialNumber RDN), ECDSA P-256
 * @property {CaMaterialEntry} apple App Attestation-style intermediate, ECDSA P-384 signing leaves with SHA-256 (like Apple's)
 */

/**
 * A loaded CA certificate: DER, PEM and a non-extractable signing key.
 * @typedef {object} CaCert
 * @property {Uint8Array} certificateDer
 * @property {string} certificatePem
 * @property {CryptoKey} privateKey
 * @property {CryptoKey} publicKey
 * @property {Uint8Array} keyId subject key identifier
 * @property {string} namedCurve "P-256" | "P-384"
 */

/**
 * @typedef {object} TestCa
 * @property {CaCert} root
 * @property {CaCert} android
 * @property {CaCert} apple
 */

/** @param {string} namedCurve */
const genKey = (namedCurve) =>
  /** @type {Promise<CryptoKeyPair>} */ (
    crypto.subtle.generateKey({ name: "ECDSA", namedCurve }, true, ["sign", "verify"])
  );

/** @param {CryptoKeyPair} kp @returns {Promise<Omit<CaMaterialEntry, "certificatePem">>} */
async function exportPrivate(kp) {
  const jwk = await crypto.subtle.exportKey("jwk", kp.privateKey);
  delete jwk.key_ops;
  delete jwk.ext;
  return {
    privateKeyPem: derToPem(await crypto.subtle.exportKey("pkcs8", kp.privateKey), "PRIVATE KEY"),
    privateKeyJwk: jwk,
  };
}

/**
 * Generate a fresh test CA. `rootCommonName` names the root otherwise: an operator's own device CA in
 * tests of production-shaped configurations (only the committed development CA's name is refused there).
 * @param {{ notBefore?: Date, rootNotAfter?: Date, intermediateNotAfter?: Date, rootCommonName?: string }} [opts]
 * @returns {Promise<TestCaMaterial>}
 */
export async function generateTestCa(opts = {}) {
  const notBefore = opts.notBefore ?? new Date("2024-01-01T00:00:00Z");
  const rootNotAfter = opts.rootNotAfter ?? new Date("2074-01-01T00:00:00Z");
  const interNotAfter = opts.intermediateNotAfter ?? new Date("2064-01-01T00:00:00Z");

  const rootKp = await genKey("P-256");
  const rootName = buildName([
    ["CN", opts.rootCommonName ?? ROOT_COMMON_NAME],
    ["O", TEST_ORGANIZATION],
  ]);
  const rootKeyId = await keyIdentifier(rootKp.publicKey);
  const rootDer = await issueCertificate({
    subject: rootName,
    issuer: rootName,
    serialNumber: randomBytes(16),
    notBefore,
    notAfter: rootNotAfter,
    publicKey: rootKp.publicKey,
    signingKey: rootKp.privateKey,
    extensions: [
      subjectKeyIdExt(rootKeyId),
      authorityKeyIdExt(rootKeyId),
      basicConstraintsExt(true),
      keyUsageExt(KU.digitalSignature | KU.keyCertSign | KU.cRLSign),
    ],
  });

  /**
   * @param {CryptoKeyPair} kp
   * @param {import("@peculiar/asn1-x509").Name} subject
   * @param {number} pathLen
   */
  const intermediate = async (kp, subject, pathLen) =>
    issueCertificate({
      subject,
      issuer: rootName,
      serialNumber: randomBytes(16),
      notBefore,
      notAfter: interNotAfter,
      publicKey: kp.publicKey,
      signingKey: rootKp.privateKey,
      extensions: [
        subjectKeyIdExt(await keyIdentifier(kp.publicKey)),
        authorityKeyIdExt(rootKeyId),
        basicConstraintsExt(true, pathLen),
        keyUsageExt(KU.digitalSignature | KU.keyCertSign | KU.cRLSign),
      ],
    });

  // Android factory intermediates are named by a 16-hex-digit serialNumber RDN.
  const androidKp = await genKey("P-256");
  const androidDer = await intermediate(
    androidKp,
    buildName([
      ["serialNumber", toHex(randomBytes(8))],
      ["O", TEST_ORGANIZATION],
      ["CN", "haapi-edge test Android attestation intermediate — NOT FOR PRODUCTION"],
    ]),
    0,
  );

  const appleKp = await genKey("P-384");
  const appleDer = await intermediate(
    appleKp,
    buildName([
      ["CN", "haapi-edge test App Attestation CA 1 — NOT FOR PRODUCTION"],
      ["O", TEST_ORGANIZATION],
      ["ST", "California"],
    ]),
    0,
  );

  return {
    root: { certificatePem: derToPem(rootDer), ...(await exportPrivate(rootKp)) },
    android: { certificatePem: derToPem(androidDer), ...(await exportPrivate(androidKp)) },
    apple: { certificatePem: derToPem(appleDer), ...(await exportPrivate(appleKp)) },
  };
}

/** @param {CaMaterialEntry} entry @returns {Promise<CaCert>} */
async function loadEntry(entry) {
  const { crv } = entry.privateKeyJwk;
  const namedCurve = /** @type {string} */ (crv);
  const privateKey = await crypto.subtle.importKey("jwk", entry.privateKeyJwk, { name: "ECDSA", namedCurve }, false, [
    "sign",
  ]);
  const { d: _d, ...pub } = entry.privateKeyJwk;
  const publicKey = await crypto.subtle.importKey("jwk", pub, { name: "ECDSA", namedCurve }, true, ["verify"]);
  return {
    certificateDer: pemToDer(entry.certificatePem),
    certificatePem: entry.certificatePem,
    privateKey,
    publicKey,
    keyId: await keyIdentifier(publicKey),
    namedCurve,
  };
}

/**
 * Import CA material for signing.
 * @param {TestCaMaterial} [material] defaults to the committed development test CA
 * @returns {Promise<TestCa>}
 */
export async function loadTestCa(material = TEST_CA_MATERIAL) {
  const [root, android, apple] = await Promise.all([
    loadEntry(material.root),
    loadEntry(material.android),
    loadEntry(material.apple),
  ]);
  return { root, android, apple };
}

/** @type {Promise<TestCa> | undefined} */
let defaultCa;

/**
 * The committed development test CA, loaded once per isolate/process.
 * @returns {Promise<TestCa>}
 */
export function getDefaultTestCa() {
  defaultCa ??= loadTestCa();
  return defaultCa;
}

/** PEM of the committed test root: what the development configuration trusts. @type {string} */
export const TEST_ROOT_PEM = TEST_CA_MATERIAL?.root.certificatePem;
