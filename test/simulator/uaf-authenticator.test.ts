/**
 * The UAF client simulator's authenticator (tools/simulator/uaf-authenticator.mjs), its TLV encoder and
 * its out-of-band payload handling, inside workerd. The assertions are decoded with a tiny reader written
 * here, not with the server's parser (src/uaf/): the simulator is the independent implementation the
 * server is tested against, so it must be checked independently. Signatures are checked with WebCrypto.
 */
import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import {
  aaidFor,
  authenticationResponse,
  describeAaid,
  FACET_IDS,
  registrationResponse,
  type UafCredential,
} from "../../tools/simulator/uaf-authenticator.mjs";
import { UafClientError } from "../../tools/simulator/uaf-errors.mjs";
import { parseOutOfBandPayload, responseServiceUrl } from "../../tools/simulator/uaf-out-of-band.mjs";
import { composite, TAG, tlv, uintLE } from "../../tools/simulator/uaf-tlv.mjs";
import { sha256 } from "../../tools/simulator/x509.mjs";
import { flipBit } from "../uaf/helpers";

const APP_ID = "https://uaf.example/_app/uaf/1.1/facets";
const HEADER = { upv: { major: 1, minor: 1 }, appID: APP_ID, serverData: "c2VydmVyRGF0YQ.bWFj", exts: [] };
const CHALLENGE = "H9iW9yA9aAXF_lelQoi_DhUk514Ad8Tqv0zCnCqKDpo";
const ALL_AAIDS = [
  ["android", "pin", "F1D0#0001"],
  ["android", "fingerprint", "F1D0#0002"],
  ["android", "biometric", "F1D0#0003"],
  ["android", "passcode", "F1D0#0004"],
  ["android", "password", "F1D0#0005"],
  ["ios", "pin", "F1D0#1001"],
  ["ios", "fingerprint", "F1D0#1002"],
  ["ios", "biometric", "F1D0#1003"],
  ["ios", "passcode", "F1D0#1004"],
  ["ios", "password", "F1D0#1005"],
] as const;

const regRequest = (policy: unknown = { accepted: ALL_AAIDS.map(([, , aaid]) => [{ aaid: [aaid] }]) }) => ({
  header: { ...HEADER, op: "Reg" },
  challenge: CHALLENGE,
  username: "alice",
  policy,
});
const authRequest = (credential: UafCredential, extra: Record<string, unknown> = {}) => ({
  header: { ...HEADER, op: "Auth" },
  challenge: "second-challenge",
  policy: { accepted: [[{ aaid: [credential.aaid], keyIDs: [credential.keyId] }]] },
  ...extra,
});

// ---- a tiny TLV reader, for the test only
interface Tlv {
  tag: number;
  value: Uint8Array;
  raw: Uint8Array;
}
const u16 = (b: Uint8Array, o = 0) => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o = 0) => u16(b, o) + u16(b, o + 2) * 0x10000;
function read(bytes: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  for (let i = 0; i < bytes.length; ) {
    if (i + 4 > bytes.length) throw new Error(`truncated TLV header at ${i}`);
    const end = i + 4 + u16(bytes, i + 2);
    if (end > bytes.length) throw new Error(`TLV 0x${u16(bytes, i).toString(16)} runs past the buffer`);
    out.push({ tag: u16(bytes, i), value: bytes.subarray(i + 4, end), raw: bytes.subarray(i, end) });
    i = end;
  }
  return out;
}
/** The children of the one top-level element, which must have `tag`. */
function open(bytes: Uint8Array, tag: number): Tlv[] {
  const top = read(bytes);
  expect(top.map((e) => e.tag)).toEqual([tag]);
  return read(top[0]!.value);
}
const byTag = (elements: Tlv[], tag: number) => elements.find((e) => e.tag === tag)!;

// ---- crypto helpers
const ECDSA = { name: "ECDSA", hash: "SHA-256" } as const;
const P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const verifies = (key: CryptoKey, signature: Uint8Array, data: Uint8Array) =>
  crypto.subtle.verify(ECDSA, key, signature.slice(), data.slice());
