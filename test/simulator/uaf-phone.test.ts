/**
 * The UAF client simulator's phone keys, inside workerd: the Device-Signature JWS it signs
 * (tools/simulator/uaf-device-signature.mjs), checked with jose and with the server's own verifier (the
 * wire contract); the encryption key it registers, and the push payloads encrypted to it
 * (tools/simulator/uaf-out-of-band.mjs), made here with jose as the server makes them; and phones
 * stored before they had an encryption key.
 */
import { base64url, CompactEncrypt, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { verifyDeviceSignature } from "../../src/verifiers/device-signature";
import { DEVICE_SIGNATURE_LIFETIME, deviceSignature } from "../../tools/simulator/uaf-device-signature.mjs";
import { UafClientError } from "../../tools/simulator/uaf-errors.mjs";
import { openOutOfBandPayload, parseOutOfBandPayload } from "../../tools/simulator/uaf-out-of-band.mjs";
import {
  deviceContext,
  ensureEncryptionKey,
  newPhone,
  phoneView,
  type UafPhone,
} from "../../tools/simulator/uaf-phone.mjs";

const NOW = 1_767_225_600; // 2026-01-01T00:00:00Z
const NMA_DATA = {
  token: "0f9c2a7e.dG9rZW4tYnl0ZXM",
  redeem_url: "https://fido.example/_app/token/redeem/authentication",
};

/** nma_data encrypted to a public JWK as src/routes/uaf/out-of-band.ts does, unless told otherwise. */
async function encryptTo(publicJwk: JsonWebKey, data: unknown = NMA_DATA, alg = "ECDH-ES+A256KW"): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(data)))
    .setProtectedHeader({ alg, enc: "A256GCM", cty: "application/json" })
    .encrypt(await importJWK(publicJwk as JWK, alg));
}

/** The FCM data message of an encrypted payload: every value a string. */
const pushData = (jwe: string) => ({ nma_data: jwe, nma_data_content_type: "application/jose", nma_data_version: "1" });

