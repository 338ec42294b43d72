/**
 * The public UAF vectors (eBay/UAF test data, test/vectors/fido-uaf/SOURCE.txt): the spec example
 * registration and the authentication that follows it, the DER/SPKI authentication, and the
 * registration whose final challenge hash is wrong. Each at a fixed time inside its certificates'
 * validity.
 */
import { describe, expect, it } from "vitest";
import { importUafPublicKey } from "../../src/uaf/algorithms";
import { readAuthAssertion, readRegAssertion } from "../../src/uaf/assertion";
import { verifyAttestation } from "../../src/uaf/attestation";
import { verifyAuthentication, type StoredUafAuthenticator } from "../../src/uaf/authentication";
import { parseUafResponse, type RegistrationResponse } from "../../src/uaf/messages";
import { registrationPolicy } from "../../src/uaf/policy";
import { verifyRegistration, type ExpectedRegistration, type RegistrationTrust } from "../../src/uaf/registration";
import vectors from "../vectors/fido-uaf/ebay-uaf-vectors.json";
import { b64u, expectRefused, fromB64u, T } from "./helpers";
import { importTrustAnchors } from "../../src/x509/chain";

/** Each vector's response through the same parser the routes use (uafResponse is a JSON array). */
function parsed(response: unknown, op: "Reg" | "Auth"): RegistrationResponse {
  const result = parseUafResponse(JSON.stringify([response]), op);
  if (!result.ok) throw new Error(`${result.reason} ${JSON.stringify(result.detail)}`);
  return result.value[0]!;
}

const SPEC = parsed(vectors.registration_spec_example.response, "Reg");
const SPEC_AUTH = parsed(vectors.authentication_spec_example.response, "Auth");
const DER_AUTH = parsed(vectors.authentication_der.response, "Auth");
const BAD_FCH = parsed(vectors.registration_bad_fcparams_hash.response, "Reg");

/** Inside the spec example certificate's validity (2014-08-28..2017-05-24). */
const SPEC_NOW = new Date("2016-01-01T00:00:00Z");
const NOKNOK_APP_ID = "https://uaf-test-1.noknoktest.com:8443/SampleApp/uaf/facets";
const NOKNOK_FACET = "com.noknok.android.sampleapp";
const SPEC_KEY_ID = "ZMCPn92yHv1Ip-iCiBb6i4ADq6ZOv569KFQCvYSJfNg";

const specExpected = (aaid: string): ExpectedRegistration => ({
  appId: NOKNOK_APP_ID,
  challenge: "H9iW9yA9aAXF_lelQoi_DhUk514Ad8Tqv0zCnCqKDpo",
  username: "alice",
  trustedFacetIds: [NOKNOK_FACET],
  policy: registrationPolicy([aaid]),
});
const withoutChain: RegistrationTrust = { roots: [], acceptBasicFullWithoutChain: true, acceptSurrogate: false };

/** The self-signed attestation certificate of the negative vector (a real, unrelated root). */
function synapticsCertificate(): Uint8Array {
  const read = readRegAssertion(BAD_FCH.assertions[0]!.assertion);
  if (!read.ok || read.value.attestation.type !== "basic_full") throw new Error("vector");
  return read.value.attestation.certificates[0]!;
}

async function registeredSpecAuthenticator(): Promise<StoredUafAuthenticator> {
  const registered = await verifyRegistration(SPEC, specExpected("ABCD#ABCD"), withoutChain, SPEC_NOW);
  if (!registered.ok) throw new Error(registered.reason);
  const { aaid, keyId, publicKey, signAlg, signCounter } = registered.value[0]!;
  return { aaid, keyId, publicKey, signAlg, signCounter };
}