/** DER ECDSA-Sig-Value (short-form lengths, as for P-256) to raw r||s. */
function derToRaw(der: Uint8Array): Uint8Array {
  expect([der[0], der[1]]).toEqual([0x30, der.length - 2]);
  const raw = new Uint8Array(64);
  let i = 2;
  for (const half of [0, 32]) {
    expect(der[i]).toBe(0x02);
    let v = der.subarray(i + 2, i + 2 + der[i + 1]!);
    i += 2 + der[i + 1]!;
    while (v.length > 32 && v[0] === 0) v = v.subarray(1);
    raw.set(v, half + 32 - v.length);
  }
  expect(i).toBe(der.length);
  return raw;
}

describe("AAIDs", () => {
  it.each(ALL_AAIDS)("%s %s is %s, and back", (platform, kind, aaid) => {
    expect(aaidFor(platform, kind)).toBe(aaid);
    expect(describeAaid(aaid)).toEqual({ platform, kind });
  });

  it("refuses an unknown platform or kind", () => {
    expect(() => aaidFor("android", "face" as never)).toThrow(TypeError);
    expect(() => aaidFor("windows" as never, "pin")).toThrow(TypeError);
    expect(describeAaid("ABCD#ABCD")).toBeUndefined();
  });

  it("uses the simulated app's facet ids: unpadded base64 SHA-1 of its signing certificate, and its bundle id", async () => {
    const sha1 = new Uint8Array(
      await crypto.subtle.digest("SHA-1", new TextEncoder().encode("haapi-edge simulator signing certificate")),
    );
    expect(FACET_IDS.android).toBe(`android:apk-key-hash:${btoa(String.fromCharCode(...sha1)).replace(/=+$/, "")}`);
    expect(FACET_IDS.ios).toBe("ios:bundle-id:io.haapiedge.simulator");
  });
});