describe("Device-Signature", () => {
  it("is an ES256 JWT by the phone's signature key, naming the device and the user", async () => {
    const phone = await newPhone({ platform: "android" });
    const jws = await deviceSignature(phone, "alice", { now: NOW, jti: "jti-1" });
    expect(decodeProtectedHeader(jws)).toEqual({ alg: "ES256", typ: "JWT" });
    const { payload } = await jwtVerify(jws, await importJWK(phone.signatureKey.publicJwk as JWK, "ES256"), {
      algorithms: ["ES256"],
      typ: "JWT",
      currentDate: new Date(NOW * 1000),
    });
    expect(payload).toEqual({
      dispatchTargetId: phone.deviceId,
      username: "alice",
      iat: NOW,
      exp: NOW + DEVICE_SIGNATURE_LIFETIME,
      jti: "jti-1",
    });
    expect(DEVICE_SIGNATURE_LIFETIME).toBe(120);
  });

  it("does not verify with another phone's key", async () => {
    const [phone, other] = [await newPhone({ platform: "android" }), await newPhone({ platform: "android" })];
    const jws = await deviceSignature(phone, "alice", { now: NOW });
    await expect(
      jwtVerify(jws, await importJWK(other.signatureKey.publicJwk as JWK, "ES256"), {
        algorithms: ["ES256"],
        currentDate: new Date(NOW * 1000),
      }),
    ).rejects.toMatchObject({ code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" });
  });

  it("has a fresh random jti each time, and the clock's iat by default", async () => {
    const phone = await newPhone({ platform: "ios" });
    const before = Math.floor(Date.now() / 1000);
    const [a, b] = [await deviceSignature(phone, "alice"), await deviceSignature(phone, "alice")];
    const claims = [a, b].map((jws) => JSON.parse(new TextDecoder().decode(base64url.decode(jws.split(".")[1]!))));
    expect(claims[0].jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(claims[0].jti).not.toBe(claims[1].jti);
    expect(claims[0].iat).toBeGreaterThanOrEqual(before);
  });

  it("is accepted by the server's verifier for that device and user, and only for them", async () => {
    const phone = await newPhone({ platform: "android" });
    const jws = await deviceSignature(phone, "alice", { now: NOW, jti: "jti-2" });
    const expected = { deviceId: phone.deviceId, username: "alice", maxAge: 300, clockSkew: 5 };
    const key = phone.signatureKey.publicJwk as JWK;
    expect(await verifyDeviceSignature(jws, key, expected, NOW + 10)).toMatchObject({
      ok: true,
      value: { deviceId: phone.deviceId, username: "alice", jti: "jti-2" },
    });
    expect(await verifyDeviceSignature(jws, key, { ...expected, deviceId: "another-device" }, NOW + 10)).toMatchObject({
      ok: false,
      reason: "device_signature_wrong_device",
    });
    expect(await verifyDeviceSignature(jws, key, { ...expected, username: "bob" }, NOW + 10)).toMatchObject({
      ok: false,
      reason: "device_signature_wrong_user",
    });
  });

  it("refuses a call without a username or with a fractional clock", async () => {
    const phone = await newPhone({ platform: "android" });
    await expect(deviceSignature(phone, "")).rejects.toThrow(/username/);
    await expect(deviceSignature(phone, "alice", { now: 1.5 })).rejects.toThrow(/epoch seconds/);
  });
});

describe("encryption key", () => {
  it("is an EC P-256 ECDH key pair; the registration context carries its public half only", async () => {
    const phone = await newPhone({ platform: "android", name: "Pixel", fcmRegistrationToken: "fcm-1" });
    const context = deviceContext(phone);
    expect(context.deviceInformation).toEqual({
      name: "Pixel",
      fcmRegistrationToken: "fcm-1",
      signatureKey: phone.signatureKey.publicJwk,
      encryptionKey: phone.encryptionKey!.publicJwk,
    });
    expect(Object.keys(context.deviceInformation.encryptionKey).sort()).toEqual(["crv", "kty", "x", "y"]);
    expect(context.deviceInformation.encryptionKey).toMatchObject({ kty: "EC", crv: "P-256" });
    expect(context.deviceInformation.encryptionKey.x).not.toBe(phone.signatureKey.publicJwk.x);
    await expect(
      crypto.subtle.importKey("jwk", phone.encryptionKey!.privateJwk, { name: "ECDH", namedCurve: "P-256" }, false, [
        "deriveBits",
      ]),
    ).resolves.toBeDefined();
    expect(phoneView(phone)).toMatchObject({ encryptionKey: phone.encryptionKey!.publicJwk });
    expect(JSON.stringify(phoneView(phone))).not.toMatch(/"d":/);
  });

  it("is created lazily, once, for a phone stored before it existed", async () => {
    const { encryptionKey: _dropped, ...rest } = await newPhone({ platform: "ios" });
    const old: UafPhone = JSON.parse(JSON.stringify(rest));
    expect(old.encryptionKey).toBeUndefined();
    expect(() => deviceContext(old)).toThrow(/no encryption key/);
    expect(phoneView(old)).not.toHaveProperty("encryptionKey");
    const created = await ensureEncryptionKey(old);
    expect(old.encryptionKey).toBe(created);
    expect(created.publicJwk).toMatchObject({ kty: "EC", crv: "P-256" });
    expect(await ensureEncryptionKey(old)).toBe(created);
    expect(deviceContext(old).deviceInformation.encryptionKey).toEqual(created.publicJwk);
  });
});

describe("encrypted out-of-band payload", () => {
  it.each([
    ["the FCM data message", (jwe: string) => pushData(jwe)],
    ["its JSON text", (jwe: string) => JSON.stringify(pushData(jwe))],
    ["its base64url", (jwe: string) => base64url.encode(JSON.stringify(pushData(jwe)))],
    [
      "a link",
      (jwe: string) =>
        `https://app.example/open?dispatchTokenResponse=${base64url.encode(JSON.stringify(pushData(jwe)))}`,
    ],
  ])("opens %s with the phone's key", async (_form, wrap) => {
    const phone = await newPhone({ platform: "android" });
    const jwe = await encryptTo(phone.encryptionKey!.publicJwk);
    expect(await openOutOfBandPayload(wrap(jwe), phone)).toEqual({
      token: NMA_DATA.token,
      redeemUrl: NMA_DATA.redeem_url,
      payload: pushData(jwe),
    });
  });

  it("opens a phone's payload after the phone went through JSON (the --store file)", async () => {
    const phone = await newPhone({ platform: "ios" });
    const jwe = await encryptTo(phone.encryptionKey!.publicJwk);
    await expect(openOutOfBandPayload(pushData(jwe), JSON.parse(JSON.stringify(phone)))).resolves.toMatchObject({
      token: NMA_DATA.token,
    });
  });

  it("is refused by the synchronous parser, which cannot decrypt, and opened by the asynchronous one", async () => {
    const phone = await newPhone({ platform: "android" });
    const message = pushData(await encryptTo(phone.encryptionKey!.publicJwk));
    expect(() => parseOutOfBandPayload(message)).toThrow(UafClientError);
    expect(() => parseOutOfBandPayload(message)).toThrow(/encrypted \(application\/jose\).*openOutOfBandPayload/);
    await expect(openOutOfBandPayload(message, phone)).resolves.toMatchObject({ token: NMA_DATA.token });
  });

  it("fails clearly for a payload encrypted to another phone", async () => {
    const [phone, other] = [await newPhone({ platform: "android" }), await newPhone({ platform: "android" })];
    const jwe = await encryptTo(other.encryptionKey!.publicJwk);
    await expect(openOutOfBandPayload(pushData(jwe), phone)).rejects.toThrow(
      /does not decrypt with this phone's encryption key: it was encrypted to another device/,
    );
    const { encryptionKey: _none, ...keyless } = phone;
    await expect(openOutOfBandPayload(pushData(jwe), keyless)).rejects.toThrow(/this phone has no encryption key/);
  });

  it.each([
    [
      "another algorithm (ECDH-ES direct)",
      async (phone: UafPhone) => pushData(await encryptTo(phone.encryptionKey!.publicJwk, NMA_DATA, "ECDH-ES")),
      /another algorithm.*ECDH-ES\+A256KW/,
    ],
    ["nma_data that is not a JWE", async () => pushData("not-a-jwe"), /not a compact JWE/],
    [
      "nma_data that is not a string",
      async () => ({ nma_data: NMA_DATA, nma_data_content_type: "application/jose" }),
      /not a compact JWE/,
    ],
    [
      "a JWE with a broken ciphertext",
      async (phone: UafPhone) =>
        pushData((await encryptTo(phone.encryptionKey!.publicJwk)).replace(/\.([^.]+)\.([^.]+)$/, ".AAAA.$2")),
      /does not decrypt/,
    ],
    [
      "decrypted data without a token",
      async (phone: UafPhone) =>
        pushData(await encryptTo(phone.encryptionKey!.publicJwk, { redeem_url: NMA_DATA.redeem_url })),
      /nma_data.token/,
    ],
    [
      "decrypted data that is not JSON",
      async (phone: UafPhone) =>
        pushData(
          await new CompactEncrypt(new TextEncoder().encode("hello"))
            .setProtectedHeader({ alg: "ECDH-ES+A256KW", enc: "A256GCM" })
            .encrypt(await importJWK(phone.encryptionKey!.publicJwk as JWK, "ECDH-ES+A256KW")),
        ),
      /decrypted nma_data\) is not JSON/,
    ],
  ])("refuses %s", async (_what, make, message) => {
    const phone = await newPhone({ platform: "android" });
    const error = await openOutOfBandPayload(await make(phone), phone).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UafClientError);
    expect((error as Error).message).toMatch(message);
  });

  it("reads plain payloads too, including FCM's string-valued nma_data", async () => {
    const phone = await newPhone({ platform: "android" });
    const plain = { nma_data: NMA_DATA, nma_data_content_type: "application/json", nma_data_version: "1" };
    expect(await openOutOfBandPayload(plain, phone)).toEqual({
      token: NMA_DATA.token,
      redeemUrl: NMA_DATA.redeem_url,
      payload: plain,
    });
    const stringValued = { ...plain, nma_data: JSON.stringify(NMA_DATA) };
    expect(parseOutOfBandPayload(stringValued)).toMatchObject({
      token: NMA_DATA.token,
      redeemUrl: NMA_DATA.redeem_url,
    });
  });
});
