/**
 * iOS App Attest: verifyAppAttestation and verifyAppAttestAssertion against real device output from
 * three public projects (test/vectors/app-attest/<source>/, each with SOURCE.txt and LICENSE), each
 * verified at a fixed time inside its credCert's validity window, then mutated one field at a time.
 */
import "reflect-metadata";
import { BasicConstraintsExtension, Extension, X509CertificateGenerator } from "@peculiar/x509";
import { decodeFirst, encode } from "cborg";
import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import { verifyAppAttestation, type AppAttestFailure, type AppAttestPolicy } from "../../src/verifiers/app-attest";
import { verifyAppAttestAssertion } from "../../src/verifiers/app-attest-assertion";
import { importTrustAnchors } from "../../src/x509/chain";
import { APPLE_APP_ATTESTATION_ROOT_CA_PEM } from "../../src/x509/roots/apple";
import checker from "../vectors/app-attest/appattest-checker-node/vectors.json";
import devicecheck from "../vectors/app-attest/devicecheck-appattest/vectors.json";
import nodeDevelopment from "../vectors/app-attest/node-app-attest/attestation-development.json";
import nodeProduction from "../vectors/app-attest/node-app-attest/attestation-production.json";

const anchors = importTrustAnchors([APPLE_APP_ATTESTATION_ROOT_CA_PEM]);
const deps = { anchors };

const fromBase64 = (b64: string): Uint8Array => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const fromBase64url = (b64url: string): Uint8Array => base64url.decode(b64url);
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const sha256 = async (bytes: Uint8Array): Promise<Uint8Array> =>
  new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
const uuidBytes = (uuid: string): Uint8Array =>
  Uint8Array.from(uuid.replaceAll("-", "").match(/../g)!, (hex) => parseInt(hex, 16));

interface AttestationVector {
  readonly name: string;
  readonly attestation: Uint8Array;
  readonly keyId: string;
  readonly clientDataHash: Uint8Array;
  readonly appId: string;
  readonly mode: AppAttestPolicy["mode"];
  readonly environment: "production" | "development";
  /** Inside the credCert's validity window. */
  readonly now: Date;
  /** The attested key as the source publishes it, when it does (SPKI PEM). */
  readonly publicKeyPem?: string;
}

const NODE_APP_ID = "V8H6LQ9448.io.uebelacker.AppAttestExample";
const CHECKER_APP_ID = "979F6L8R8M.org.reactjs.native.example.RNClientAttest";
/** json-stable-stringify of the source's REQUEST (a Node Buffer challenge): see appattest-checker-node/NOTE.txt. */
const CHECKER_CLIENT_DATA = `{"action":"getGameLevel","challenge":{"data":[${uuidBytes(checker.REQUEST_CHALLENGE_STR).join(",")}],"type":"Buffer"},"levelId":1234}`;

async function attestationVectors(): Promise<AttestationVector[]> {
  const vectors: AttestationVector[] = [
    {
      // node-app-attest: the fixture challenge is base64; clientDataHash = SHA-256(decoded bytes). Leaf 2024-02-03..2025-01-08.
      name: "node-app-attest development",
      attestation: fromBase64(nodeDevelopment.attestation),
      keyId: nodeDevelopment.keyId,
      clientDataHash: await sha256(fromBase64(nodeDevelopment.challenge)),
      appId: NODE_APP_ID,
      mode: "non-production",
      environment: "development",
      now: new Date("2024-06-01T00:00:00Z"),
    },
    {
      // Leaf 2024-02-06..2024-12-21.
      name: "node-app-attest production",
      attestation: fromBase64(nodeProduction.attestation),
      keyId: nodeProduction.keyId,
      clientDataHash: await sha256(fromBase64(nodeProduction.challenge)),
      appId: NODE_APP_ID,
      mode: "production",
      environment: "production",
      now: new Date("2024-06-01T00:00:00Z"),
    },
    {
      // appattest-checker-node: clientDataHash = SHA-256 of the UUID's 16 raw bytes. Leaf 2024-01-26..2025-01-13.
      name: "appattest-checker-node",
      attestation: fromBase64(checker.ATTESTATION_BASE64),
      keyId: checker.KEY_ID,
      clientDataHash: await sha256(uuidBytes(checker.KEY_ATTESTATION_CHALLENGE_STR)),
      appId: CHECKER_APP_ID,
      mode: "non-production",
      environment: "development",
      now: new Date("2024-06-01T00:00:00Z"),
      publicKeyPem: checker.EXPECTED_PUBLIC_KEY_PEM,
    },
  ];
  for (const vector of devicecheck) {
    // devicecheck-appattest: clientDataHash = SHA-256(clientData); verified at the recorded timestamp (leaves live 3 days).
    vectors.push({
      name: `devicecheck-appattest ${vector.file}`,
      attestation: fromBase64(vector.attestationBase64),
      keyId: vector.keyIdBase64,
      clientDataHash: await sha256(fromBase64(vector.clientDataBase64)),
      appId: `${vector.teamIdentifier}.${vector.bundleIdentifier}`,
      mode: "non-production",
      environment: "development",
      now: new Date(vector.timestamp),
      publicKeyPem: vector.publicKey,
    });
  }
  return vectors;
}