describe("registration response", () => {
  it.each(ALL_AAIDS)(
    "%s %s (%s): KRD and surrogate attestation signed over the whole KRD",
    async (platform, _kind, aaid) => {
      const { response, credential } = await registrationResponse(regRequest(), { aaid });
      expect(response.header).toEqual({ ...HEADER, op: "Reg" });
      expect(JSON.parse(new TextDecoder().decode(base64url.decode(response.fcParams)))).toEqual({
        appID: APP_ID,
        challenge: CHALLENGE,
        facetID: FACET_IDS[platform],
        channelBinding: {},
      });
      expect(response.assertions).toHaveLength(1);
      expect(response.assertions[0]!.assertionScheme).toBe("UAFV1TLV");

      const [krd, attestation] = open(base64url.decode(response.assertions[0]!.assertion), TAG.UAFV1_REG_ASSERTION);
      expect([krd!.tag, attestation!.tag]).toEqual([TAG.UAFV1_KRD, TAG.ATTESTATION_BASIC_SURROGATE]);
      const fields = read(krd!.value);
      expect(fields.map((e) => e.tag)).toEqual([
        TAG.AAID,
        TAG.ASSERTION_INFO,
        TAG.FINAL_CHALLENGE_HASH,
        TAG.KEYID,
        TAG.COUNTERS,
        TAG.PUB_KEY,
      ]);
      expect(new TextDecoder().decode(byTag(fields, TAG.AAID).value)).toBe(aaid);
      const info = byTag(fields, TAG.ASSERTION_INFO).value;
      expect([info.length, u16(info), info[2], u16(info, 3), u16(info, 5)]).toEqual([7, 1, 1, 0x01, 0x100]);
      expect(byTag(fields, TAG.FINAL_CHALLENGE_HASH).value).toEqual(await sha256(response.fcParams));
      expect(byTag(fields, TAG.KEYID).value).toEqual(base64url.decode(credential.keyId));
      expect(credential.keyId).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const counters = byTag(fields, TAG.COUNTERS).value;
      expect([counters.length, u32(counters), u32(counters, 4)]).toEqual([8, 0, 1]);
      const pubKey = byTag(fields, TAG.PUB_KEY).value;
      expect([pubKey.length, pubKey[0]]).toEqual([65, 0x04]);

      const signatures = read(attestation!.value);
      expect(signatures.map((e) => e.tag)).toEqual([TAG.SIGNATURE]);
      const signature = signatures[0]!.value;
      expect(signature).toHaveLength(64);
      const key = await crypto.subtle.importKey("raw", pubKey.slice(), P256, false, ["verify"]);
      expect(await verifies(key, signature, krd!.raw)).toBe(true);
      expect(await verifies(key, signature, flipBit(krd!.raw, 10))).toBe(false);
      expect(await verifies(key, signature, krd!.value)).toBe(false); // over the whole TLV, header included

      expect(credential).toMatchObject({
        aaid,
        username: "alice",
        appID: APP_ID,
        signAlg: 0x01,
        pubKeyAlg: 0x100,
        signCounter: 0,
      });
    },
  );

  it.each([
    { signAlg: 0x01, pubKeyAlg: 0x100, forms: "raw r||s signature (0x01), raw point (0x100)" },
    { signAlg: 0x01, pubKeyAlg: 0x101, forms: "raw r||s signature (0x01), SPKI (0x101)" },
    { signAlg: 0x02, pubKeyAlg: 0x100, forms: "DER signature (0x02), raw point (0x100)" },
    { signAlg: 0x02, pubKeyAlg: 0x101, forms: "DER signature (0x02), SPKI (0x101)" },
  ])("$forms, as ASSERTION_INFO declares", async ({ signAlg, pubKeyAlg }) => {
    const { response, credential } = await registrationResponse(regRequest(), {
      aaid: "F1D0#1003",
      signAlg,
      pubKeyAlg,
    });
    const [krd, attestation] = open(base64url.decode(response.assertions[0]!.assertion), TAG.UAFV1_REG_ASSERTION);
    const fields = read(krd!.value);
    const info = byTag(fields, TAG.ASSERTION_INFO).value;
    expect([u16(info, 3), u16(info, 5)]).toEqual([signAlg, pubKeyAlg]);
    const pubKey = byTag(fields, TAG.PUB_KEY).value;
    const key = await crypto.subtle.importKey(pubKeyAlg === 0x101 ? "spki" : "raw", pubKey.slice(), P256, false, [
      "verify",
    ]);
    expect(pubKey[0]).toBe(pubKeyAlg === 0x101 ? 0x30 : 0x04);
    const signature = read(attestation!.value)[0]!.value;
    const raw = signAlg === 0x02 ? derToRaw(signature) : signature;
    expect(raw).toHaveLength(64);
    expect(await verifies(key, raw, krd!.raw)).toBe(true);
    expect(credential).toMatchObject({ signAlg, pubKeyAlg });
  });

  it("sets the counters it is given", async () => {
    const { response } = await registrationResponse(regRequest(), { aaid: "F1D0#0001", signCounter: 7, regCounter: 3 });
    const counters = byTag(
      read(open(base64url.decode(response.assertions[0]!.assertion), TAG.UAFV1_REG_ASSERTION)[0]!.value),
      TAG.COUNTERS,
    ).value;
    expect([u32(counters), u32(counters, 4)]).toEqual([7, 3]);
  });
});

