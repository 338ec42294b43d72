/**
 * In-app FIDO UAF registration through HTTP, as the Nevis SDK runs it (docs/uaf.md): trusted facets,
 * then GetUAFRequest (authorized by the user's JWT) -> the simulated authenticator -> SendUAFResponse,
 * under both path families, for Android and iOS PIN and biometric authenticators. The stored record is
 * read back from the user's Durable Object: the authenticators, and one DeviceInformation created with
 * the device's first registration and left alone afterwards. A second PIN on one device is refused by
 * the server even when the phone's own policy check is bypassed.
 */
import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import testConfig from "../fixtures/test-config.json" with { type: "json" };
import { registrationResponse, uafResponseString } from "../../tools/simulator/uaf-authenticator.mjs";
import { registerInApp, type Family } from "../../tools/simulator/uaf-client.mjs";
import { deviceContext, newPhone } from "../../tools/simulator/uaf-phone.mjs";
import { policyRefusal } from "../../tools/simulator/uaf-policy.mjs";
import { concat } from "../../tools/simulator/x509.mjs";
import {
  BASE,
  dpopHeaders,
  expectRefused,
  fetchWithDpop,
  getUafRequest,
  newAccount,
  post,
  readUafUser,
  UAF_CONTENT_TYPE,
  uafBody,
  workerFetch,
  type Account,
} from "../helpers/uaf";

/** The PUB_KEY a raw-key (0x100) registration stores: base64url of the X9.62 point 0x04 || x || y of the key. */
const rawPoint = (jwk: JsonWebKey): string =>
  base64url.encode(concat(Uint8Array.of(0x04), base64url.decode(jwk.x!), base64url.decode(jwk.y!)));

const APP_ID = `${BASE}/_app/uaf/1.1/facets`;

type Authorization = "dpop-access-token" | "id-token";

/** The simulator's registration options for an account, authorized as `how`. */
function authorized(account: Account, how: Authorization) {
  return how === "id-token"
    ? { fetch: workerFetch, authorization: { type: "jwt" as const, token: account.idToken } }
    : { fetch: fetchWithDpop(account) };
}

describe("trusted facets", () => {
  it.each(["_app", "nevisfido"])(
    "GET /%s/uaf/1.1/facets: the configured Android and iOS facet IDs, unauthenticated",
    async (family) => {
      for (const path of [`/${family}/uaf/1.1/facets`, `/${family}/uaf/1.1/facets/`]) {
        const response = await workerFetch(`${BASE}${path}`);
        expect(response.status).toBe(200);
        expect(response.headers.get("content-type")).toBe("application/fido.trusted-apps+json");
        expect(await response.json()).toEqual({
          trustedFacets: [{ version: { major: 1, minor: 1 }, ids: testConfig.uaf.facets }],
        });
      }
    },
  );
});