const VECTORS = await attestationVectors();
const byName = (name: string): AttestationVector => VECTORS.find((vector) => vector.name === name)!;

function verify(
  vector: AttestationVector,
  overrides: Partial<Omit<AttestationVector, "keyId">> & { keyId?: string | Uint8Array; appIds?: string[] } = {},
) {
  const v = { ...vector, ...overrides };
  const keyId = typeof v.keyId === "string" ? fromBase64(v.keyId) : v.keyId;
  return verifyAppAttestation(
    v.attestation,
    { keyId, clientDataHash: v.clientDataHash },
    { appIds: overrides.appIds ?? [v.appId], mode: v.mode },
    deps,
    v.now,
  );
}

async function expectRejected(
  vector: AttestationVector,
  overrides: Parameters<typeof verify>[1],
  reason: AppAttestFailure,
) {
  const result = await verify(vector, overrides);
  expect(result).toMatchObject({ ok: false, reason });
  return result;
}

async function spkiToJwk(pem: string): Promise<JsonWebKey> {
  const der = fromBase64(pem.replace(/-----[A-Z ]+-----|\s+/g, ""));
  const key = await crypto.subtle.importKey("spki", der, { name: "ECDSA", namedCurve: "P-256" }, true, ["verify"]);
  return crypto.subtle.exportKey("jwk", key) as Promise<JsonWebKey>;
}

/** The attestation object as cborg decodes it, to rebuild mutated copies. */
function decodeAttestation(bytes: Uint8Array): Map<string, unknown> {
  return decodeFirst(bytes, { useMaps: true })[0] as Map<string, unknown>;
}

function withStatement(
  bytes: Uint8Array,
  change: (statement: Map<string, unknown>, object: Map<string, unknown>) => void,
): Uint8Array {
  const object = decodeAttestation(bytes);
  change(object.get("attStmt") as Map<string, unknown>, object);
  return encode(object);
}

function flipByte(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index < 0 ? copy.length + index : index]! ^= 0x01;
  return copy;
}

describe("real attestations verify inside their validity window", () => {
  it.each(VECTORS.map((vector) => [vector.name, vector] as const))("%s", async (_name, vector) => {
    const result = await verify(vector);
    if (!result.ok) expect.fail(`${result.reason} ${JSON.stringify(result.detail)}`);
    expect(result.value).toMatchObject({
      platform: "ios",
      appId: vector.appId,
      environment: vector.environment,
      keyId: vector.keyId,
      counter: 0,
    });
    expect(result.value.publicKey).toMatchObject({ kty: "EC", crv: "P-256" });
    expect(result.value.receipt.length).toBeGreaterThan(100);
    if (vector.publicKeyPem) {
      const published = await spkiToJwk(vector.publicKeyPem);
      expect({ x: result.value.publicKey.x, y: result.value.publicKey.y }).toEqual({ x: published.x, y: published.y });
    }
  });

  it("matches any of several accepted App IDs", async () => {
    const vector = byName("node-app-attest production");
    const result = await verify(vector, { appIds: ["ABCDE12345.com.example.other", NODE_APP_ID] });
    expect(result).toMatchObject({ ok: true, value: { appId: NODE_APP_ID } });
  });

  it("accepts a chain that also carries the root", async () => {
    const vector = byName("node-app-attest production");
    const root = anchors[0]!.certificate!.der;
    const attestation = withStatement(vector.attestation, (statement) =>
      statement.set("x5c", [...(statement.get("x5c") as Uint8Array[]), root]),
    );
    expect((await verify(vector, { attestation })).ok).toBe(true);
  });

  it("tolerates trailing bytes after the attestation object (as in Apple's 2026 sample)", async () => {
    const vector = byName("node-app-attest production");
    const attestation = new Uint8Array([...vector.attestation, 0xa0, 0x01, 0x02]);
    expect((await verify(vector, { attestation })).ok).toBe(true);
  });
});