describe("registration_spec_example (BASIC_FULL, raw ECDSA, raw key, upv 1.0)", () => {
  it("registers: attestation over the whole KRD with the certificate's key, accepted without a chain", async () => {
    const result = await verifyRegistration(SPEC, specExpected("ABCD#ABCD"), withoutChain, SPEC_NOW);
    expect(result).toEqual({
      ok: true,
      value: [
        {
          aaid: "ABCD#ABCD",
          keyId: SPEC_KEY_ID,
          publicKey: { alg: 0x100, key: b64u(readSpecPublicKey()) },
          signAlg: 0x01,
          signCounter: 1,
          regCounter: 1,
          // ASSERTION_INFO starts 00 01: version 0x0100 read little-endian, as the bytes say.
          authenticatorVersion: 0x0100,
          authenticationMode: 1,
          attestation: "basic_full",
          attestationChainVerified: false,
        },
      ],
    });
  });

  it("is refused without roots when BASIC_FULL needs a chain", async () => {
    const result = await verifyRegistration(
      SPEC,
      specExpected("ABCD#ABCD"),
      { ...withoutChain, acceptBasicFullWithoutChain: false },
      SPEC_NOW,
    );
    expectRefused(result, "attestation_untrusted");
  });

  it("is refused when the configured roots do not include its issuer", async () => {
    const trust = {
      roots: importTrustAnchors([synapticsCertificate()]),
      acceptBasicFullWithoutChain: false,
      acceptSurrogate: false,
    };
    const result = await verifyRegistration(SPEC, specExpected("ABCD#ABCD"), trust, SPEC_NOW);
    expectRefused(result, "attestation_untrusted");
    expect(result).toMatchObject({ detail: { chain: "untrusted_root" } });
  });

  it("is refused once its attestation certificate has expired (2017-05-24)", async () => {
    const result = await verifyRegistration(
      SPEC,
      specExpected("ABCD#ABCD"),
      withoutChain,
      new Date("2017-05-25T00:00:00Z"),
    );
    expectRefused(result, "attestation_certificate_expired");
  });

  it("is refused by a policy that does not list its AAID", async () => {
    expectRefused(await verifyRegistration(SPEC, specExpected("F1D0#0001"), withoutChain, SPEC_NOW), "aaid_unknown");
  });
});

function readSpecPublicKey(): Uint8Array {
  const read = readRegAssertion(SPEC.assertions[0]!.assertion);
  if (!read.ok) throw new Error(read.reason);
  return read.value.publicKey;
}

describe("authentication_spec_example (the same authenticator, signCounter 2)", () => {
  const expected = {
    appId: NOKNOK_APP_ID,
    challenge: "HQ1VkTUQC1NJDOo6OOWdxewrb9i5WthjfKIehFxpeuU",
    trustedFacetIds: [NOKNOK_FACET],
  };

  it("verifies with the key registered from registration_spec_example", async () => {
    const stored = await registeredSpecAuthenticator();
    expect(stored.signCounter).toBe(1);
    const result = await verifyAuthentication(SPEC_AUTH, expected, [stored], SPEC_NOW);
    expect(result).toEqual({
      ok: true,
      value: {
        aaid: "ABCD#ABCD",
        keyId: SPEC_KEY_ID,
        signCounter: 2,
        authenticationMode: 1,
        transactionConfirmed: false,
        counterRegressed: false,
      },
    });
  });

  it("flags the counter as regressed when the stored counter is already 2 or more", async () => {
    const stored = await registeredSpecAuthenticator();
    for (const [previous, regressed] of [
      [1, false],
      [2, true],
      [7, true],
    ] as const) {
      const result = await verifyAuthentication(SPEC_AUTH, expected, [{ ...stored, signCounter: previous }], SPEC_NOW);
      expect(result, `stored ${previous}`).toMatchObject({ ok: true, value: { counterRegressed: regressed } });
    }
  });

  it("is refused with 1481 when the key is not registered", async () => {
    const stored = await registeredSpecAuthenticator();
    expectRefused(
      await verifyAuthentication(SPEC_AUTH, expected, [{ ...stored, keyId: "AAAA" }], SPEC_NOW),
      "unknown_key_id",
    );
  });

  it("is refused for another challenge", async () => {
    const stored = await registeredSpecAuthenticator();
    expectRefused(
      await verifyAuthentication(
        SPEC_AUTH,
        { ...expected, challenge: "H9iW9yA9aAXF_lelQoi_DhUk514Ad8Tqv0zCnCqKDpo" },
        [stored],
        SPEC_NOW,
      ),
      "challenge_mismatch",
    );
  });
});