describe("authentication response", () => {
  const register = async (options: { signAlg?: number } = {}) =>
    (await registrationResponse(regRequest(), { aaid: "F1D0#0002", ...options })).credential;

  it("signs SIGNED_DATA whole, with the credential's key, and counts up", async () => {
    const registered = await register();
    const snapshot = structuredClone(registered);
    const first = await authenticationResponse(authRequest(registered), registered);
    expect(registered).toEqual(snapshot);
    expect(first.response.header).toEqual({ ...HEADER, op: "Auth" });
    expect(JSON.parse(new TextDecoder().decode(base64url.decode(first.response.fcParams)))).toEqual({
      appID: APP_ID,
      challenge: "second-challenge",
      facetID: FACET_IDS.android,
      channelBinding: {},
    });

    const [signedData, signature] = open(
      base64url.decode(first.response.assertions[0]!.assertion),
      TAG.UAFV1_AUTH_ASSERTION,
    );
    expect([signedData!.tag, signature!.tag]).toEqual([TAG.UAFV1_SIGNED_DATA, TAG.SIGNATURE]);
    const fields = read(signedData!.value);
    expect(fields.map((e) => e.tag)).toEqual([
      TAG.AAID,
      TAG.ASSERTION_INFO,
      TAG.AUTHENTICATOR_NONCE,
      TAG.FINAL_CHALLENGE_HASH,
      TAG.TRANSACTION_CONTENT_HASH,
      TAG.KEYID,
      TAG.COUNTERS,
    ]);
    expect(new TextDecoder().decode(byTag(fields, TAG.AAID).value)).toBe("F1D0#0002");
    const info = byTag(fields, TAG.ASSERTION_INFO).value;
    expect([info.length, u16(info), info[2], u16(info, 3)]).toEqual([5, 1, 1, 0x01]);
    expect(byTag(fields, TAG.AUTHENTICATOR_NONCE).value).toHaveLength(8);
    expect(byTag(fields, TAG.FINAL_CHALLENGE_HASH).value).toEqual(await sha256(first.response.fcParams));
    expect(byTag(fields, TAG.TRANSACTION_CONTENT_HASH).value).toHaveLength(0);
    expect(byTag(fields, TAG.KEYID).value).toEqual(base64url.decode(registered.keyId));
    const counters = byTag(fields, TAG.COUNTERS).value;
    expect([counters.length, u32(counters)]).toEqual([4, 1]);
    expect(first.credential.signCounter).toBe(1);

    const key = await crypto.subtle.importKey("jwk", registered.publicJwk, P256, false, ["verify"]);
    expect(signature!.value).toHaveLength(64);
    expect(await verifies(key, signature!.value, signedData!.raw)).toBe(true);
    expect(await verifies(key, signature!.value, flipBit(signedData!.raw, 20))).toBe(false);

    const second = await authenticationResponse(authRequest(first.credential), first.credential);
    expect(
      u32(
        byTag(
          read(open(base64url.decode(second.response.assertions[0]!.assertion), TAG.UAFV1_AUTH_ASSERTION)[0]!.value),
          TAG.COUNTERS,
        ).value,
      ),
    ).toBe(2);
    expect(second.credential.signCounter).toBe(2);

    const replayed = await authenticationResponse(authRequest(second.credential), second.credential, {
      signCounter: 1,
    });
    expect(
      u32(
        byTag(
          read(open(base64url.decode(replayed.response.assertions[0]!.assertion), TAG.UAFV1_AUTH_ASSERTION)[0]!.value),
          TAG.COUNTERS,
        ).value,
      ),
    ).toBe(1);
  });

  it("shows a transaction: mode 2 and TRANSACTION_CONTENT_HASH = SHA-256 of the decoded content", async () => {
    const registered = await register();
    const text = "Pay 100 EUR to Bob";
    const transaction = [
      { contentType: "text/plain", content: base64url.encode(text) },
      { contentType: "text/plain", content: "b3RoZXI" },
    ];
    const { response } = await authenticationResponse(authRequest(registered, { transaction }), registered);
    const fields = read(open(base64url.decode(response.assertions[0]!.assertion), TAG.UAFV1_AUTH_ASSERTION)[0]!.value);
    expect(byTag(fields, TAG.ASSERTION_INFO).value[2]).toBe(2);
    expect(byTag(fields, TAG.TRANSACTION_CONTENT_HASH).value).toEqual(await sha256(text));
  });

  it("signs DER for a credential registered with signAlg 0x02", async () => {
    const registered = await register({ signAlg: 0x02 });
    const { response } = await authenticationResponse(authRequest(registered), registered);
    const [signedData, signature] = open(base64url.decode(response.assertions[0]!.assertion), TAG.UAFV1_AUTH_ASSERTION);
    expect(u16(byTag(read(signedData!.value), TAG.ASSERTION_INFO).value, 3)).toBe(0x02);
    const key = await crypto.subtle.importKey("jwk", registered.publicJwk, P256, false, ["verify"]);
    expect(await verifies(key, derToRaw(signature!.value), signedData!.raw)).toBe(true);
  });

  it("works from a JSON copy of the credential: the key pair round-trips through JWK", async () => {
    const { response: reg, credential } = await registrationResponse(regRequest(), { aaid: "F1D0#1001" });
    const stored: UafCredential = JSON.parse(JSON.stringify(credential));
    const pubKey = byTag(
      read(open(base64url.decode(reg.assertions[0]!.assertion), TAG.UAFV1_REG_ASSERTION)[0]!.value),
      TAG.PUB_KEY,
    ).value;
    const fromJwk = await crypto.subtle.importKey("jwk", stored.publicJwk, P256, true, ["verify"]);
    expect(new Uint8Array((await crypto.subtle.exportKey("raw", fromJwk)) as ArrayBuffer)).toEqual(pubKey);
    const { response } = await authenticationResponse(authRequest(stored), stored);
    const [signedData, signature] = open(base64url.decode(response.assertions[0]!.assertion), TAG.UAFV1_AUTH_ASSERTION);
    expect(await verifies(fromJwk, signature!.value, signedData!.raw)).toBe(true);
  });
});

