/**
 * The device service (the Nevis SDK's Device Service HTTP API), authorized by `Device-Signature` only:
 *   GET    .../devices/{deviceId}   the device's information and authenticators
 *   PATCH  .../devices/{deviceId}   change device information: {name?, fcmRegistrationToken? (null removes it), encryptionKey?}
 *   DELETE .../devices/{deviceId}   deregister every authenticator of the device (which removes the device)
 */
import type { Context } from "hono";
import { z } from "zod";
import type { UafDeviceRecord, UafUserRecord } from "../../kv/uaf-user";
import { uafUser } from "../uaf-users";
import type { AppEnv } from "../context";
import { checkDeviceKeys } from "../../verifiers/device-signature";
import { deviceSignatureOf } from "./authorize";
import { deregistrationRequest } from "./ceremony-request";
import { UAF_STATUS, UafError } from "./uaf-error";
import { encryptionJwk, parseWith, readJsonBody, uafJson } from "./wire";

const changeSchema = z
  .strictObject({
    name: z.string().min(1).max(100).optional(),
    fcmRegistrationToken: z.string().min(1).max(4096).nullable().optional(),
    encryptionKey: encryptionJwk.optional(),
  })
  .refine(
    (change) =>
      change.name !== undefined || change.fcmRegistrationToken !== undefined || change.encryptionKey !== undefined,
    "give name, fcmRegistrationToken or encryptionKey",
  );

/** The device in the path, signed for by that very device. */
async function signedDevice(c: Context<AppEnv>): Promise<{ username: string; deviceId: string; user: UafUserRecord }> {
  const signature = c.req.header("Device-Signature");
  if (signature === undefined)
    throw new UafError(UAF_STATUS.UNAUTHORIZED, "A Device-Signature is required", {
      reason: "device_signature_missing",
    });
  const signed = await deviceSignatureOf(c, signature);
  if (signed.deviceId !== c.req.param("deviceId"))
    throw new UafError(UAF_STATUS.FORBIDDEN, "The Device-Signature is for another device", {
      reason: "device_signature_other_device",
    });
  return signed;
}

function deviceView(user: UafUserRecord, device: UafDeviceRecord) {
  return {
    deviceId: device.deviceId,
    name: device.name,
    ...(device.fcmRegistrationToken ? { fcmRegistrationToken: device.fcmRegistrationToken } : {}),
    username: user.username,
    userId: user.userId,
    authenticators: user.authenticators
      .filter((authenticator) => authenticator.deviceId === device.deviceId)
      .map(({ aaid, keyId }) => ({ aaid, keyID: keyId })),
  };
}

export async function readDevice(c: Context<AppEnv>): Promise<Response> {
  const { deviceId, user } = await signedDevice(c);
  // The signature was verified with this device's key, read in the same call: the device is in `user`.
  const device = user.devices.find((candidate) => candidate.deviceId === deviceId)!;
  c.header("Cache-Control", "no-store");
  return c.json(deviceView(user, device));
}

export async function changeDevice(c: Context<AppEnv>): Promise<Response> {
  const { username, deviceId } = await signedDevice(c);
  const change = parseWith(changeSchema, await readJsonBody(c), "DeviceInformationChange");
  if (change.encryptionKey && !(await checkDeviceKeys({ encryptionKey: change.encryptionKey })).ok)
    throw new UafError(
      UAF_STATUS.BAD_REQUEST,
      "DeviceInformationChange: the encryptionKey (EC for ECDH-ES, or RSA) is not usable",
      { reason: "encryption_key_unusable" },
    );
  const changes = {
    ...(change.name !== undefined ? { name: change.name } : {}),
    ...(change.fcmRegistrationToken !== undefined ? { fcmRegistrationToken: change.fcmRegistrationToken } : {}),
    ...(change.encryptionKey ? { encryptionKey: change.encryptionKey } : {}),
  };
  const changed = await (await uafUser(c, username)).run("changeDevice", { deviceId, change: changes }, c.get("now"));
  if (!changed.ok)
    throw new UafError(
      changed.reason === "unknown_device" ? UAF_STATUS.NOT_FOUND : UAF_STATUS.BAD_REQUEST,
      changed.reason === "unknown_device" ? "No such device" : "Another device of this user has that name",
      { reason: changed.reason },
    );
  c.header("Cache-Control", "no-store");
  return c.json(deviceView(changed.value.user, changed.value));
}

export async function deleteDevice(c: Context<AppEnv>): Promise<Response> {
  const { username, deviceId } = await signedDevice(c);
  const removed = await (await uafUser(c, username)).run("deregister", { deviceId }, c.get("now"));
  c.get("log").uaf_removed = removed.length;
  return uafJson(c, deregistrationRequest(c.get("config"), removed));
}