describe("authentication_der (DER ECDSA, SPKI key, Android facet as appID, padded fcParams)", () => {
  const facet = "android:apk-key-hash:bE0f1WtRJrZv/C0y9CM73bAUqiI";
  const expected = { appId: facet, challenge: "JDJhJDEwJE45TmZaZzlFYVhwcHpHbWNqekNwYWU", trustedFacetIds: [] };
  const DER_NOW = new Date("2015-09-01T00:00:00Z");
  const stored: StoredUafAuthenticator = {
    aaid: "DAB8#8011",
    keyId: "KEvxrLpMDKledX_3zN5L7FAPExPYD0NzO59SkFGrkhQ",
    publicKey: { alg: 0x101, key: vectors.authentication_der.registered_public_key_spki_b64url },
    signAlg: 0x02,
    signCounter: 0,
  };

  it("verifies (the facetID equals the appID: a client called without an appID)", async () => {
    const result = await verifyAuthentication(DER_AUTH, expected, [stored], DER_NOW);
    expect(result).toEqual({
      ok: true,
      value: {
        aaid: "DAB8#8011",
        keyId: stored.keyId,
        signCounter: 0,
        authenticationMode: 1,
        transactionConfirmed: false,
        counterRegressed: false,
      },
    });
  });

  it("hashes fcParams exactly as received: the same value without its '==' is another final challenge", async () => {
    expect(DER_AUTH.fcParams.endsWith("==")).toBe(true);
    const unpadded = { ...DER_AUTH, fcParams: DER_AUTH.fcParams.replace(/=+$/, "") };
    expectRefused(await verifyAuthentication(unpadded, expected, [stored], DER_NOW), "final_challenge_hash_mismatch");
  });

  it("is refused when the registered signature algorithm differs", async () => {
    expectRefused(
      await verifyAuthentication(DER_AUTH, expected, [{ ...stored, signAlg: 0x01 }], DER_NOW),
      "signature_algorithm_mismatch",
    );
  });

  it("is refused for another appID", async () => {
    expectRefused(
      await verifyAuthentication(DER_AUTH, { ...expected, appId: "https://other.example/facets" }, [stored], DER_NOW),
      "app_id_mismatch",
    );
  });

  it("is refused with signature_invalid under another registered key", async () => {
    const other = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
    ])) as CryptoKeyPair;
    const spki = new Uint8Array((await crypto.subtle.exportKey("spki", other.publicKey)) as ArrayBuffer);
    const result = await verifyAuthentication(
      DER_AUTH,
      expected,
      [{ ...stored, publicKey: { alg: 0x101, key: b64u(spki) } }],
      DER_NOW,
    );
    expectRefused(result, "signature_invalid");
  });
});

describe("registration_bad_fcparams_hash (NEGATIVE)", () => {
  const now = new Date("2016-01-01T00:00:00Z"); // certificate valid 2014-09-16..2019-09-16

  it("is refused because FINAL_CHALLENGE_HASH != SHA-256(fcParams)", async () => {
    const trust = {
      roots: importTrustAnchors([synapticsCertificate()]),
      acceptBasicFullWithoutChain: false,
      acceptSurrogate: false,
    };
    const result = await verifyRegistration(BAD_FCH, specExpected("138A#4202"), trust, now);
    expectRefused(result, "final_challenge_hash_mismatch");
    expect(result).toMatchObject({ detail: { assertion: 0 } });
  });

  it("while its attestation itself verifies (so the hash check is what refused it)", async () => {
    const read = readRegAssertion(BAD_FCH.assertions[0]!.assertion);
    if (!read.ok) throw new Error(read.reason);
    expect(read.value).toMatchObject({
      aaid: "138A#4202",
      signAlg: 0x02,
      pubKeyAlg: 0x101,
      attestationTag: T.ATTESTATION_BASIC_FULL,
    });
    const key = await importUafPublicKey(read.value.pubKeyAlg, read.value.publicKey);
    if (!key.ok) throw new Error(key.reason);
    const trust = {
      roots: importTrustAnchors([synapticsCertificate()]),
      acceptBasicFullWithoutChain: false,
      acceptSurrogate: false,
    };
    expect(await verifyAttestation(read.value, key.value, trust, now)).toEqual({
      ok: true,
      value: { attestation: "basic_full", attestationChainVerified: true },
    });
    // ... and a flipped KRD byte breaks it, so the check above is not vacuous.
    const krd = new Uint8Array(read.value.krd);
    krd[krd.length - 1]! ^= 1;
    expect(await verifyAttestation({ ...read.value, krd }, key.value, trust, now)).toMatchObject({
      ok: false,
      reason: "attestation_signature_invalid",
    });
  });
});

describe("every vector", () => {
  it.each([
    ["registration_spec_example", SPEC, readRegAssertion],
    ["authentication_spec_example", SPEC_AUTH, readAuthAssertion],
    ["authentication_der", DER_AUTH, readAuthAssertion],
    ["registration_bad_fcparams_hash", BAD_FCH, readRegAssertion],
  ] as const)(
    "%s decodes completely: whole FinalChallengeParams, an assertion read to its last byte",
    (_name, vector, read) => {
      expect(Object.keys(JSON.parse(new TextDecoder().decode(fromB64u(vector.fcParams)))).sort()).toEqual([
        "appID",
        "challenge",
        "channelBinding",
        "facetID",
      ]);
      expect(vector.assertions).toHaveLength(1);
      expect(read(vector.assertions[0]!.assertion)).toMatchObject({ ok: true });
    },
  );
});