describe("policy", () => {
  it.each([
    ["an AAID the policy does not accept", { accepted: [[{ aaid: ["F1D0#0001"] }]] }, {}, /matches no accepted set/],
    [
      "an AAID the policy disallows",
      { accepted: [[{ aaid: ["F1D0#0002"] }]], disallowed: [{ aaid: ["F1D0#0002"] }] },
      {},
      /disallowed/,
    ],
    [
      "a key of this AAID already registered",
      { accepted: [[{ aaid: ["F1D0#0002"] }]], disallowed: [{ aaid: ["F1D0#0002"], keyIDs: ["a2V5"] }] },
      { registeredKeyIds: ["a2V5"] },
      /disallowed/,
    ],
    [
      "an AND of two authenticators",
      { accepted: [[{ aaid: ["F1D0#0002"] }, { aaid: ["F1D0#0001"] }]] },
      {},
      /matches no accepted set/,
    ],
    [
      "another algorithm",
      { accepted: [[{ aaid: ["F1D0#0002"], authenticationAlgorithms: [0x02] }]] },
      {},
      /matches no accepted set/,
    ],
    ["no policy", null, {}, /no policy/],
  ])("registration refuses %s", async (_what, policy, options, message) => {
    const error = await registrationResponse(regRequest(policy), { aaid: "F1D0#0002", ...options }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UafClientError);
    expect((error as Error).message).toMatch(message);
  });

  it("registration accepts what the policy accepts, and a disallowed key it does not hold", async () => {
    const policy = {
      accepted: [
        [
          {
            aaid: ["F1D0#0002"],
            authenticationAlgorithms: [0x01],
            assertionSchemes: ["UAFV1TLV"],
            attestationTypes: [0x3e08],
          },
        ],
      ],
      disallowed: [{ aaid: ["F1D0#0002"], keyIDs: ["a2V5"] }],
    };
    await expect(
      registrationResponse(regRequest(policy), { aaid: "F1D0#0002", registeredKeyIds: ["b3RoZXI"] }),
    ).resolves.toBeDefined();
  });

  it("authentication refuses a credential whose key the policy does not list, a request that is not Auth, and a transaction that is not base64url", async () => {
    const { credential } = await registrationResponse(regRequest(), { aaid: "F1D0#0005" });
    await expect(
      authenticationResponse(
        authRequest(credential, { policy: { accepted: [[{ aaid: ["F1D0#0005"], keyIDs: ["b3RoZXI"] }]] } }),
        credential,
      ),
    ).rejects.toThrow(/matches no accepted set/);
    await expect(
      authenticationResponse({ ...authRequest(credential), header: { ...HEADER, op: "Reg" } }, credential),
    ).rejects.toThrow(/not a UAF Auth request/);
    await expect(
      authenticationResponse(
        { ...authRequest(credential), header: { ...HEADER, op: "Auth", appID: "https://other.example/facets" } },
        credential,
      ),
    ).rejects.toThrow(/registered for/);
    const badTransaction = authRequest(credential, {
      transaction: [{ contentType: "text/plain", content: "UGF5+100/EUR" }],
    });
    await expect(authenticationResponse(badTransaction, credential)).rejects.toThrow(UafClientError);
    await expect(authenticationResponse(badTransaction, credential)).rejects.toThrow(
      /transaction content is not base64url/,
    );
  });
});

