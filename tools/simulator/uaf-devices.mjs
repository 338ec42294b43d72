// The device service as a Nevis-style app calls it (src/routes/uaf/devices.ts, docs/uaf.md "device
// information"): read, change and delete the phone's own device record at `/{family}/devices/{deviceId}`,
// each authorized by a fresh Device-Signature for the user (uaf-device-signature.mjs). Deleting the
// device deregisters all its authenticators of that user; the answer is a DeregistrationRequest, which
// the phone applies as it does after `deregister`. `fetch` is injectable, as in uaf-client.mjs.
// Plain ESM: Node 22 and workerd.

import { applyDeregistration, callService, firstRequest, paths, UAF_MEDIA_TYPE } from "./uaf-client.mjs";
import { deviceSignature } from "./uaf-device-signature.mjs";

/** @typedef {import("./uaf-phone.mjs").UafPhone} UafPhone */

/**
 * @typedef {object} DeviceServiceOptions
 * @property {string} baseUrl
 * @property {import("./uaf-client.mjs").Family} [family] default "_app"
 * @property {UafPhone} phone signs, and is the device addressed
 * @property {string} username whose device record (a device is registered per user)
 * @property {import("./uaf-client.mjs").FetchFn} [fetch] default globalThis.fetch
 */

/**
 * The device's URL and the Device-Signature header.
 * @param {DeviceServiceOptions} o
 */
async function signedCall(o) {
  const url = `${paths(o.baseUrl, o.family).devices}/${encodeURIComponent(o.phone.deviceId)}`;
  return {
    url,
    headers: {
      accept: `${UAF_MEDIA_TYPE}, application/json`,
      "device-signature": await deviceSignature(o.phone, o.username),
    },
  };
}

/**
 * GET the device's record: `{deviceId, name, fcmRegistrationToken?, username, userId, authenticators: [{aaid, keyID}]}`.
 * @param {DeviceServiceOptions} o
 * @returns {Promise<{ op: "ReadDevice", device: Record<string, any> }>}
 * @throws {import("./uaf-client.mjs").UafRefusedError} when the server refuses (unknown device: 401)
 *
 * @example const { device } = await readDevice({ baseUrl: "http://127.0.0.1:8787", phone, username: "demo" });
 */
export async function readDevice(o) {
  const { url, headers } = await signedCall(o);
  const device = await callService(o.fetch ?? fetch, "read device", url, { method: "GET", headers, uafStatus: false });
  return { op: "ReadDevice", device };
}

/**
 * PATCH the device's information: a new name and/or FCM registration token (null removes it). When the
 * server accepts, the phone takes the same values, so a later registration sends them.
 * @param {DeviceServiceOptions & { name?: string, fcmRegistrationToken?: string | null }} o
 * @returns {Promise<{ op: "ChangeDevice", device: Record<string, any> }>}
 */
export async function changeDevice(o) {
  if (o.name === undefined && o.fcmRegistrationToken === undefined)
    throw new TypeError("changeDevice needs name or fcmRegistrationToken");
  const { url, headers } = await signedCall(o);
  const body = {
    ...(o.name !== undefined ? { name: o.name } : {}),
    ...(o.fcmRegistrationToken !== undefined ? { fcmRegistrationToken: o.fcmRegistrationToken } : {}),
  };
  const device = await callService(o.fetch ?? fetch, "change device", url, {
    method: "PATCH",
    headers: { ...headers, "content-type": "application/json" },
    body,
    uafStatus: false,
  });
  if (o.name !== undefined) o.phone.name = o.name;
  if (o.fcmRegistrationToken === null) delete o.phone.fcmRegistrationToken;
  else if (o.fcmRegistrationToken !== undefined) o.phone.fcmRegistrationToken = o.fcmRegistrationToken;
  return { op: "ChangeDevice", device };
}

/**
 * DELETE the device: the server deregisters every authenticator of the user on it and answers a
 * ReturnUAFRequest with the DeregistrationRequest, whose authenticators the phone then deletes.
 * @param {DeviceServiceOptions} o
 * @returns {Promise<{ op: "Dereg", request: any, response: null, serverResponse: null, removed: import("./uaf-authenticator.mjs").UafCredential[] }>}
 */
export async function deleteDevice(o) {
  const { url, headers } = await signedCall(o);
  const returned = await callService(o.fetch ?? fetch, "delete device", url, {
    method: "DELETE",
    headers,
    uafStatus: true,
  });
  return applyDeregistration(o.phone, firstRequest(returned, "delete device"), o.username);
}
