import { describe, expect, it } from "vitest";
import { readUafUser } from "../helpers/uaf";
import { deregister, redeemOutOfBand, UafRefusedError, type Family } from "../../tools/simulator/uaf-client.mjs";
import { changeDevice, deleteDevice, readDevice } from "../../tools/simulator/uaf-devices.mjs";
import { newPhone, type UafPhone } from "../../tools/simulator/uaf-phone.mjs";
import { BASE, cloudApi, newUsername, workerFetch } from "../helpers/uaf";

/** A new user, enrolled on a new phone with `kinds` (out of band: one enrollment per authenticator). */
async function enrolled(
  kinds: ("pin" | "fingerprint")[],
  family: Family = "_app",
): Promise<{
  phone: UafPhone;
  username: string;
  o: { baseUrl: string; family: Family; phone: UafPhone; username: string; fetch: typeof workerFetch };
}> {
  const username = newUsername("dev");
  const phone = await newPhone({ platform: "android", name: "Simulated Pixel" });
  for (const kind of kinds) {
    const answer = await cloudApi("users/enroll", { username, channel: "app" });
    expect(answer.status).toBe(200);
    await redeemOutOfBand({ payload: answer.body.enrollment.appLinkUri as string, phone, kind, fetch: workerFetch });
  }
  return { phone, username, o: { baseUrl: BASE, family, phone, username, fetch: workerFetch } };
}

// A first enrollment warms the Worker up (QR code, Durable Objects): more than the default 5 s budget.
describe("device service client", { timeout: 30_000 }, () => {
  it("reads the device record the phone registered, with its authenticators", async () => {
    const { phone, username, o } = await enrolled(["pin", "fingerprint"]);
    const { device } = await readDevice(o);
    expect(device).toMatchObject({ deviceId: phone.deviceId, name: "Simulated Pixel", username });
    expect(device.authenticators).toEqual(phone.credentials.map((c) => ({ aaid: c.aaid, keyID: c.keyId })));
    // The registration context gave the server both public keys (push payloads are encrypted to the second).
    const stored = (await readUafUser(username))!.devices.find((d) => d.deviceId === phone.deviceId)!;
    expect([stored.signatureKey, stored.encryptionKey]).toEqual([
      phone.signatureKey.publicJwk,
      phone.encryptionKey!.publicJwk,
    ]);
  });

  it("renames the device on the server and on the phone, under either path family", async () => {
    const { phone, o } = await enrolled(["pin"], "nevisfido");
    const { device } = await changeDevice({ ...o, name: "Work phone" });
    expect(device.name).toBe("Work phone");
    expect(phone.name).toBe("Work phone");
    expect((await readDevice({ ...o, family: "_app" })).device.name).toBe("Work phone");
  });

  it("leaves the phone as it was when the server refuses a change", async () => {
    const { phone, o } = await enrolled(["pin"]);
    const error = await changeDevice({ ...o, name: "x".repeat(101) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UafRefusedError);
    expect(error).toMatchObject({ httpStatus: 400, statusCode: 1400 });
    expect(phone.name).toBe("Simulated Pixel");
  });

  it("deregisters with a Device-Signature, then deletes the device and its last authenticators", async () => {
    const { phone, o } = await enrolled(["pin", "fingerprint"]);
    const dereg = await deregister({ ...o, kind: "pin", authorization: { type: "device-signature" } });
    expect(dereg.removed.map((c) => c.aaid)).toEqual(["F1D0#0001"]);
    expect(phone.credentials.map((c) => c.aaid)).toEqual(["F1D0#0002"]);
    expect((await readDevice(o)).device.authenticators).toEqual([
      { aaid: "F1D0#0002", keyID: phone.credentials[0]!.keyId },
    ]);

    const deleted = await deleteDevice(o);
    expect(deleted.op).toBe("Dereg");
    expect(deleted.removed.map((c) => c.aaid)).toEqual(["F1D0#0002"]);
    expect(phone.credentials).toEqual([]);
    // The device went with its last authenticator: its signature no longer opens anything.
    await expect(readDevice(o)).rejects.toMatchObject({ httpStatus: 401, statusCode: 1401 });
  });

  it("is refused for another user's record: the signature names the user", async () => {
    const { o } = await enrolled(["pin"]);
    await expect(readDevice({ ...o, username: "someone-else" })).rejects.toMatchObject({
      httpStatus: 401,
      statusCode: 1401,
    });
  });
});
