/**
 * Out-of-band UAF operations (docs/uaf.md): a dispatch creates a UafTransaction and its one-time token,
 * and delivers the token as the SDK's payload
 *   {"nma_data": {"token", "redeem_url"}, "nma_data_content_type": "application/json", "nma_data_version": "1"}
 * by link (`<app link base>?dispatchTokenResponse=<base64url payload>`), PNG QR code, or FCM push (the
 * payload encrypted to the device's encryption key, `application/jose`). The device redeems the token for
 * the UAF request; its UAF response settles the transaction (ceremony-response.ts); the status service reports it.
 *
 * Tokens are `<transaction id>.<256 random bits>`; only their SHA-256 is stored.
 */
import type { Context } from "hono";
import { base64url, CompactEncrypt, importJWK } from "jose";
import type { Config } from "../../config/load";
import { FcmError, parseServiceAccount, sendFcmMessage } from "../../dispatch/fcm";
import type { UafOperation, UafTransactionRecord } from "../../kv/uaf-transaction";
import type { UafDeviceRecord } from "../../kv/uaf-user";
import { uafUser } from "../uaf-users";
import { qrCodePng } from "../../qr/png";
import { hashToken, newGrantSecret } from "../../tokens/grant-tokens";
import { encryptionAlgorithmOf } from "../../verifiers/device-signature";
import type { AppEnv } from "../context";

export const DISPATCHERS = ["link", "png-qr-code", "link-png-qr-code", "firebase-cloud-messaging"] as const;
export type Dispatcher = (typeof DISPATCHERS)[number];

export type DispatchResult =
  | "dispatched"
  | "dispatchError"
  | "dispatchTargetExpired"
  | "dispatchTargetNotFound"
  | "dispatcherNotFound"
  | "userNotFound"
  | "internalError";

/** Why a token could not be dispatched (the log's reason; `dispatchResult` is what the backend is told). */
export type DispatchRefusal =
  | "uaf_user_unknown"
  | "uaf_user_without_authenticator"
  | "fcm_device_unknown"
  | "fcm_no_device"
  | "fcm_device_ambiguous"
  | "fcm_device_without_encryption_key"
  | "fcm_encryption_key_unusable"
  | "fcm_target_expired"
  /** `detail.fcm`: the FCM client's reason (src/dispatch/fcm.ts). */
  | "fcm_failed";

export interface DispatchRefused {
  readonly dispatchResult: Exclude<DispatchResult, "dispatched">;
  readonly reason: DispatchRefusal;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface Dispatch {
  readonly transactionId: string;
  readonly token: string;
  readonly statusToken: string;
  readonly appLinkUri: string;
  readonly dispatchResult: "dispatched";
  readonly dispatcherInformation: { readonly name: Dispatcher; readonly response?: string };
  readonly qrCode?: { readonly type: "image/png"; readonly size: number; readonly dataUri: string };
}

export function appLinkBase(config: Config): string {
  return config.uaf.dispatch.app_link_base ?? `${config.issuer}/open`;
}

/** The SDK's `nma_data`: the token and where to redeem it. */
function nmaData(config: Config, operation: UafOperation, token: string) {
  return { token, redeem_url: `${config.issuer}/_app/token/redeem/${operation}` };
}

/** The SDK's out-of-band payload for links and QR codes: base64url of its JSON. */
export function outOfBandPayload(config: Config, operation: UafOperation, token: string): string {
  return base64url.encode(
    JSON.stringify({
      nma_data: nmaData(config, operation, token),
      nma_data_content_type: "application/json",
      nma_data_version: "1",
    }),
  );
}

/** The nma_data encrypted to the device's key (checked when it was registered: verifiers/device-signature.ts). */
async function encryptFor(device: UafDeviceRecord, data: ReturnType<typeof nmaData>): Promise<string> {
  const jwk = device.encryptionKey!;
  const alg = encryptionAlgorithmOf(jwk);
  const key = await importJWK(jwk, alg);
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(data)))
    .setProtectedHeader({ alg, enc: "A256GCM", cty: "application/json" })
    .encrypt(key);
}

export interface DispatchRequest {
  readonly operation: UafOperation;
  readonly username: string;
  readonly dispatcher: Dispatcher;
  /** The device to push to (firebase-cloud-messaging); default: the user's only device with a token. */
  readonly deviceId?: string;
  readonly transaction?: UafTransactionRecord["transaction"];
  /** Create the UAF user when unknown (enrollment); otherwise an unknown user is `userNotFound`. */
  readonly createUser?: boolean;
  readonly message?: { readonly title: string; readonly body: string };
  /** The token's secret part for a transaction id (default: random). A login step that must show its link again derives it. */
  readonly secretFor?: (transactionId: string) => Promise<string>;
}

