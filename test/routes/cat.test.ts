/**
 * The attestation flow end to end, driven as a device would: challenge, attestation (simulator, real
 * formats, development test CA), CAT, HAAPI token. Real Durable Objects for every single-use check.
 */
import { describe, expect, it } from "vitest";
import {
  androidResponse,
  CAT_URL,
  catFor,
  claimsOf,
  getChallenge,
  haapiToken,
  headerOf,
  iosAssertionResponse,
  iosResponse,
  newDevice,
  postCat,
} from "../helpers/attestation";
import { BASE, jsonOf } from "../helpers/server";
import { exports } from "cloudflare:workers";

describe("CAT challenge (GET)", () => {
  it("answers a fresh, signed challenge for an attesting client, not cached", async () => {
    const response = await exports.default.fetch(`${CAT_URL}?client_id=attested-only`);
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = await jsonOf(response);
    expect(body.challenge).toMatch(/^c1\./);
    expect(body.expires_in).toBe(120);
    expect(await getChallenge("attested-only")).not.toBe(body.challenge);
  });

  it.each([
    ["", 400, "invalid_request"],
    ["?client_id=", 400, "invalid_request"],
    ["?client_id=a&client_id=b", 400, "invalid_request"],
    ["?client_id=nobody", 400, "invalid_client"],
    ["?client_id=plain-client", 400, "unauthorized_client"],
  ])("GET %s -> %i %s", async (query, status, error) => {
    const response = await exports.default.fetch(`${CAT_URL}${query}`);
    expect(response.status).toBe(status);
    expect((await jsonOf(response)).error).toBe(error);
  });
});