describe("attestation mutations are rejected with the precise reason", () => {
  const production = () => byName("node-app-attest production");
  const development = () => byName("node-app-attest development");

  it("a flipped byte in the credCert's signature: chain_bad_signature", async () => {
    const attestation = withStatement(production().attestation, (statement) => {
      const [leaf, intermediate] = statement.get("x5c") as Uint8Array[];
      statement.set("x5c", [flipByte(leaf!, -5), intermediate]);
    });
    const result = await expectRejected(production(), { attestation }, "chain_bad_signature");
    expect(result).toMatchObject({ detail: { index: 0 } });
  });

  it("a flipped byte in the intermediate's signature: chain_bad_signature", async () => {
    const attestation = withStatement(production().attestation, (statement) => {
      const [leaf, intermediate] = statement.get("x5c") as Uint8Array[];
      statement.set("x5c", [leaf, flipByte(intermediate!, -5)]);
    });
    const result = await expectRejected(production(), { attestation }, "chain_bad_signature");
    expect(result).toMatchObject({ detail: { index: 1 } });
  });

  it("a truncated chain (intermediate missing): chain_untrusted_root", async () => {
    const attestation = withStatement(production().attestation, (statement) =>
      statement.set("x5c", [(statement.get("x5c") as Uint8Array[])[0]]),
    );
    await expectRejected(production(), { attestation }, "chain_untrusted_root");
  });

  it("the leaf and intermediate swapped: chain_issuer_mismatch", async () => {
    const attestation = withStatement(production().attestation, (statement) =>
      statement.set("x5c", [...(statement.get("x5c") as Uint8Array[])].reverse()),
    );
    await expectRejected(production(), { attestation }, "chain_issuer_mismatch");
  });

  it("another trust anchor: chain_untrusted_root", async () => {
    const vector = production();
    const result = await verifyAppAttestation(
      vector.attestation,
      { keyId: fromBase64(vector.keyId), clientDataHash: vector.clientDataHash },
      { appIds: [NODE_APP_ID], mode: "production" },
      { anchors: [] },
      vector.now,
    );
    expect(result).toMatchObject({ ok: false, reason: "chain_untrusted_root" });
  });

  it("a time after the credCert expired: chain_expired", async () => {
    await expectRejected(production(), { now: new Date("2024-12-21T12:42:57Z") }, "chain_expired");
    // The intermediate expires 2030-03-13 and is checked too.
    await expectRejected(production(), { now: new Date("2031-01-01T00:00:00Z") }, "chain_expired");
  });

  it("a time before the credCert's notBefore: chain_not_yet_valid", async () => {
    await expectRejected(production(), { now: new Date("2024-02-06T21:08:55Z") }, "chain_not_yet_valid");
  });

  it("another challenge (clientDataHash): nonce_mismatch", async () => {
    const clientDataHash = await sha256(utf8("another challenge"));
    await expectRejected(production(), { clientDataHash }, "nonce_mismatch");
    // The raw challenge instead of its hash is another challenge too.
    await expectRejected(production(), { clientDataHash: fromBase64(nodeProduction.challenge) }, "nonce_mismatch");
  });

  it("a changed byte in authData: nonce_mismatch", async () => {
    const attestation = withStatement(production().attestation, (_statement, object) =>
      object.set("authData", flipByte(object.get("authData") as Uint8Array, 34)),
    );
    await expectRejected(production(), { attestation }, "nonce_mismatch");
  });

  it("another keyId: key_id_mismatch", async () => {
    const result = await expectRejected(production(), { keyId: nodeDevelopment.keyId }, "key_id_mismatch");
    expect(result).toMatchObject({ detail: { expected: nodeDevelopment.keyId, actual: nodeProduction.keyId } });
    await expectRejected(production(), { keyId: new Uint8Array(0) }, "key_id_mismatch");
  });

  it("another App ID (team or bundle): app_id_mismatch", async () => {
    await expectRejected(production(), { appIds: ["V8H6LQ9448.io.uebelacker.Other"] }, "app_id_mismatch");
    await expectRejected(production(), { appIds: ["ABCDE12345.io.uebelacker.AppAttestExample"] }, "app_id_mismatch");
    await expectRejected(production(), { appIds: [] }, "app_id_mismatch");
  });

  it("a development aaguid under a production policy: aaguid_not_allowed", async () => {
    const result = await expectRejected(development(), { mode: "production" }, "aaguid_not_allowed");
    expect(result).toMatchObject({ detail: { environment: "development", mode: "production" } });
    await expectRejected(byName("appattest-checker-node"), { mode: "production" }, "aaguid_not_allowed");
  });

  it("a production aaguid under a non-production policy: aaguid_not_allowed (strict both ways)", async () => {
    await expectRejected(production(), { mode: "non-production" }, "aaguid_not_allowed");
  });
});

