/**
 * verifyRegistration on messages generated here (WebCrypto keys, the simulator's TLV encoder):
 * surrogate and full attestation, every algorithm pair, then one broken variant per check, each
 * refused with its precise reason (the reason -> UAF status code table is status.test.ts).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { registrationPolicy } from "../../src/uaf/policy";
import { verifyRegistration, type ExpectedRegistration, type RegistrationTrust } from "../../src/uaf/registration";
import { basicConstraintsExt, buildName, issueCertificate, KU, keyUsageExt } from "../../tools/simulator/x509.mjs";
import {
  AAID,
  APP_ID,
  ascii,
  b64u,
  CHALLENGE,
  concat,
  ecKey,
  expectRefused,
  FACET,
  fcParamsOf,
  flipBit,
  NOW,
  regAssertion,
  response,
  rsaKey,
  sign,
  T,
  tlv,
  u16,
  uafv1,
  type RegOptions,
  type UafKey,
} from "./helpers";
import { importTrustAnchors } from "../../src/x509/chain";

const expected: ExpectedRegistration = {
  appId: APP_ID,
  challenge: CHALLENGE,
  username: "alice",
  trustedFacetIds: [FACET],
  policy: registrationPolicy([AAID, "F1D0#0003"]),
};
const surrogateOnly: RegistrationTrust = { roots: [], acceptBasicFullWithoutChain: false, acceptSurrogate: true };
const FC = fcParamsOf();

let key: UafKey;
beforeAll(async () => {
  key = await ecKey();
});

async function reg(options: Partial<RegOptions> = {}, parts: Partial<Parameters<typeof response>[0]> = {}) {
  const built = await regAssertion({ key, fcParams: parts.fcParams ?? FC, ...options });
  return { built, message: response({ fcParams: FC, assertions: [uafv1(built.assertion)], ...parts }) };
}

const verify = (
  message: ReturnType<typeof response>,
  overrides: Partial<ExpectedRegistration> = {},
  trust: RegistrationTrust = surrogateOnly,
) => verifyRegistration(message, { ...expected, ...overrides }, trust, NOW);

describe("verifyRegistration: accepted", () => {
  it("a surrogate-attested P-256 key (raw signature, raw key)", async () => {
    const { built, message } = await reg({ signCounter: 0, regCounter: 3, authenticatorVersion: 0x0101 });
    expect(await verify(message)).toEqual({
      ok: true,
      value: [
        {
          aaid: AAID,
          keyId: b64u(built.keyId),
          publicKey: { alg: 0x100, key: b64u(built.publicKey) },
          signAlg: 1,
          signCounter: 0,
          regCounter: 3,
          authenticatorVersion: 0x0101,
          authenticationMode: 1,
          attestation: "basic_surrogate",
          attestationChainVerified: false,
        },
      ],
    });
  });

  it.each([
    ["ECDSA DER signature, SPKI key", 0x02, 0x101, "ec"],
    ["ECDSA raw signature, SPKI key", 0x01, 0x101, "ec"],
    ["RSASSA-PSS raw signature, raw n||e key", 0x03, 0x102, "rsa"],
    ["RSASSA-PSS DER signature, SPKI key", 0x04, 0x103, "rsa"],
  ] as const)("%s", async (_, signAlg, pubKeyAlg, family) => {
    const algKey = family === "ec" ? key : await rsaKey();
    const { message } = await reg({ key: algKey, signAlg, pubKeyAlg });
    expect(await verify(message)).toMatchObject({ ok: true, value: [{ signAlg, publicKey: { alg: pubKeyAlg } }] });
  });

  it("several authenticators in one response, a lower-case AAID, upv 1.0, padded fcParams and a non-critical extension", async () => {
    const fcParams = `${FC}${"=".repeat((4 - (FC.length % 4)) % 4)}`;
    const a = await regAssertion({ key, fcParams, aaid: "f1d0#0003" });
    const b = await regAssertion({
      key,
      fcParams,
      krdFields: (f) => [
        ...f,
        tlv(T.EXTENSION_NON_CRITICAL, [tlv(T.EXTENSION_ID, ascii("x")), tlv(T.EXTENSION_DATA, ascii("y"))]),
      ],
    });
    const message = response({
      upv: { major: 1, minor: 0 },
      fcParams,
      assertions: [uafv1(a.assertion), uafv1(b.assertion)],
    });
    expect(await verify(message)).toMatchObject({ ok: true, value: [{ aaid: "F1D0#0003" }, { aaid: AAID }] });
  });

  it("the facet equal to the appID, and a channelBinding with members", async () => {
    const fcParams = fcParamsOf({
      facetID: APP_ID,
      channelBinding: { tlsServerCertificate: "abc", cid_pubkey: "unused" },
    });
    const { message } = await reg({}, { fcParams });
    expect((await verify(message, { trustedFacetIds: [] })).ok).toBe(true);
  });
});

describe("verifyRegistration: BASIC_FULL with a certificate chain", () => {
  let root: Uint8Array;
  let attestationKey: UafKey;
  let attestationCert: Uint8Array;
  const validity = { notBefore: new Date("2025-01-01T00:00:00Z"), notAfter: new Date("2027-01-01T00:00:00Z") };

  beforeAll(async () => {
    const rootKey = await ecKey();
    attestationKey = await ecKey();
    const rootName = buildName([["CN", "UAF metadata test root"]]);
    root = await issueCertificate({
      subject: rootName,
      issuer: rootName,
      serialNumber: new Uint8Array([1]),
      ...validity,
      publicKey: rootKey.pair.publicKey,
      signingKey: rootKey.pair.privateKey,
      extensions: [basicConstraintsExt(true), keyUsageExt(KU.keyCertSign)],
    });
    attestationCert = await issueCertificate({
      subject: buildName([["CN", "F1D0 attestation"]]),
      issuer: rootName,
      serialNumber: new Uint8Array([2]),
      ...validity,
      publicKey: attestationKey.pair.publicKey,
      signingKey: rootKey.pair.privateKey,
    });
  });

  const full = () => ({ attestation: { type: "full" as const, key: attestationKey, certificates: [attestationCert] } });

  it("verifies the chain to a configured root", async () => {
    const { message } = await reg(full());
    const trust = { roots: importTrustAnchors([root]), acceptBasicFullWithoutChain: false, acceptSurrogate: false };
    expect(await verify(message, {}, trust)).toMatchObject({
      ok: true,
      value: [{ attestation: "basic_full", attestationChainVerified: true }],
    });
  });

  it("refuses another root, or accepts it unverified when allowed", async () => {
    const { message } = await reg(full());
    const strict = {
      roots: importTrustAnchors([attestationCert]),
      acceptBasicFullWithoutChain: false,
      acceptSurrogate: false,
    };
    // The attestation certificate as its own "root": trusted by key, so this verifies...
    expect(await verify(message, {}, strict)).toMatchObject({ ok: true, value: [{ attestationChainVerified: true }] });
    // ... while a root that did not issue it is untrusted.
    const unrelated = await issueCertificate({
      subject: buildName([["CN", "other"]]),
      issuer: buildName([["CN", "other"]]),
      serialNumber: new Uint8Array([3]),
      ...validity,
      publicKey: key.pair.publicKey,
      signingKey: key.pair.privateKey,
    });
    expectRefused(
      await verify(message, {}, { ...strict, roots: importTrustAnchors([unrelated]) }),
      "attestation_untrusted",
    );
    expect(
      await verify(
        message,
        {},
        { ...strict, roots: importTrustAnchors([unrelated]), acceptBasicFullWithoutChain: true },
      ),
    ).toMatchObject({ ok: true, value: [{ attestationChainVerified: false }] });
  });

  it("refuses a signature by another key than the certificate's", async () => {
    const { message } = await reg({ attestation: { type: "full", key, certificates: [attestationCert] } });
    expectRefused(
      await verify(
        message,
        {},
        { roots: importTrustAnchors([root]), acceptBasicFullWithoutChain: true, acceptSurrogate: false },
      ),
      "attestation_signature_invalid",
    );
  });

  it("refuses a garbage certificate, and a certificate outside its validity", async () => {
    const garbage = await reg({
      attestation: { type: "full", key: attestationKey, certificates: [new Uint8Array([0x30, 0x03, 1, 2, 3])] },
    });
    expectRefused(
      await verify(
        garbage.message,
        {},
        { roots: importTrustAnchors([root]), acceptBasicFullWithoutChain: true, acceptSurrogate: false },
      ),
      "attestation_certificate_malformed",
    );
    const { message } = await reg(full());
    const late = await verifyRegistration(
      message,
      expected,
      { roots: importTrustAnchors([root]), acceptBasicFullWithoutChain: true, acceptSurrogate: false },
      new Date("2027-06-01T00:00:00Z"),
    );
    expectRefused(late, "attestation_certificate_expired");
  });
});

describe("verifyRegistration: refused", () => {
  it("a truncated assertion, cut at several points", async () => {
    const { built } = await reg();
    for (const length of [2, 4, 20, built.krd.length, built.assertion.length - 1]) {
      const message = response({ fcParams: FC, assertions: [uafv1(built.assertion.subarray(0, length))] });
      expectRefused(await verify(message), "tlv_truncated");
    }
  });

  it("an inner length that runs past its parent", async () => {
    const { message } = await reg({
      krdFields: (f) => [...f.slice(0, 5), tlv(T.PUB_KEY, f[5]!.subarray(4), f[5]!.length - 4 + 1)],
    });
    expectRefused(await verify(message), "tlv_truncated");
  });

  it("trailing bytes after the assertion", async () => {
    const { built } = await reg();
    expectRefused(
      await verify(response({ fcParams: FC, assertions: [uafv1(concat(built.assertion, new Uint8Array([0, 0])))] })),
      "tlv_trailing_bytes",
    );
  });

  it("wrong fixed lengths: ASSERTION_INFO of 5 and COUNTERS of 4", async () => {
    const info = await reg({ krdFields: (f) => [f[0]!, tlv(T.ASSERTION_INFO, f[1]!.subarray(4, 9)), ...f.slice(2)] });
    expectRefused(await verify(info.message), "tlv_bad_length");
    const counters = await reg({ krdFields: (f) => [...f.slice(0, 4), tlv(T.COUNTERS, new Uint8Array(4)), f[5]!] });
    expectRefused(await verify(counters.message), "tlv_bad_length");
  });

  it("wrong tags: an authentication assertion, an unknown field", async () => {
    const { built } = await reg();
    const asAuth = concat(u16(T.UAFV1_AUTH_ASSERTION), built.assertion.subarray(2));
    expectRefused(await verify(response({ fcParams: FC, assertions: [uafv1(asAuth)] })), "tlv_unexpected_tag");
    const unknown = await reg({ krdFields: (f) => [...f, tlv(0x2eff, new Uint8Array(1))] });
    expectRefused(await verify(unknown.message), "tlv_unexpected_tag");
  });

  it("swapped, repeated and missing fields", async () => {
    const swapped = await reg({ krdFields: (f) => [f[1]!, f[0]!, ...f.slice(2)] });
    expectRefused(await verify(swapped.message), "tlv_out_of_order");
    const repeated = await reg({ krdFields: (f) => [...f.slice(0, 4), f[3]!, ...f.slice(4)] });
    expectRefused(await verify(repeated.message), "tlv_duplicate_tag");
    const missing = await reg({ krdFields: (f) => f.slice(0, 5) });
    expectRefused(await verify(missing.message), "tlv_missing_tag");
  });

  it("a flipped signature bit, and a flipped KRD byte", async () => {
    const signature = await reg({ corruptSignature: (s) => flipBit(s, 10) });
    expectRefused(await verify(signature.message), "attestation_signature_invalid");
    const { built } = await reg();
    // First KEYID byte: assertion and KRD headers (8), AAID (13), ASSERTION_INFO (11), FCH (36), KEYID header (4).
    const keyIdByte = 8 + 13 + 11 + 36 + 4;
    expect(built.assertion[keyIdByte]).toBe(built.keyId[0]);
    const flipped = flipBit(built.assertion, keyIdByte);
    expectRefused(
      await verify(response({ fcParams: FC, assertions: [uafv1(flipped)] })),
      "attestation_signature_invalid",
    );
  });

  it("a non-canonical DER signature", async () => {
    const padded = await reg({
      signAlg: 0x02,
      pubKeyAlg: 0x101,
      corruptSignature: (s) => concat(new Uint8Array([0x30, s[1]! + 1, 0x02, s[3]! + 1, 0x00]), s.subarray(4)),
    });
    expectRefused(await verify(padded.message), "attestation_signature_invalid");
  });

  it("another challenge, appID or facet, or a final challenge hash over other fcParams", async () => {
    const { message } = await reg();
    expectRefused(await verify(message, { challenge: "another" }), "challenge_mismatch");
    expectRefused(await verify(message, { appId: "https://other.example/facets" }), "app_id_mismatch");
    expectRefused(await verify(message, { trustedFacetIds: ["ios:bundle-id:com.example.app"] }), "facet_not_trusted");
    const fcAppId = fcParamsOf({ appID: "https://other.example/facets" });
    expectRefused(
      await verify((await reg({ fcParams: fcAppId }, { fcParams: fcAppId })).message),
      "fc_params_app_id_mismatch",
    );
    const signedOther = await reg({ fcParams: fcParamsOf({ challenge: "x" }) });
    expectRefused(await verify(signedOther.message), "final_challenge_hash_mismatch");
  });

  it("a wrong upv or op", async () => {
    const { built } = await reg();
    for (const upv of [
      { major: 1, minor: 2 },
      { major: 2, minor: 0 },
      { major: 0, minor: 1 },
    ]) {
      expectRefused(
        await verify(response({ upv, fcParams: FC, assertions: [uafv1(built.assertion)] })),
        "upv_unsupported",
      );
    }
    expectRefused(
      await verify(response({ op: "Auth", fcParams: FC, assertions: [uafv1(built.assertion)] })),
      "op_mismatch",
    );
  });

  it("bad base64url and bad JSON", async () => {
    const { built } = await reg();
    const b64 = b64u(built.assertion);
    expectRefused(
      await verify(response({ fcParams: FC, assertions: [uafv1(`${b64.slice(0, 10)}+${b64.slice(11)}`)] })),
      "assertion_not_base64url",
    );
    expectRefused(
      await verify(response({ fcParams: FC, assertions: [uafv1(`${b64.slice(0, 8)}=${b64.slice(8)}`)] })),
      "assertion_not_base64url",
    );
    expectRefused(await verify(response({ fcParams: FC, assertions: [uafv1(` ${b64}`)] })), "assertion_not_base64url");
    expectRefused(await verify(response({ fcParams: `${FC}*`, assertions: [uafv1(b64)] })), "fc_params_malformed");
    expectRefused(
      await verify(response({ fcParams: b64u(ascii('{"appID":')), assertions: [uafv1(b64)] })),
      "fc_params_malformed",
    );
    expectRefused(
      await verify(response({ fcParams: b64u(ascii("[1]")), assertions: [uafv1(b64)] })),
      "fc_params_malformed",
    );
    expectRefused(
      await verify(response({ fcParams: fcParamsOf({ challenge: 42 }), assertions: [uafv1(b64)] })),
      "fc_params_malformed",
    );
    expectRefused(
      await verify(response({ fcParams: fcParamsOf({ channelBinding: "none" }), assertions: [uafv1(b64)] })),
      "channel_binding_invalid",
    );
  });

  it("the same authenticator twice, and another assertion scheme", async () => {
    const { built } = await reg();
    expectRefused(
      await verify(response({ fcParams: FC, assertions: [uafv1(built.assertion), uafv1(built.assertion)] })),
      "duplicate_assertion",
    );
    expectRefused(
      await verify(
        response({ fcParams: FC, assertions: [{ assertionScheme: "UAFV2TLV", assertion: b64u(built.assertion) }] }),
      ),
      "assertion_scheme_unsupported",
    );
  });

  it("unsupported or mismatched algorithms, and a key that is not a P-256 point", async () => {
    expectRefused(await verify((await reg({ signAlg: 0x06 })).message), "unsupported_algorithm");
    expectRefused(await verify((await reg({ pubKeyAlg: 0x104 })).message), "unsupported_algorithm");
    expectRefused(
      await verify((await reg({ signAlg: 0x01, pubKeyAlg: 0x102, publicKey: new Uint8Array(260).fill(0x81) })).message),
      "unsupported_algorithm",
    );
    const offCurve = new Uint8Array(65).fill(1);
    offCurve[0] = 0x04;
    expectRefused(await verify((await reg({ publicKey: offCurve })).message), "public_key_malformed");
  });

  it("by policy: an unknown AAID, an AAID the policy excludes, an already registered key", async () => {
    expectRefused(await verify((await reg({ aaid: "ABCD#0001" })).message), "aaid_unknown");
    const onlyFull = { accepted: [[{ aaid: [AAID], attestationTypes: [T.ATTESTATION_BASIC_FULL] }]] };
    expectRefused(await verify((await reg()).message, { policy: onlyFull }), "authenticator_not_accepted");
    const { built, message } = await reg();
    const policy = registrationPolicy([AAID], [{ aaid: AAID, keyId: b64u(built.keyId) }]);
    expectRefused(await verify(message, { policy }), "authenticator_not_accepted");
  });

  it("surrogate attestation when not accepted, ECDAA, a critical extension, a registration mode other than 1", async () => {
    expectRefused(
      await verify((await reg()).message, {}, { ...surrogateOnly, acceptSurrogate: false }),
      "attestation_surrogate_not_accepted",
    );
    const ecdaa = await reg({
      attestation: { type: "raw", tlv: async () => tlv(T.ATTESTATION_ECDAA, tlv(T.SIGNATURE, new Uint8Array(64))) },
    });
    expectRefused(await verify(ecdaa.message), "attestation_unsupported");
    const critical = await reg({
      krdFields: (f) => [...f, tlv(T.EXTENSION, [tlv(T.EXTENSION_ID, ascii("x")), tlv(T.EXTENSION_DATA, ascii("y"))])],
    });
    expectRefused(await verify(critical.message), "critical_extension_unsupported");
    expectRefused(await verify((await reg({ mode: 2 })).message), "authentication_mode_invalid");
  });

  it("a malformed AAID or KeyID", async () => {
    expectRefused(await verify((await reg({ aaid: "F1D0-0001" })).message), "aaid_malformed");
    expectRefused(await verify((await reg({ aaid: "F1D0#00011" })).message), "aaid_malformed");
    expectRefused(await verify((await reg({ keyId: new Uint8Array(0) })).message), "key_id_malformed");
    expectRefused(await verify((await reg({ keyId: new Uint8Array(256) })).message), "key_id_malformed");
  });

  it("the whole response when one of its assertions is bad (no partial registration)", async () => {
    const good = await regAssertion({ key, fcParams: FC });
    const bad = await regAssertion({ key, fcParams: FC, corruptSignature: (s) => flipBit(s, 0) });
    const result = await verify(response({ fcParams: FC, assertions: [uafv1(good.assertion), uafv1(bad.assertion)] }));
    expectRefused(result, "attestation_signature_invalid");
    expect(result).toMatchObject({ detail: { assertion: 1 } });
  });

  it("a surrogate signature made by another key", async () => {
    const other = await ecKey();
    const forged = await reg({
      attestation: {
        type: "raw",
        tlv: async (krd) => tlv(T.ATTESTATION_BASIC_SURROGATE, tlv(T.SIGNATURE, await sign(other, 0x01, krd))),
      },
    });
    expectRefused(await verify(forged.message), "attestation_signature_invalid");
  });
});