describe("Android: simulator -> CAT -> HAAPI token", () => {
  it("issues a CAT bound to the device key, and a by-policy HAAPI token for it", async () => {
    const device = await newDevice();
    const cat = await catFor("attested-only", device, (challenge) => androidResponse(challenge, device));
    expect(headerOf(cat)).toMatchObject({ alg: "ES256", typ: "oauth-client-attestation+jwt" });
    const claims = claimsOf(cat);
    expect(claims).toMatchObject({ iss: BASE, sub: "attested-only", cal: "by-policy", cnf: { jwk: device.publicJwk } });
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(120);
    expect(claims.jti).toEqual(expect.any(String));
    expect(claims.attestation).toMatchObject({
      platform: "android",
      security_level: "trusted-environment",
      boot_state: "verified",
      device_locked: true,
      package_name: "io.haapiedge.simulator",
      dpop_key_attested: true,
    });

    const response = await haapiToken(cat, device);
    const body = await jsonOf(response);
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ token_type: "DPoP", expires_in: 600, scope: "urn:se:curity:scopes:haapi" });
    expect(claimsOf(body.access_token as string)).toMatchObject({
      client_id: "attested-only",
      cal: "by-policy",
      cnf: { jkt: device.jkt },
    });
  });

  it("takes the TTL from the attestation policy (haapi_access_token_ttl)", async () => {
    const device = await newDevice();
    const cat = await catFor("strongbox-only", device, (challenge) =>
      androidResponse(challenge, device, { securityLevel: "strongbox" }),
    );
    const body = await jsonOf(await haapiToken(cat, device));
    expect(body.expires_in).toBe(900);
  });

  it("refuses a CAT spent once already, one with another DPoP key, and one for another client", async () => {
    const device = await newDevice();
    const cat = await catFor("attested-only", device, (challenge) => androidResponse(challenge, device));

    const thief = await newDevice();
    const stolen = await haapiToken(cat, device, { proofDevice: thief });
    expect(stolen.status).toBe(400);
    expect(await jsonOf(stolen)).toMatchObject({ error: "invalid_client" });

    const other = await haapiToken(cat, device, { clientId: "strongbox-only" });
    expect(other.status).toBe(401);
    expect((await jsonOf(other)).error).toBe("invalid_client");

    // Refusals above did not spend it; the first good use does.
    expect((await haapiToken(cat, device)).status).toBe(200);
    const replay = await haapiToken(cat, device);
    expect(replay.status).toBe(401);
    expect((await jsonOf(replay)).error).toBe("invalid_client");
  });

  it("of ten racing token requests with one CAT, exactly one gets a token", async () => {
    const device = await newDevice();
    const cat = await catFor("attested-only", device, (challenge) => androidResponse(challenge, device));
    const statuses = await Promise.all(Array.from({ length: 10 }, () => haapiToken(cat, device).then((r) => r.status)));
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 401)).toHaveLength(9);
  });

  it("spends a challenge once: a second answer, or ten racing answers, get one CAT", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const response = await androidResponse(challenge, device);
    expect((await postCat({ challenge, response, device })).status).toBe(200);
    const again = await postCat({ challenge, response, device });
    expect(again.status).toBe(400);
    expect(await jsonOf(again)).toMatchObject({
      error: "invalid_request",
      error_description: "challenge already used; get a new one",
    });

    const raced = await getChallenge("attested-only");
    const racedResponse = await androidResponse(raced, device);
    const statuses = await Promise.all(
      Array.from({ length: 10 }, () =>
        postCat({ challenge: raced, response: racedResponse, device }).then((r) => r.status),
      ),
    );
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
  });

  it("a refused attestation does not spend the challenge (nothing half-written)", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const wrong = await postCat({
      challenge,
      response: await androidResponse(challenge, device, { packageName: "com.evil.app" }),
      device,
    });
    expect(wrong.status).toBe(400);
    expect(await jsonOf(wrong)).toMatchObject({ error: "invalid_client_attestation" });
    expect((await postCat({ challenge, response: await androidResponse(challenge, device), device })).status).toBe(200);
  });

  it.each([
    ["a wrong package", { packageName: "com.evil.app" }, "package_not_allowed"],
    [
      "a wrong signature digest",
      { signatureDigests: ["EDk47kU35Z6O55L2VFBPuDRvxrNG0LvEQV/DOfz8jsE="] },
      "signature_digest_mismatch",
    ],
    ["an unverified boot state", { bootState: "unverified" }, "boot_state_not_verified"],
    ["an unlocked bootloader", { deviceLocked: false }, "boot_state_not_verified"],
    ["software security level", { securityLevel: "software" }, "security_level_too_low"],
  ] as const)("refuses %s with a precise reason (development server)", async (_, options, reason) => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const response = await postCat({
      challenge,
      response: await androidResponse(challenge, device, options as never),
      device,
    });
    expect(response.status).toBe(400);
    expect(await jsonOf(response)).toEqual({
      error: "invalid_client_attestation",
      error_description: `android attestation rejected: ${reason}`,
    });
  });

  it("refuses an attestation of another challenge or another key (the attested bytes bind both)", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const other = await getChallenge("attested-only");
    const wrongChallenge = await postCat({ challenge, response: await androidResponse(other, device), device });
    expect((await jsonOf(wrongChallenge)).error_description).toBe("android attestation rejected: challenge_mismatch");

    const thief = await newDevice();
    const wrongKey = await postCat({ challenge, response: await androidResponse(challenge, device), device: thief });
    expect((await jsonOf(wrongKey)).error_description).toBe("android attestation rejected: challenge_mismatch");
  });

  it("refuses a TEE device under a strongbox policy, and the test CA under the bundled Google roots", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("strongbox-only");
    const low = await postCat({ challenge, response: await androidResponse(challenge, device), device });
    expect((await jsonOf(low)).error_description).toBe("android attestation rejected: security_level_too_low");

    const google = await getChallenge("google-rooted");
    const untrusted = await postCat({ challenge: google, response: await androidResponse(google, device), device });
    expect((await jsonOf(untrusted)).error_description).toBe("android attestation rejected: chain_untrusted");
  });

  it("with disable_attestation_validation (development), accepts a failing attestation with cal none", async () => {
    const device = await newDevice();
    const cat = await catFor("lax-client", device, (challenge) =>
      androidResponse(challenge, device, { packageName: "com.other.app" }),
    );
    expect(claimsOf(cat)).toMatchObject({
      cal: "none",
      attestation: { platform: "android", validation: "disabled", validation_failure: "package_not_allowed" },
    });
    const token = await jsonOf(await haapiToken(cat, device));
    expect(claimsOf(token.access_token as string).cal).toBe("none");
  });
});

