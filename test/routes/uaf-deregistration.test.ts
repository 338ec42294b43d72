/**
 * Deregistration through HTTP (GetUAFRequest op Dereg -> the server removes the keys and answers the
 * DeregistrationRequest the phone applies): authorized by the user's JWT or by a Device-Signature of
 * the device (single use: a replayed `jti` is refused). A device's DeviceInformation is removed with
 * its last authenticator, and a Device-Signature only reaches its own device's authenticators.
 */
import { describe, expect, it } from "vitest";
import { deregister, registerInApp } from "../../tools/simulator/uaf-client.mjs";
import { deviceSignature } from "../../tools/simulator/uaf-device-signature.mjs";
import { newPhone } from "../../tools/simulator/uaf-phone.mjs";
import {
  BASE,
  expectRefused,
  fetchWithDpop,
  getUafRequest,
  post,
  readUafUser,
  registeredPhone,
  workerFetch,
} from "../helpers/uaf";

const DEREG_REQUEST = "/_app/uaf/1.1/request/deregistration";

async function storedAaids(username: string): Promise<string[]> {
  return ((await readUafUser(username))?.authenticators ?? []).map((authenticator) => authenticator.aaid);
}

describe("deregistration", { timeout: 30_000 }, () => {
  it("one authenticator (DPoP access token), then the last one (ID token): the device information goes with the last", async () => {
    const { account, username, phone } = await registeredPhone({ kinds: ["pin", "biometric"] });
    const pinKey = phone.credentials.find((credential) => credential.aaid === "F1D0#0001")!.keyId;

    const first = await deregister({ baseUrl: BASE, username, kind: "pin", phone, fetch: fetchWithDpop(account) });
    expect(first.request).toMatchObject({
      header: { op: "Dereg", appID: `${BASE}/_app/uaf/1.1/facets` },
      authenticators: [{ aaid: "F1D0#0001", keyID: pinKey }],
    });
    expect(first.removed.map((credential) => credential.aaid)).toEqual(["F1D0#0001"]);
    expect(await storedAaids(username)).toEqual(["F1D0#0003"]);
    expect((await readUafUser(username))!.devices.map((device) => device.deviceId)).toEqual([phone.deviceId]);

    const last = await deregister({
      baseUrl: BASE,
      family: "nevisfido",
      username,
      phone,
      fetch: workerFetch,
      authorization: { type: "jwt", token: account.idToken },
    });
    expect(last.removed.map((credential) => credential.aaid)).toEqual(["F1D0#0003"]);
    expect(phone.credentials).toEqual([]);
    expect(await readUafUser(username)).toMatchObject({ authenticators: [], devices: [] });
  });

  it("with a Device-Signature: one authenticator, then the rest of the device; the device is then unknown (401)", async () => {
    const { username, phone } = await registeredPhone({ kinds: ["pin", "biometric"] });
    const byDevice = {
      baseUrl: BASE,
      username,
      phone,
      fetch: workerFetch,
      authorization: { type: "device-signature" as const },
    };
    expect((await deregister({ ...byDevice, kind: "biometric" })).removed.map((credential) => credential.aaid)).toEqual(
      ["F1D0#0003"],
    );
    expect(await storedAaids(username)).toEqual(["F1D0#0001"]);
    expect((await deregister(byDevice)).removed.map((credential) => credential.aaid)).toEqual(["F1D0#0001"]);
    expect(await readUafUser(username)).toMatchObject({ authenticators: [], devices: [] });
    // Its signature key went with the device information.
    const answer = await post(DEREG_REQUEST, getUafRequest("Dereg", { username }), {
      "device-signature": await deviceSignature(phone, username),
    });
    expectRefused(answer, 1401);
  });

  it("a replayed Device-Signature (the same jti) is refused, and removes nothing more", async () => {
    const { username, phone } = await registeredPhone({ kinds: ["pin", "biometric"] });
    const jws = await deviceSignature(phone, username, { jti: "the-one-jti" });
    const first = await post(DEREG_REQUEST, getUafRequest("Dereg", { username, aaid: "F1D0#0001" }), {
      "device-signature": jws,
    });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(await storedAaids(username)).toEqual(["F1D0#0003"]);

    expectRefused(
      await post(DEREG_REQUEST, getUafRequest("Dereg", { username, aaid: "F1D0#0003" }), { "device-signature": jws }),
      1401,
    );
    // A new JWS reusing the jti is the same replay.
    const again = await deviceSignature(phone, username, { jti: "the-one-jti" });
    expectRefused(
      await post("/nevisfido/uaf/1.1/request/deregistration", getUafRequest("Dereg", { username, aaid: "F1D0#0003" }), {
        "device-signature": again,
      }),
      1401,
    );
    expect(await storedAaids(username)).toEqual(["F1D0#0003"]);
  });

  it("a Device-Signature reaches only its own device, and only its own user", async () => {
    const { account, username, phone } = await registeredPhone({ kinds: ["pin"] });
    const tablet = await newPhone({ platform: "ios", name: "Tablet" });
    await registerInApp({ baseUrl: BASE, username, kind: "pin", phone: tablet, fetch: fetchWithDpop(account) });
    expect(await storedAaids(username)).toEqual(["F1D0#0001", "F1D0#1001"]);

    // No aaid: "all of mine" means all of this device's.
    const answer = await post(DEREG_REQUEST, getUafRequest("Dereg", { username }), {
      "device-signature": await deviceSignature(tablet, username),
    });
    expect(answer.status).toBe(200);
    expect(await storedAaids(username)).toEqual(["F1D0#0001"]);
    expect((await readUafUser(username))!.devices.map((device) => device.deviceId)).toEqual([phone.deviceId]);

    // The phone signs for its own user only: naming another user in the context is 403.
    const other = await registeredPhone();
    expectRefused(
      await post(DEREG_REQUEST, getUafRequest("Dereg", { username: other.username }), {
        "device-signature": await deviceSignature(phone, username),
      }),
      1403,
    );
    // Signing in another user's name finds no such device of theirs: 401.
    expectRefused(
      await post(DEREG_REQUEST, getUafRequest("Dereg", { username: other.username }), {
        "device-signature": await deviceSignature(phone, other.username),
      }),
      1401,
    );
    expect(await storedAaids(other.username)).toEqual(["F1D0#0001"]);
    expect(await storedAaids(username)).toEqual(["F1D0#0001"]);
  });

  it("a stale or forged Device-Signature: 401", async () => {
    const { username, phone } = await registeredPhone();
    const stale = await deviceSignature(phone, username, { now: Math.floor(Date.now() / 1000) - 3600 });
    expectRefused(await post(DEREG_REQUEST, getUafRequest("Dereg", { username }), { "device-signature": stale }), 1401);
    const stranger = await newPhone({ platform: "android", deviceId: phone.deviceId });
    expectRefused(
      await post(DEREG_REQUEST, getUafRequest("Dereg", { username }), {
        "device-signature": await deviceSignature(stranger, username),
      }),
      1401,
    );
    expectRefused(
      await post(DEREG_REQUEST, getUafRequest("Dereg", { username }), { "device-signature": "not.a.jws" }),
      1401,
    );
    expect(await storedAaids(username)).toEqual(["F1D0#0001"]);
  });
});