// Logging a fresh user in through the HAAPI flow first: more than the default 5 s on a cold Worker.
describe("in-app registration with JWT authorization", { timeout: 30_000 }, () => {
  const cases: [Family, "android" | "ios", "pin" | "biometric", string, Authorization][] = [
    ["_app", "android", "pin", "F1D0#0001", "dpop-access-token"],
    ["nevisfido", "android", "pin", "F1D0#0001", "id-token"],
    ["_app", "android", "biometric", "F1D0#0003", "id-token"],
    ["nevisfido", "android", "biometric", "F1D0#0003", "dpop-access-token"],
    ["_app", "ios", "pin", "F1D0#1001", "id-token"],
    ["nevisfido", "ios", "pin", "F1D0#1001", "dpop-access-token"],
    ["_app", "ios", "biometric", "F1D0#1003", "dpop-access-token"],
    ["nevisfido", "ios", "biometric", "F1D0#1003", "id-token"],
  ];

  it.each(cases)(
    "/%s: %s %s (%s) authorized by %s: 1200, the authenticator and its device stored",
    async (family, platform, kind, aaid, how) => {
      const account = await newAccount();
      const phone = await newPhone({ platform, name: `${platform} of ${account.username}` });
      const done = await registerInApp({
        baseUrl: BASE,
        family,
        username: account.username,
        kind,
        phone,
        ...authorized(account, how),
      });

      expect(done.serverResponse).toEqual({ statusCode: 1200 });
      expect(done.request).toMatchObject({
        header: { upv: { major: 1, minor: 1 }, op: "Reg", appID: APP_ID },
        username: account.username,
      });
      const user = (await readUafUser(account.username))!;
      expect(user.authenticators).toEqual([
        expect.objectContaining({
          aaid,
          keyId: done.credential.keyId,
          deviceId: phone.deviceId,
          signAlg: 0x01,
          publicKey: { alg: 0x100, key: rawPoint(done.credential.publicJwk) },
          signCounter: 0,
          attestation: "basic_surrogate",
        }),
      ]);
      expect(user.devices).toEqual([
        expect.objectContaining({
          deviceId: phone.deviceId,
          name: phone.name,
          signatureKey: phone.signatureKey.publicJwk,
          encryptionKey: phone.encryptionKey!.publicJwk,
        }),
      ]);
    },
  );

  it("PIN then biometric on one phone: one DeviceInformation, from the first registration; given again (renamed), it is ignored", async () => {
    const account = await newAccount();
    const phone = await newPhone({ platform: "android", name: "First name", fcmRegistrationToken: "fcm-first" });
    const pin = await registerInApp({
      baseUrl: BASE,
      username: account.username,
      kind: "pin",
      phone,
      fetch: fetchWithDpop(account),
    });
    const afterFirst = (await readUafUser(account.username))!;
    expect(afterFirst.devices).toEqual([
      expect.objectContaining({ deviceId: phone.deviceId, name: "First name", fcmRegistrationToken: "fcm-first" }),
    ]);

    phone.name = "Second name";
    phone.fcmRegistrationToken = "fcm-second";
    const biometric = await registerInApp({
      baseUrl: BASE,
      family: "nevisfido",
      username: account.username,
      kind: "biometric",
      phone,
      fetch: fetchWithDpop(account),
    });
    expect(biometric.serverResponse).toEqual({ statusCode: 1200 });
    // The second request already disallowed the key the user has.
    expect(biometric.request.policy.disallowed).toEqual([{ aaid: ["F1D0#0001"], keyIDs: [pin.credential.keyId] }]);

    const user = (await readUafUser(account.username))!;
    expect(
      user.authenticators.map((authenticator) => [authenticator.aaid, authenticator.keyId, authenticator.deviceId]),
    ).toEqual([
      ["F1D0#0001", pin.credential.keyId, phone.deviceId],
      ["F1D0#0003", biometric.credential.keyId, phone.deviceId],
    ]);
    expect(user.devices).toEqual(afterFirst.devices);
  });

  it("a second PIN on the same device (the phone's own policy check bypassed): 1492, HTTP 400, the record unchanged", async () => {
    const account = await newAccount();
    const phone = await newPhone({ platform: "android" });
    const first = await registerInApp({
      baseUrl: BASE,
      username: account.username,
      kind: "pin",
      phone,
      fetch: fetchWithDpop(account),
    });
    const before = await readUafUser(account.username);

    const url = `${BASE}/_app/uaf/1.1/request/registration`;
    const returned = await post(
      "/_app/uaf/1.1/request/registration",
      getUafRequest("Reg", { username: account.username }),
      await dpopHeaders(account, url),
    );
    expect(returned.status).toBe(200);
    const [request] = JSON.parse(returned.body.uafRequest as string);
    // The SDK would not even try: the policy disallows the PIN key this phone holds.
    expect(policyRefusal(request.policy, { aaid: "F1D0#0001", keyIds: [first.credential.keyId], signAlg: 1 })).toMatch(
      /disallowed/,
    );
    const { response } = await registrationResponse(request, { aaid: "F1D0#0001" });
    const answer = await post("/_app/uaf/1.1/registration", {
      uafResponse: uafResponseString([response]),
      context: JSON.stringify(deviceContext(phone)),
    });

    expectRefused(answer, 1492, 400);
    expect(await readUafUser(account.username)).toEqual(before);
  });

  it("answers with the UAF content type and no-store", async () => {
    const account = await newAccount();
    const url = `${BASE}/nevisfido/uaf/1.1/request/registration/`;
    const response = await workerFetch(url, {
      method: "POST",
      headers: { "content-type": UAF_CONTENT_TYPE, ...(await dpopHeaders(account, url)) },
      body: JSON.stringify(getUafRequest("Reg", { username: account.username })),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe(UAF_CONTENT_TYPE);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await uafBody(response)).toMatchObject({ statusCode: 1200, op: "Reg", lifetimeMillis: expect.any(Number) });
  });
});
