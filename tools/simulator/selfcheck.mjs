#!/usr/bin/env node
// Self-check of the simulator's output (not the server's verifiers: those have their own tests).
// Usage: node tools/simulator/selfcheck.mjs [--keep]   (--keep leaves the PEM/DER files in a temp dir)
// Checks in JS (WebCrypto + asn1 + cborg), then with openssl if it is installed:
//   - Android chain signatures link leaf -> Android intermediate -> root; KeyDescription decodes
//     with @peculiar/asn1-android and carries the inputs; `openssl verify` accepts the chain.
//   - App Attest object: Apple's nine verification steps; `openssl verify` accepts credCert;
//     assertion signature verifies; DPoP proof verifies with its embedded jwk.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import assert from "node:assert/strict";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate } from "@peculiar/asn1-x509";
import { AttestationApplicationId, KeyMintKeyDescription } from "@peculiar/asn1-android";
import { decodeFirst } from "cborg";
import { EmbeddedJWK, jwtVerify } from "jose";
import { makeAndroidAttestation, KEY_DESCRIPTION_OID } from "./android.mjs";
import { makeAppAttestAssertion, makeAppAttestation, APPLE_NONCE_OID } from "./ios.mjs";
import { attestedChallengeBytes, createDpopProof, generateDpopKeyPair, jwkThumbprint } from "./dpop.mjs";
import { getDefaultTestCa, TEST_ROOT_PEM } from "./test-ca.mjs";
import { DEFAULT_ANDROID_SIGNATURE_DIGEST, SIMULATOR_SIGNING_CERTIFICATE_TEXT } from "./defaults.mjs";
import { concat, derToPem, fromBase64, sha256, toBase64 } from "./x509.mjs";