describe("malformed attestation objects are returned as malformed, never thrown", () => {
  const vector = () => byName("node-app-attest production");
  const malformed = async (attestation: Uint8Array, reason: AppAttestFailure = "malformed") => {
    await expect(verify(vector(), { attestation })).resolves.toMatchObject({ ok: false, reason });
  };

  it("empty, truncated CBOR and garbage bytes", async () => {
    await malformed(new Uint8Array(0));
    for (const length of [1, 10, 100, 1000, vector().attestation.length - 1])
      await malformed(vector().attestation.subarray(0, length));
    await malformed(utf8("definitely not CBOR, just text"));
    await malformed(Uint8Array.from({ length: 256 }, (_, i) => (i * 37 + 11) & 0xff));
    await malformed(new Uint8Array([0xff, 0xff, 0xff]));
    await malformed(encode(42));
    await malformed(encode(["apple-appattest"]));
  });

  it("wrong CBOR types: attStmt not a map, x5c not an array, a certificate not bytes, authData not bytes, fmt not a string", async () => {
    await malformed(withStatement(vector().attestation, (_statement, object) => object.set("attStmt", ["x5c"])));
    await malformed(
      withStatement(vector().attestation, (statement) =>
        statement.set("x5c", (statement.get("x5c") as Uint8Array[])[0]),
      ),
    );
    await malformed(withStatement(vector().attestation, (statement) => statement.set("x5c", [])));
    await malformed(withStatement(vector().attestation, (statement) => statement.set("x5c", ["MIIC", "MIIC"])));
    await malformed(withStatement(vector().attestation, (statement) => statement.delete("receipt")));
    await malformed(withStatement(vector().attestation, (_statement, object) => object.set("authData", "authData")));
    await malformed(withStatement(vector().attestation, (_statement, object) => object.delete("authData")));
    await malformed(withStatement(vector().attestation, (_statement, object) => object.set("fmt", 1)));
  });

  it("another fmt: format", async () => {
    await malformed(
      withStatement(vector().attestation, (_statement, object) => object.set("fmt", "packed")),
      "format",
    );
  });

  it("truncated or garbage certificates", async () => {
    await malformed(
      withStatement(vector().attestation, (statement) => {
        const [leaf, intermediate] = statement.get("x5c") as Uint8Array[];
        statement.set("x5c", [leaf!.subarray(0, leaf!.length - 10), intermediate]);
      }),
    );
    await malformed(
      withStatement(vector().attestation, (statement) => statement.set("x5c", [utf8("garbage"), utf8("garbage")])),
    );
  });

  it("truncated authData, or authData without attested credential data", async () => {
    for (const length of [0, 37, 54, 87, 100, 163]) {
      await malformed(
        withStatement(vector().attestation, (_statement, object) =>
          object.set("authData", (object.get("authData") as Uint8Array).subarray(0, length)),
        ),
      );
    }
    await malformed(
      withStatement(vector().attestation, (_statement, object) => {
        const authData = (object.get("authData") as Uint8Array).slice();
        authData[32] = 0x00;
        object.set("authData", authData);
      }),
    );
  });
});