describe("iOS: simulator -> CAT -> HAAPI token, then a CAT refreshed with an assertion", () => {
  it("attests, gets a token, then refreshes with assertions whose counter must increase", async () => {
    const device = await newDevice();
    let keyId = "";
    let keyPair: CryptoKeyPair | undefined;
    const cat = await catFor("attested-only", device, async (challenge) => {
      const made = await iosResponse(challenge, device);
      keyId = made.keyId;
      keyPair = made.keyPair;
      return made.response;
    });
    expect(claimsOf(cat)).toMatchObject({
      cal: "by-policy",
      attestation: {
        platform: "ios",
        app_id: "HAAPIEDGE1.io.haapiedge.simulator",
        environment: "development",
        key_id: keyId,
      },
    });
    const token = await haapiToken(cat, device);
    expect(token.status).toBe(200);
    expect((await jsonOf(token)).expires_in).toBe(1200);

    const refreshed = await catFor("attested-only", device, (challenge) =>
      iosAssertionResponse(challenge, device, keyId, keyPair!, 1),
    );
    expect(claimsOf(refreshed)).toMatchObject({
      cal: "by-policy",
      attestation: { platform: "ios", assertion_counter: 1 },
    });

    // The same counter again: a replayed or cloned assertion.
    const challenge = await getChallenge("attested-only");
    const stale = await postCat({
      challenge,
      response: await iosAssertionResponse(challenge, device, keyId, keyPair!, 1),
      device,
    });
    expect(stale.status).toBe(400);
    expect((await jsonOf(stale)).error_description).toBe("ios attestation rejected: assertion_counter_not_increasing");

    // An assertion under another DPoP key finds no attested key: the App Attest key belongs to the device key.
    const stranger = await newDevice();
    const other = await getChallenge("attested-only");
    const unknown = await postCat({
      challenge: other,
      response: await iosAssertionResponse(other, stranger, keyId, keyPair!, 5),
      device: stranger,
    });
    expect((await jsonOf(unknown)).error_description).toBe("ios attestation rejected: assertion_unknown_key");
  });

  it("refuses a development key under a production policy, and another app id", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("ios-production");
    const dev = await postCat({ challenge, response: (await iosResponse(challenge, device)).response, device });
    expect((await jsonOf(dev)).error_description).toBe("ios attestation rejected: aaguid_not_allowed");

    const other = await getChallenge("attested-only");
    const wrongApp = await postCat({
      challenge: other,
      response: (await iosResponse(other, device, { appId: "HAAPIEDGE1.com.other.app" })).response,
      device,
    });
    expect((await jsonOf(wrongApp)).error_description).toBe("ios attestation rejected: app_id_mismatch");
  });
});

describe("web: the Origin is the attestation", () => {
  it("accepts an allowed origin, refuses another or none; a policy may disable the check", async () => {
    const device = await newDevice();
    const cat = await catFor("attested-only", device, async () => ({ platform: "web" }), {
      Origin: "https://app.example",
    });
    expect(claimsOf(cat)).toMatchObject({
      attestation: { platform: "web", origin: "https://app.example", origin_verified: true },
    });

    for (const [origin, reason] of [
      ["https://evil.example", "origin_not_allowed"],
      [undefined, "origin_missing"],
    ] as const) {
      const challenge = await getChallenge("attested-only");
      const response = await postCat({
        challenge,
        response: { platform: "web" },
        device,
        headers: origin ? { Origin: origin } : {},
      });
      expect(response.status).toBe(400);
      expect((await jsonOf(response)).error_description).toBe(`web attestation rejected: ${reason}`);
    }
    const open = await catFor("web-open", device, async () => ({ platform: "web" }));
    expect(claimsOf(open).attestation).toMatchObject({ platform: "web", origin_verified: false });
  });

  it("refuses a platform the client is not configured for", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("web-open");
    const response = await postCat({ challenge, response: await androidResponse(challenge, device), device });
    expect(response.status).toBe(400);
    expect((await jsonOf(response)).error).toBe("unauthorized_client");
  });
});