const keep = process.argv.includes("--keep");
const dir = mkdtempSync(path.join(tmpdir(), "haapi-sim-"));
let failures = 0;
/** @param {string} name @param {() => unknown} fn */
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}\n     ${/** @type {Error} */ (e).message.split("\n").join("\n     ")}`);
  }
}

/** DER ECDSA-Sig-Value -> raw r||s. @param {Uint8Array} der @param {number} size */
function derToRaw(der, size) {
  let o = 2;
  if (der[1] & 0x80) o += der[1] & 0x7f;
  /** @returns {Uint8Array} */
  const int = () => {
    const len = der[o + 1];
    let v = der.subarray(o + 2, o + 2 + len);
    o += 2 + len;
    while (v.length > size && v[0] === 0) v = v.subarray(1);
    return concat(new Uint8Array(size - v.length), v);
  };
  return concat(int(), int());
}

/** @param {Uint8Array} certDer @param {Uint8Array} issuerDer */
async function verifySignedBy(certDer, issuerDer) {
  const cert = AsnConvert.parse(certDer, Certificate);
  const issuer = AsnConvert.parse(issuerDer, Certificate);
  assert.deepEqual(
    AsnConvert.serialize(cert.tbsCertificate.issuer),
    AsnConvert.serialize(issuer.tbsCertificate.subject),
    "issuer name != issuer's subject",
  );
  const spki = issuer.tbsCertificate.subjectPublicKeyInfo;
  const spkiDer = AsnConvert.serialize(spki);
  const namedCurve = spkiDer.byteLength === 120 ? "P-384" : "P-256"; // EC SPKI: 91 bytes for P-256, 120 for P-384
  const key = await crypto.subtle.importKey("spki", spkiDer, { name: "ECDSA", namedCurve }, false, ["verify"]);
  const hash = { "1.2.840.10045.4.3.2": "SHA-256", "1.2.840.10045.4.3.3": "SHA-384" }[
    cert.signatureAlgorithm.algorithm
  ];
  assert.ok(hash, `unexpected signature algorithm ${cert.signatureAlgorithm.algorithm}`);
  const sig = derToRaw(new Uint8Array(cert.signatureValue), namedCurve === "P-384" ? 48 : 32);
  const tbs = /** @type {ArrayBuffer} */ (cert.tbsCertificateRaw ?? AsnConvert.serialize(cert.tbsCertificate));
  assert.ok(await crypto.subtle.verify({ name: "ECDSA", hash }, key, sig, tbs), "signature does not verify");
}

/** @param {Uint8Array} certDer @param {string} oid */
function extensionValue(certDer, oid) {
  const ext = AsnConvert.parse(certDer, Certificate).tbsCertificate.extensions?.find((e) => e.extnID === oid);
  assert.ok(ext, `extension ${oid} missing`);
  return new Uint8Array(ext.extnValue.buffer);
}

/** asn1-schema yields OctetString or ArrayBuffer depending on the schema. @param {any} x @returns {Uint8Array} */
const bytesOf = (x) => new Uint8Array(x instanceof ArrayBuffer ? x : x.buffer);

/** @param {string[]} args */
function openssl(...args) {
  return execFileSync("openssl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}
let haveOpenssl = true;
try {
  openssl("version");
} catch {
  haveOpenssl = false;
}

const ca = await getDefaultTestCa();
const rootPem = path.join(dir, "root.pem");
writeFileSync(rootPem, TEST_ROOT_PEM);

await check("default signature digest = base64(SHA-256(UTF-8(simulator signing certificate text)))", async () => {
  assert.equal(toBase64(await sha256(SIMULATOR_SIGNING_CERTIFICATE_TEXT)), DEFAULT_ANDROID_SIGNATURE_DIGEST);
});

await check("test CA intermediates are signed by the root", async () => {
  await verifySignedBy(ca.root.certificateDer, ca.root.certificateDer);
  await verifySignedBy(ca.android.certificateDer, ca.root.certificateDer);
  await verifySignedBy(ca.apple.certificateDer, ca.root.certificateDer);
});

// ---------------------------------------------------------------- DPoP
const dpopKey = await generateDpopKeyPair();
const jkt = await jwkThumbprint(dpopKey.publicKey);
const challenge = crypto.randomUUID();
const attested = await attestedChallengeBytes(challenge, jkt);

await check("DPoP proof verifies with its jwk; thumbprint matches", async () => {
  const proof = await createDpopProof({
    keyPair: dpopKey,
    htm: "post",
    htu: "http://127.0.0.1:8787/oauth/v2/oauth-token/cat?client_id=x",
    nonce: "n1",
  });
  const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: "dpop+jwt", algorithms: ["ES256"] });
  assert.equal(payload.htm, "POST");
  assert.equal(payload.htu, "http://127.0.0.1:8787/oauth/v2/oauth-token/cat");
  assert.equal(payload.nonce, "n1");
  assert.ok(payload.jti && payload.iat);
  assert.equal(
    Object.keys(/** @type {object} */ (protectedHeader.jwk))
      .sort()
      .join(),
    "crv,kty,x,y",
  );
  assert.deepEqual(attested, await sha256(`${challenge}.${jkt}`));
});

// ---------------------------------------------------------------- Android
for (const securityLevel of /** @type {const} */ (["trusted-environment", "strongbox", "software"])) {
  await check(`Android ${securityLevel}: chain links, KeyDescription carries the inputs, openssl verify`, async () => {
    const chain = await makeAndroidAttestation({
      challenge: attested,
      deviceKey: dpopKey,
      packageName: "io.example.app",
      packageVersion: 42,
      signatureDigests: [DEFAULT_ANDROID_SIGNATURE_DIGEST],
      securityLevel,
      bootState: "self-signed",
      deviceLocked: false,
      osVersion: 150000,
      osPatchLevel: 202601,
    });
    assert.equal(chain.length, 3);
    const [leaf, inter, root] = chain.map(fromBase64);
    assert.deepEqual(root, ca.root.certificateDer);
    await verifySignedBy(leaf, inter);
    await verifySignedBy(inter, root);
    const leafCert = AsnConvert.parse(leaf, Certificate);
    const leafSpki = AsnConvert.serialize(leafCert.tbsCertificate.subjectPublicKeyInfo);
    assert.deepEqual(
      new Uint8Array(leafSpki),
      new Uint8Array(await crypto.subtle.exportKey("spki", dpopKey.publicKey)),
      "leaf key != DPoP key",
    );
    assert.equal(leafCert.tbsCertificate.validity.notBefore.getTime().toISOString(), "1970-01-01T00:00:00.000Z");
    assert.equal(leafCert.tbsCertificate.validity.notAfter.getTime().toISOString(), "2048-01-01T00:00:00.000Z");

    const kd = AsnConvert.parse(extensionValue(leaf, KEY_DESCRIPTION_OID), KeyMintKeyDescription);
    const lvl = { software: 0, "trusted-environment": 1, strongbox: 2 }[securityLevel];
    assert.equal(kd.attestationVersion, 400);
    assert.equal(kd.keyMintVersion, 400);
    assert.equal(kd.attestationSecurityLevel, lvl);
    assert.equal(kd.keyMintSecurityLevel, lvl);
    assert.deepEqual(new Uint8Array(kd.attestationChallenge.buffer), attested);
    assert.equal(kd.uniqueId.byteLength, 0);
    const sw = kd.softwareEnforced;
    const hw = securityLevel === "software" ? kd.softwareEnforced : kd.hardwareEnforced;
    if (securityLevel !== "software") assert.equal(kd.hardwareEnforced.origin, 0);
    assert.ok(sw.creationDateTime);
    const appId = AsnConvert.parse(bytesOf(sw.attestationApplicationId), AttestationApplicationId);
    assert.equal(new TextDecoder().decode(bytesOf(appId.packageInfos[0].packageName)), "io.example.app");
    assert.equal(appId.packageInfos[0].version, 42);
    assert.equal(toBase64(bytesOf(appId.signatureDigests[0])), DEFAULT_ANDROID_SIGNATURE_DIGEST);
    assert.equal(hw.origin, 0);
    assert.equal(hw.algorithm, 3);
    assert.equal(hw.keySize, 256);
    assert.equal(hw.ecCurve, 1);
    assert.equal(hw.noAuthRequired, null);
    assert.equal(hw.rootOfTrust?.verifiedBootState, 1);
    assert.equal(hw.rootOfTrust?.deviceLocked, false);
    assert.equal(hw.rootOfTrust?.verifiedBootKey.byteLength, 32);
    assert.equal(hw.osVersion, 150000);
    assert.equal(hw.osPatchLevel, 202601);

    if (haveOpenssl) {
      const [leafPem, interPem] = [leaf, inter].map((d, i) => {
        const f = path.join(dir, `android-${securityLevel}-${i}.pem`);
        writeFileSync(f, derToPem(d));
        return f;
      });
      const out = openssl("verify", "-CAfile", rootPem, "-untrusted", interPem, leafPem);
      assert.match(out, /: OK/);
    }
  });
}

// ---------------------------------------------------------------- iOS
for (const environment of /** @type {const} */ (["development", "production"])) {
  await check(`App Attest ${environment}: nine verification steps, openssl verify, assertion`, async () => {
    const appId = "TEAMID1234.io.example.app";
    const att = await makeAppAttestation({ clientDataHash: attested, appId, environment });
    const [obj] = decodeFirst(fromBase64(att.attestationObject), { useMaps: true });
    assert.deepEqual([...obj.keys()], ["fmt", "attStmt", "authData"]);
    assert.equal(obj.get("fmt"), "apple-appattest");
    const [credCert, inter] = obj.get("attStmt").get("x5c");
    assert.ok(obj.get("attStmt").get("receipt") instanceof Uint8Array);
    /** @type {Uint8Array} */
    const authData = obj.get("authData");
    // 1. chain
    await verifySignedBy(credCert, inter);
    await verifySignedBy(inter, ca.root.certificateDer);
    // 2-4. nonce
    const nonce = await sha256(concat(authData, attested));
    assert.deepEqual(
      extensionValue(credCert, APPLE_NONCE_OID),
      concat(new Uint8Array([0x30, 0x24, 0xa1, 0x22, 0x04, 0x20]), nonce),
    );
    // 5. keyId = SHA-256(65-byte point of credCert key)
    const spki = AsnConvert.parse(credCert, Certificate).tbsCertificate.subjectPublicKeyInfo;
    const point = new Uint8Array(spki.subjectPublicKey);
    assert.equal(point.length, 65);
    const keyId = await sha256(point);
    assert.equal(toBase64(keyId), att.keyId);
    // 6. rpIdHash
    assert.deepEqual(authData.subarray(0, 32), await sha256(appId));
    assert.equal(authData[32], 0x40);
    // 7. counter
    assert.deepEqual(authData.subarray(33, 37), new Uint8Array(4));
    // 8. aaguid
    const aaguid = new TextDecoder().decode(authData.subarray(37, 53));
    assert.equal(aaguid, environment === "development" ? "appattestdevelop" : "appattest\0\0\0\0\0\0\0");
    // 9. credentialId
    assert.deepEqual(authData.subarray(53, 55), new Uint8Array([0, 32]));
    assert.deepEqual(authData.subarray(55, 87), keyId);
    const [cose, rest] = decodeFirst(authData.subarray(87), { useMaps: true });
    assert.equal(rest.length, 0);
    assert.equal(cose.get(1), 2);
    assert.equal(cose.get(3), -7);
    assert.equal(cose.get(-1), 1);
    assert.deepEqual(concat(new Uint8Array([4]), cose.get(-2), cose.get(-3)), point);

    if (haveOpenssl) {
      const leafPem = path.join(dir, `ios-${environment}-leaf.pem`);
      const interPem = path.join(dir, `ios-${environment}-inter.pem`);
      writeFileSync(leafPem, derToPem(credCert));
      writeFileSync(interPem, derToPem(inter));
      assert.match(openssl("verify", "-CAfile", rootPem, "-untrusted", interPem, leafPem), /: OK/);
    }

    // assertion
    const clientDataHash = await sha256("client data");
    const assertion = await makeAppAttestAssertion({ keyPair: att.keyPair, clientDataHash, appId, counter: 1 });
    const [a] = decodeFirst(fromBase64(assertion), { useMaps: true });
    assert.deepEqual([...a.keys()], ["signature", "authenticatorData"]);
    const ad = a.get("authenticatorData");
    assert.equal(ad.length, 37);
    assert.deepEqual(ad.subarray(33), new Uint8Array([0, 0, 0, 1]));
    const key = await crypto.subtle.importKey(
      "spki",
      AsnConvert.serialize(spki),
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    const assertionNonce = await sha256(concat(ad, clientDataHash));
    assert.ok(
      await crypto.subtle.verify(
        { name: "ECDSA", hash: "SHA-256" },
        key,
        derToRaw(a.get("signature"), 32),
        assertionNonce,
      ),
      "assertion signature",
    );
  });
}

if (keep) console.log(`files kept in ${dir}`);
else rmSync(dir, { recursive: true, force: true });
if (!haveOpenssl) console.log("(openssl not found: openssl checks skipped)");
console.log(failures ? `\n${failures} check(s) failed` : "\nall checks passed");
process.exitCode = failures ? 1 : 0;