describe("real assertions verify with the key from their attestation", () => {
  const appId = (vector: (typeof devicecheck)[number]) => `${vector.teamIdentifier}.${vector.bundleIdentifier}`;

  it.each(devicecheck.map((vector) => [vector.file, vector] as const))(
    "devicecheck-appattest %s",
    async (file, vector) => {
      const attested = await verify(byName(`devicecheck-appattest ${file}`));
      if (!attested.ok) expect.fail(attested.reason);
      expect(vector.assertions.length).toBeGreaterThan(0);
      for (const assertion of vector.assertions) {
        // devicecheck-appattest: clientDataHash = SHA-256(clientData).
        const result = await verifyAppAttestAssertion(
          fromBase64(assertion.assertionBase64),
          { clientDataHash: await sha256(fromBase64(assertion.clientDataBase64)) },
          { appIds: [appId(vector)] },
          { publicKey: attested.value.publicKey, previousCounter: 0 },
        );
        expect(result).toEqual({ ok: true, value: { counter: assertion.counter, appId: appId(vector) } });
      }
    },
  );

  it("appattest-checker-node (clientData per NOTE.txt), with a JWK and with an imported CryptoKey", async () => {
    const attested = await verify(byName("appattest-checker-node"));
    if (!attested.ok) expect.fail(attested.reason);
    const clientDataHash = await sha256(utf8(CHECKER_CLIENT_DATA));
    const assertion = fromBase64(checker.REQUEST_ASSERTION_BASE64);
    const expected = { ok: true, value: { counter: 1, appId: CHECKER_APP_ID } };
    expect(
      await verifyAppAttestAssertion(
        assertion,
        { clientDataHash },
        { appIds: [CHECKER_APP_ID] },
        { publicKey: attested.value.publicKey, previousCounter: 0 },
      ),
    ).toEqual(expected);
    const key = await crypto.subtle.importKey(
      "jwk",
      { ...attested.value.publicKey },
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    expect(
      await verifyAppAttestAssertion(
        assertion,
        { clientDataHash },
        { appIds: [CHECKER_APP_ID] },
        { publicKey: key, previousCounter: 0 },
      ),
    ).toEqual(expected);
  });
});

describe("assertion mutations are rejected with the precise reason", () => {
  const vector = devicecheck.find((v) => v.file === "ios-14.4.yaml")!;
  const appIds = [`${vector.teamIdentifier}.${vector.bundleIdentifier}`];
  const assertion = fromBase64(vector.assertions[0]!.assertionBase64);
  const clientData = fromBase64(vector.assertions[0]!.clientDataBase64);
  const publicKey = async () => spkiToJwk(vector.publicKey);
  const run = async (
    bytes: Uint8Array,
    overrides: { clientDataHash?: Uint8Array; appIds?: string[]; previousCounter?: number } = {},
  ) =>
    verifyAppAttestAssertion(
      bytes,
      { clientDataHash: overrides.clientDataHash ?? (await sha256(clientData)) },
      { appIds: overrides.appIds ?? appIds },
      { publicKey: await publicKey(), previousCounter: overrides.previousCounter ?? 0 },
    );
  const rebuild = (change: (object: Map<string, unknown>) => void): Uint8Array => {
    const object = decodeFirst(assertion, { useMaps: true })[0] as Map<string, unknown>;
    change(object);
    return encode(object);
  };

  it("the published PEM key verifies it too", async () => {
    expect(await run(assertion)).toEqual({ ok: true, value: { counter: 1, appId: appIds[0] } });
  });

  it("a flipped byte in the signature: bad_signature", async () => {
    const signature = rebuild((object) => object.set("signature", flipByte(object.get("signature") as Uint8Array, 10)));
    expect(await run(signature)).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  it("a changed authenticatorData (counter bumped by the client): bad_signature", async () => {
    const bumped = rebuild((object) =>
      object.set("authenticatorData", flipByte(object.get("authenticatorData") as Uint8Array, 36)),
    );
    expect(await run(bumped)).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  it("another clientData, or clientData not hashed: bad_signature", async () => {
    expect(await run(assertion, { clientDataHash: await sha256(utf8("wurzelpfropf2")) })).toMatchObject({
      ok: false,
      reason: "bad_signature",
    });
    expect(await run(assertion, { clientDataHash: clientData })).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  it("another key: bad_signature", async () => {
    const other = devicecheck.find((v) => v.file === "ios-14.2.yaml")!;
    const result = await verifyAppAttestAssertion(
      assertion,
      { clientDataHash: await sha256(clientData) },
      { appIds },
      { publicKey: await spkiToJwk(other.publicKey), previousCounter: 0 },
    );
    expect(result).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  it("another App ID: app_id_mismatch", async () => {
    expect(await run(assertion, { appIds: ["6MURL8TA57.de.example.other"] })).toMatchObject({
      ok: false,
      reason: "app_id_mismatch",
    });
  });

  it("a counter not above the stored one: counter_not_increasing", async () => {
    expect(await run(assertion, { previousCounter: 1 })).toMatchObject({
      ok: false,
      reason: "counter_not_increasing",
      detail: { counter: 1, previousCounter: 1 },
    });
    expect(await run(assertion, { previousCounter: 7 })).toMatchObject({ ok: false, reason: "counter_not_increasing" });
  });

  it("an unusable stored key is the caller's mistake: TypeError", async () => {
    const call = (publicKey: JsonWebKey) =>
      verifyAppAttestAssertion(
        assertion,
        { clientDataHash: clientData },
        { appIds },
        { publicKey, previousCounter: 0 },
      );
    await expect(call({ kty: "RSA", n: "AQAB", e: "AQAB" })).rejects.toThrow(TypeError);
    await expect(call({ kty: "EC", crv: "P-256", x: "AAAA", y: "AAAA" })).rejects.toThrow(TypeError);
  });

  it("truncated CBOR, garbage and wrong types: malformed, never thrown", async () => {
    const inputs = [
      new Uint8Array(0),
      assertion.subarray(0, 20),
      assertion.subarray(0, assertion.length - 1),
      utf8("garbage garbage garbage"),
      encode("signature"),
      rebuild((object) => object.set("signature", "MEUCIQ")),
      rebuild((object) => object.delete("signature")),
      rebuild((object) => object.set("signature", utf8("not DER"))),
      rebuild((object) =>
        object.set("authenticatorData", (object.get("authenticatorData") as Uint8Array).subarray(0, 36)),
      ),
      rebuild((object) => object.set("authenticatorData", [1, 2, 3])),
    ];
    for (const input of inputs) expect(await run(input)).toMatchObject({ ok: false, reason: "malformed" });
  });
});

/**
 * Checks the real vectors cannot reach (their certificates are Apple-signed, so any authData change is a
 * nonce_mismatch first): a synthetic attestation under a test root, built the way Apple's is.
 */
describe("synthetic attestations under a test root reach the later steps", () => {
  const APP_ID = "ABCDE12345.com.example.app";
  const NOW = new Date("2026-07-01T00:00:00Z");
  const ecdsa = (namedCurve: string) =>
    crypto.subtle.generateKey({ name: "ECDSA", namedCurve }, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;
  const validity = { notBefore: new Date("2026-06-01T00:00:00Z"), notAfter: new Date("2026-08-01T00:00:00Z") };

  interface Synthetic {
    counter?: number;
    aaguid?: Uint8Array;
    credentialId?: (keyId: Uint8Array) => Uint8Array;
    /** Another key in authData than the certified one. */
    coseKeyPair?: CryptoKeyPair;
    /** Bytes after the COSE key (iOS 27 appends an extension map). */
    trailing?: Uint8Array;
    /** The nonce extension's value; default 30 24 A1 22 04 20 <nonce>. */
    nonceExtension?: (nonce: Uint8Array) => Uint8Array | null;
    leafCurve?: string;
  }

  const hierarchy = (async () => {
    const rootKeys = await ecdsa("P-384");
    const intermediateKeys = await ecdsa("P-384");
    const signingAlgorithm = { name: "ECDSA", hash: "SHA-384" };
    const root = await X509CertificateGenerator.createSelfSigned({
      name: "CN=Test App Attestation Root CA",
      keys: rootKeys,
      signingAlgorithm,
      notBefore: new Date("2020-01-01Z"),
      notAfter: new Date("2045-01-01Z"),
      extensions: [new BasicConstraintsExtension(true, undefined, true)],
    });
    const intermediate = await X509CertificateGenerator.create({
      subject: "CN=Test App Attestation CA 1",
      issuer: root.subject,
      publicKey: intermediateKeys.publicKey,
      signingKey: rootKeys.privateKey,
      signingAlgorithm,
      notBefore: new Date("2020-01-01Z"),
      notAfter: new Date("2030-01-01Z"),
      extensions: [new BasicConstraintsExtension(true, 0, true)],
    });
    return { root, intermediate, intermediateKeys, anchors: importTrustAnchors([new Uint8Array(root.rawData)]) };
  })();

  async function build(options: Synthetic = {}): Promise<{
    attestation: Uint8Array;
    keyId: Uint8Array;
    clientDataHash: Uint8Array;
    anchors: ReturnType<typeof importTrustAnchors>;
  }> {
    const { intermediate, intermediateKeys, anchors: testAnchors } = await hierarchy;
    const leafKeys = await ecdsa(options.leafCurve ?? "P-256");
    const point = new Uint8Array((await crypto.subtle.exportKey("raw", leafKeys.publicKey)) as ArrayBuffer);
    const keyId = await sha256(point);
    const coseJwk = (await crypto.subtle.exportKey("jwk", (options.coseKeyPair ?? leafKeys).publicKey)) as JsonWebKey;
    const coseKey = encode(
      new Map<number, unknown>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, fromBase64url(coseJwk.x!)],
        [-3, fromBase64url(coseJwk.y!)],
      ]),
    );
    const credentialId = options.credentialId?.(keyId) ?? keyId;
    const header = new Uint8Array(55);
    header.set(await sha256(utf8(APP_ID)), 0);
    header[32] = 0x40;
    new DataView(header.buffer).setUint32(33, options.counter ?? 0);
    header.set(options.aaguid ?? utf8("appattestdevelop"), 37);
    new DataView(header.buffer).setUint16(53, credentialId.length);
    const authData = new Uint8Array([...header, ...credentialId, ...coseKey, ...(options.trailing ?? [])]);
    const clientDataHash = await sha256(utf8("challenge.jkt"));
    const nonce = await sha256(new Uint8Array([...authData, ...clientDataHash]));
    const nonceExtension = options.nonceExtension
      ? options.nonceExtension(nonce)
      : new Uint8Array([0x30, 0x24, 0xa1, 0x22, 0x04, 0x20, ...nonce]);
    const leaf = await X509CertificateGenerator.create({
      subject: `CN=${[...keyId].map((b) => b.toString(16).padStart(2, "0")).join("")}`,
      issuer: intermediate.subject,
      publicKey: leafKeys.publicKey,
      signingKey: intermediateKeys.privateKey,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" }, // as Apple's P-384 CA does
      ...validity,
      extensions: nonceExtension ? [new Extension("1.2.840.113635.100.8.2", false, nonceExtension)] : [],
    });
    const attStmt = new Map<string, unknown>([
      ["x5c", [new Uint8Array(leaf.rawData), new Uint8Array(intermediate.rawData)]],
      ["receipt", utf8("receipt")],
    ]);
    const attestation = encode(
      new Map<string, unknown>([
        ["fmt", "apple-appattest"],
        ["attStmt", attStmt],
        ["authData", authData],
      ]),
    );
    return { attestation, keyId, clientDataHash, anchors: testAnchors };
  }

  async function run(options: Synthetic = {}, mode: AppAttestPolicy["mode"] = "non-production") {
    const { attestation, keyId, clientDataHash, anchors: testAnchors } = await build(options);
    return verifyAppAttestation(
      attestation,
      { keyId, clientDataHash },
      { appIds: [APP_ID], mode },
      { anchors: testAnchors },
      NOW,
    );
  }

  it("the synthetic attestation itself verifies (development and production)", async () => {
    expect(await run()).toMatchObject({
      ok: true,
      value: { appId: APP_ID, environment: "development", counter: 0, receipt: btoa("receipt") },
    });
    const production = Uint8Array.from([...utf8("appattest"), 0, 0, 0, 0, 0, 0, 0]);
    expect(await run({ aaguid: production }, "production")).toMatchObject({
      ok: true,
      value: { environment: "production" },
    });
  });

  it("tolerates the iOS 27 extension map after the COSE key (flags still 0x40)", async () => {
    const extensions = encode(
      new Map<string, unknown>([
        ["apple_bundle_version_01", "1.0"],
        ["apple_validation_category_01", 1],
      ]),
    );
    expect(await run({ trailing: extensions })).toMatchObject({ ok: true });
  });

  it("a counter other than 0: counter_not_zero", async () => {
    expect(await run({ counter: 1 })).toMatchObject({ ok: false, reason: "counter_not_zero", detail: { counter: 1 } });
  });

  it("an unknown aaguid: aaguid_not_allowed under either mode", async () => {
    expect(await run({ aaguid: new Uint8Array(16) })).toMatchObject({ ok: false, reason: "aaguid_not_allowed" });
    expect(await run({ aaguid: new Uint8Array(16) }, "production")).toMatchObject({
      ok: false,
      reason: "aaguid_not_allowed",
    });
  });

  it("a credentialId other than the keyId: credential_id_mismatch", async () => {
    expect(await run({ credentialId: (keyId) => flipByte(keyId, 0) })).toMatchObject({
      ok: false,
      reason: "credential_id_mismatch",
    });
    expect(await run({ credentialId: (keyId) => keyId.subarray(0, 16) })).toMatchObject({
      ok: false,
      reason: "credential_id_mismatch",
    });
  });

  it("a COSE key in authData other than the certified key: public_key_mismatch", async () => {
    expect(await run({ coseKeyPair: await ecdsa("P-256") })).toMatchObject({
      ok: false,
      reason: "public_key_mismatch",
    });
  });

  it("a nonce extension that is missing, or only starts like one: malformed", async () => {
    expect(await run({ nonceExtension: () => null })).toMatchObject({ ok: false, reason: "malformed" });
    expect(
      await run({ nonceExtension: (nonce) => new Uint8Array([0x30, 0x24, 0xa1, 0x22, 0x04, 0x20, ...nonce, 0x00]) }),
    ).toMatchObject({ ok: false, reason: "malformed" });
    expect(
      await run({ nonceExtension: (nonce) => new Uint8Array([0x30, 0x24, 0xa2, 0x22, 0x04, 0x20, ...nonce]) }),
    ).toMatchObject({ ok: false, reason: "malformed" });
    expect(
      await run({
        nonceExtension: (nonce) => new Uint8Array([0x30, 0x23, 0xa1, 0x21, 0x04, 0x1f, ...nonce.subarray(1)]),
      }),
    ).toMatchObject({ ok: false, reason: "malformed" });
  });

  it("a nonce extension holding another nonce: nonce_mismatch", async () => {
    expect(
      await run({
        nonceExtension: (nonce) => new Uint8Array([0x30, 0x24, 0xa1, 0x22, 0x04, 0x20, ...flipByte(nonce, 31)]),
      }),
    ).toMatchObject({ ok: false, reason: "nonce_mismatch" });
  });

  it("a credCert key that is not P-256: malformed", async () => {
    expect(await run({ leafCurve: "P-384" })).toMatchObject({ ok: false, reason: "malformed" });
  });
});
