/// <reference types="vite/client" />
/**
 * Generic X.509 parsing, signatures and path building (src/x509/) on real Android attestation chains.
 */
import { describe, expect, it } from "vitest";
import { importTrustAnchors, verifyChain } from "../../src/x509/chain";
import { parseDerCertificate, pemToDer, X509Error, type ParsedCertificate } from "../../src/x509/parse-certificate";
import { verifySignature } from "../../src/x509/signature";
import {
  GOOGLE_ATTESTATION_ROOTS,
  GOOGLE_HARDWARE_ATTESTATION_ROOT_1,
  GOOGLE_KEY_ATTESTATION_CA1,
} from "../../src/x509/roots/google";
import teguTee from "../vectors/android-key-attestation/testdata/tegu/sdk36/TEE_EC_2026_ROOT.pem?raw";
import caimanTee from "../vectors/android-key-attestation/testdata/caiman/sdk36/TEE_EC_RKP.pem?raw";
import bluelineTee from "../vectors/android-key-attestation/testdata/blueline/sdk28/TEE_EC_NONE.pem?raw";
import p256sha384 from "../vectors/android-key-attestation/testdata/p256_sha384_intermediate.pem?raw";

const anchors = importTrustAnchors([...GOOGLE_ATTESTATION_ROOTS]);
const parse = (pem: string): ParsedCertificate[] => pemToDer(pem).map(parseDerCertificate);
const skipLeaf = (_: ParsedCertificate, index: number) => index !== 0;

describe("parseDerCertificate", () => {
  it("parses fields and keeps the exact TBS bytes", () => {
    const [leaf, , , root] = parse(bluelineTee);
    expect(root!.subjectName).toBe("serialNumber=f92009e853b6b045");
    expect(root!.serialNumberHex).toBe("e8fa196314d2fa18");
    expect(root!.notAfter.toISOString()).toBe("2026-05-24T16:28:52.000Z");
    expect(leaf!.der.subarray(4, 4 + leaf!.tbs.length)).toEqual(leaf!.tbs);
    expect(leaf!.extension("1.3.6.1.4.1.11129.2.1.17")).toBeDefined();
    expect(leaf!.extension("1.2.3")).toBeUndefined();
  });

  it("rejects truncated, trailing and garbage input with malformed_certificate", () => {
    const [der] = pemToDer(bluelineTee);
    const cases = [
      der!.subarray(0, der!.length - 1),
      new Uint8Array([...der!, 0]),
      new Uint8Array([1, 2, 3]),
      new Uint8Array(),
      der!.subarray(0, 10),
    ];
    for (const input of cases) {
      expect(() => parseDerCertificate(input)).toThrow(X509Error);
      try {
        parseDerCertificate(input);
      } catch (error) {
        expect((error as X509Error).code).toBe("malformed_certificate");
      }
    }
  });
});

describe("verifyChain", () => {
  it("verifies a factory chain ending at Root 1 (root included, matched by key)", async () => {
    const result = await verifyChain(parse(bluelineTee), anchors, {
      now: new Date(1538178035062),
      checkValidity: skipLeaf,
    });
    expect(result).toMatchObject({ ok: true, value: { rootIncluded: true, length: 4 } });
  });

  it("verifies an RKP chain to CA1 and with the root omitted", async () => {
    const chain = parse(teguTee);
    const now = new Date(1771894563060);
    expect(await verifyChain(chain, anchors, { now, checkValidity: skipLeaf })).toMatchObject({
      ok: true,
      value: { rootIncluded: true },
    });
    const omitted = await verifyChain(chain.slice(0, -1), anchors, { now, checkValidity: skipLeaf });
    expect(omitted).toMatchObject({ ok: true, value: { rootIncluded: false, length: chain.length - 1 } });
    if (omitted.ok) expect(omitted.value.anchor.label).toContain("Key Attestation CA1");
    expect(
      await verifyChain(chain.slice(0, -1), importTrustAnchors([GOOGLE_HARDWARE_ATTESTATION_ROOT_1]), {
        now,
        checkValidity: skipLeaf,
      }),
    ).toMatchObject({
      ok: false,
      reason: "untrusted_root",
    });
  });

  it("checks validity dates unless told to skip", async () => {
    const chain = parse(caimanTee);
    expect(await verifyChain(chain, anchors, { now: new Date(1758900680964) })).toMatchObject({ ok: true });
    expect(await verifyChain(chain, anchors, { now: new Date("2015-01-01"), checkValidity: skipLeaf })).toMatchObject({
      ok: false,
      reason: "not_yet_valid",
      detail: { index: 1 },
    });
    expect(await verifyChain(chain, anchors, { now: new Date("2040-01-01"), checkValidity: skipLeaf })).toMatchObject({
      ok: false,
      reason: "expired",
    });
  });

  it("rejects a flipped signature byte, a broken link, an empty chain and an unknown root", async () => {
    const now = new Date(1538178035062);
    const ders = pemToDer(bluelineTee);
    const leaf = ders[0]!.slice();
    leaf[leaf.length - 5]! ^= 0x01;
    expect(
      await verifyChain([parseDerCertificate(leaf), ...ders.slice(1).map(parseDerCertificate)], anchors, {
        now,
        checkValidity: skipLeaf,
      }),
    ).toMatchObject({
      ok: false,
      reason: "bad_signature",
      detail: { index: 0 },
    });
    const chain = parse(bluelineTee);
    expect(
      await verifyChain([chain[0]!, chain[2]!, chain[3]!], anchors, { now, checkValidity: skipLeaf }),
    ).toMatchObject({ ok: false, reason: "issuer_mismatch" });
    expect(await verifyChain([], anchors, { now })).toMatchObject({ ok: false, reason: "empty_chain" });
    expect(
      await verifyChain(chain, importTrustAnchors([GOOGLE_KEY_ATTESTATION_CA1]), { now, checkValidity: skipLeaf }),
    ).toMatchObject({ ok: false, reason: "untrusted_root" });
  });

  it("takes the hash from the signature algorithm, not the curve (P-256 key signing with SHA-384)", async () => {
    const chain = parse(p256sha384);
    expect(chain.length).toBeGreaterThanOrEqual(2);
    expect(chain[0]!.signatureAlgorithm).toBe("1.2.840.10045.4.3.3");
    expect(await verifySignature(chain[0]!, chain[1]!.spki)).toBe(true);
  });

  it("reports an unknown signature algorithm as unsupported_algorithm, not a crash", async () => {
    const ders = pemToDer(bluelineTee);
    const leaf = ders[0]!.slice();
    const parsed = parseDerCertificate(leaf);
    // ecdsa-with-SHA256 (…04 03 02) in the outer signatureAlgorithm, after the TBS, becomes …04 03 05 (unknown).
    const outer = 4 + parsed.tbs.length;
    const oid = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
    const at = leaf.findIndex((_, i) => i >= outer && oid.every((b, k) => leaf[i + k] === b));
    expect(at).toBeGreaterThan(0);
    leaf[at + oid.length - 1] = 0x05;
    const mutated = parseDerCertificate(leaf);
    expect(mutated.signatureAlgorithm).toBe("1.2.840.10045.4.3.5");
    const chain = [mutated, ...ders.slice(1).map(parseDerCertificate)];
    expect(await verifyChain(chain, anchors, { now: new Date(1538178035062), checkValidity: skipLeaf })).toMatchObject({
      ok: false,
      reason: "unsupported_algorithm",
      detail: { index: 0 },
    });
    await expect(verifySignature(mutated, chain[1]!.spki)).rejects.toMatchObject({ code: "unsupported_algorithm" });
  });
});