/** Create the transaction and deliver its token. The transaction is kept only if the result is `dispatched`. */
export async function dispatch(c: Context<AppEnv>, request: DispatchRequest): Promise<Dispatch | DispatchRefused> {
  const config = c.get("config");
  const now = c.get("now");
  const userRef = await uafUser(c, request.username);
  const user = request.createUser
    ? await userRef.run("ensure", { userId: userRef.id, username: request.username }, now)
    : await userRef.run("read", null, now);
  if (!user) return { dispatchResult: "userNotFound", reason: "uaf_user_unknown" };
  if (request.operation !== "registration" && user.authenticators.length === 0)
    return { dispatchResult: "userNotFound", reason: "uaf_user_without_authenticator" };
  let device: UafDeviceRecord | undefined;
  if (request.dispatcher === "firebase-cloud-messaging") {
    const pushable = user.devices.filter((candidate) => candidate.fcmRegistrationToken !== undefined);
    device = request.deviceId
      ? user.devices.find((candidate) => candidate.deviceId === request.deviceId)
      : pushable.length === 1
        ? pushable[0]
        : undefined;
    if (!device?.fcmRegistrationToken)
      return {
        dispatchResult: "dispatchTargetNotFound",
        reason: request.deviceId
          ? "fcm_device_unknown"
          : pushable.length === 0
            ? "fcm_no_device"
            : "fcm_device_ambiguous",
      };
    // The Nevis dispatcher encrypts push payloads; a device without an encryption key cannot get one.
    if (!device.encryptionKey) return { dispatchResult: "dispatchError", reason: "fcm_device_without_encryption_key" };
  }

  const ref = c.get("stores").uafTransactions.fresh();
  const id = ref.id;
  const token = request.secretFor ? `${id}.${await request.secretFor(id)}` : (await newGrantSecret(id)).token;
  const statusToken = await newGrantSecret(id);
  const payload = outOfBandPayload(config, request.operation, token);
  const appLinkUri = `${appLinkBase(config)}?dispatchTokenResponse=${payload}`;
  // Created before delivery: a pushed token can be redeemed at once.
  await ref.run(
    "create",
    {
      id,
      operation: request.operation,
      username: user.username,
      userId: user.userId,
      token_hash: await hashToken(token),
      status_token_hash: statusToken.hash,
      status: "tokenCreated",
      ...(request.transaction ? { transaction: request.transaction } : {}),
      authenticators: [],
      dispatcher: request.dispatcher,
      created_at: now,
      updated_at: now,
      expires_at: now + config.uaf.dispatch.token_ttl,
    },
    now,
  );
  const size = config.uaf.dispatch.qr_code_size;
  let response: string | undefined;
  let qrCode: Dispatch["qrCode"];
  switch (request.dispatcher) {
    case "link":
      response = appLinkUri;
      break;
    case "png-qr-code":
      qrCode = await qrCodePng(payload, size);
      response = qrCode.dataUri;
      break;
    case "link-png-qr-code":
      qrCode = await qrCodePng(appLinkUri, size);
      response = qrCode.dataUri;
      break;
    case "firebase-cloud-messaging": {
      let encrypted: string;
      try {
        encrypted = await encryptFor(device!, nmaData(config, request.operation, token));
      } catch {
        await ref.run("discard", null, now);
        return { dispatchResult: "dispatchError", reason: "fcm_encryption_key_unusable" };
      }
      // The push carries the payload as is (FCM data values are strings), its nma_data encrypted.
      const push = { nma_data: encrypted, nma_data_content_type: "application/jose", nma_data_version: "1" };
      try {
        const account = parseServiceAccount(c.get("secrets").fcmServiceAccount);
        response = await sendFcmMessage(
          account,
          { endpoint: config.uaf.dispatch.fcm.endpoint, tokenUri: config.uaf.dispatch.fcm.token_uri },
          {
            token: device!.fcmRegistrationToken!,
            data: push,
            ...(request.message ? { notification: request.message } : {}),
          },
          now,
        );
      } catch (error) {
        await ref.run("discard", null, now);
        if (error instanceof FcmError)
          return error.reason === "fcm_target_expired"
            ? { dispatchResult: "dispatchTargetExpired", reason: "fcm_target_expired" }
            : { dispatchResult: "dispatchError", reason: "fcm_failed", detail: { fcm: error.reason } };
        throw error;
      }
      break;
    }
  }
  return {
    transactionId: id,
    token,
    statusToken: statusToken.token,
    appLinkUri,
    dispatchResult: "dispatched",
    dispatcherInformation: { name: request.dispatcher, ...(response ? { response } : {}) },
    ...(qrCode ? { qrCode } : {}),
  };
}