describe("TLV encoder", () => {
  it("writes tag and length little-endian, and wraps children in a composite", () => {
    const aaid = tlv(TAG.AAID, new TextEncoder().encode("F1D0#0001"));
    expect([...aaid.subarray(0, 4)]).toEqual([0x0b, 0x2e, 0x09, 0x00]);
    expect([...tlv(TAG.PUB_KEY, new Uint8Array(300)).subarray(0, 4)]).toEqual([0x0c, 0x2e, 0x2c, 0x01]);
    expect([...composite(TAG.UAFV1_KRD, aaid)]).toEqual([0x03, 0x3e, 13, 0, ...aaid]);
    expect([...tlv(TAG.KEYID, new Uint8Array([1, 2, 3]), 4)]).toEqual([0x09, 0x2e, 4, 0, 1, 2, 3]); // a length that lies, on purpose
    expect([...uintLE(0x01020304, 4)]).toEqual([4, 3, 2, 1]);
    expect(() => composite(TAG.AAID, aaid)).toThrow(TypeError);
    expect(() => uintLE(0x10000, 2)).toThrow(RangeError);
  });
});

describe("out-of-band payload", () => {
  const payload = {
    nma_data: {
      token: "b4b07559-f934-4597-a1c5-44d89f691e8f",
      redeem_url: "https://fido.example/nevisfido/token/redeem/registration",
    },
    nma_data_content_type: "application/json",
    nma_data_version: "1",
  };
  const b64 = base64url.encode(JSON.stringify(payload));

  it.each([
    ["the JSON object", payload],
    ["its JSON text", JSON.stringify(payload)],
    ["its base64url (QR code)", b64],
    ["a link", `https://demo-app.mauth.example/open?dispatchTokenResponse=${b64}`],
  ])("reads %s", (_form, input) => {
    expect(parseOutOfBandPayload(input)).toEqual({
      token: payload.nma_data.token,
      redeemUrl: payload.nma_data.redeem_url,
      payload,
    });
  });

  it.each([
    ["an encrypted payload", { ...payload, nma_data_content_type: "application/jose" }, /encrypted/],
    ["no token", { nma_data: { redeem_url: "https://x.example/" } }, /nma_data.token/],
    ["no redeem URL", { nma_data: { token: "t", redeem_url: "not a url" } }, /redeem_url/],
    ["base64url of not JSON", base64url.encode("hello"), /not JSON/],
    ["not base64url", "%%%", /not base64url/],
  ])("refuses %s", (_what, input, message) => {
    expect(() => parseOutOfBandPayload(input)).toThrow(UafClientError);
    expect(() => parseOutOfBandPayload(input)).toThrow(message);
  });

  it.each([
    ["https://h.example/_app/token/redeem/registration", "Reg", "https://h.example/_app/uaf/1.1/registration"],
    ["https://h.example/_app/token/redeem/authentication/", "Auth", "https://h.example/_app/uaf/1.1/authentication"],
    [
      "https://h.example/nevisfido/token/redeem/registration?x=1",
      "Reg",
      "https://h.example/nevisfido/uaf/1.1/registration",
    ],
    [
      "https://h.example/base/nevisfido/token/redeem/authentication",
      "Auth",
      "https://h.example/base/auth/fidouaf/authenticationresponse",
    ],
  ] as const)("answers %s (%s) at %s", (redeemUrl, op, expected) => {
    expect(responseServiceUrl(redeemUrl, op)).toBe(expected);
  });

  it("refuses a redeem URL outside the two path families", () => {
    expect(() => responseServiceUrl("https://h.example/token/redeem/registration", "Reg")).toThrow(UafClientError);
  });
});
