/**
 * The Authentication Cloud API (Nevis's, docs/uaf.md), behind the Bearer access key:
 *   POST /api/v1/users/enroll  {username | userId, channel: "app"}  -> the user and an enrollment (QR code, app link)
 *   POST /api/v1/approval      {username | userId, channel: "push" | "app", message?}  -> an out-of-band authentication
 *   POST /api/v1/status        {statusToken}  -> pending | succeeded | failed | unknown
 */
import type { Context } from "hono";
import { base64url } from "jose";
import { z } from "zod";
import { OAuthError } from "../../errors";
import type { UafTransactionRecord } from "../../kv/uaf-transaction";
import type { UafUserRecord } from "../../kv/uaf-user";
import { uafUser, uafUserById } from "../uaf-users";
import { hashToken } from "../../tokens/grant-tokens";
import { constantTimeEqual } from "../../verifiers/constant-time";
import type { AppEnv } from "../context";
import { dispatch, type DispatchRefusal, type DispatchRequest } from "./out-of-band";
import { parseWith, readJsonBody, username } from "./wire";

const iso = (epoch: number) => new Date(epoch * 1000).toISOString();

const who = {
  username: username.optional(),
  userId: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "not a userId")
    .optional(),
};
const enrollSchema = z.strictObject({
  ...who,
  channel: z.enum(["app", "push", "sms", "fido2", "recovery"]).default("app"),
});
const approvalSchema = z.strictObject({
  ...who,
  channel: z.enum(["app", "push", "sms", "fido2", "recovery"]).default("push"),
  message: z.string().min(1).max(500).optional(),
  prompt: z.string().min(1).max(100).optional(),
});
const statusSchema = z.strictObject({ statusToken: z.string().min(1).max(300) });

async function readBody<T extends z.ZodType>(c: Context<AppEnv>, schema: T): Promise<z.output<T>> {
  return parseWith(schema, await readJsonBody(c), "body");
}

/** The user a request names by username or userId (exactly one). */
async function userNamed(
  c: Context<AppEnv>,
  body: { username?: string | undefined; userId?: string | undefined },
  create: boolean,
): Promise<UafUserRecord> {
  if ((body.username === undefined) === (body.userId === undefined))
    throw new OAuthError("invalid_request", "give exactly one of username or userId", {
      reason: "user_selector_invalid",
    });
  if (body.username !== undefined) {
    const ref = await uafUser(c, body.username);
    const user = create
      ? await ref.run("ensure", { userId: ref.id, username: body.username }, c.get("now"))
      : await ref.run("read", null, c.get("now"));
    if (user) return user;
  } else {
    const user = await uafUserById(c, body.userId!)?.run("read", null, c.get("now"));
    if (user) return user;
  }
  throw new OAuthError("not_found", "no such user", { reason: "cloud_api_user_unknown" });
}

function userView(user: UafUserRecord) {
  return {
    userId: user.userId,
    username: user.username,
    status: user.authenticators.length ? "active" : "new",
    createdAt: iso(user.created_at),
    updatedAt: iso(user.updated_at),
    authenticators: user.authenticators.map((authenticator) => ({
      aaid: authenticator.aaid,
      keyId: authenticator.keyId,
      deviceId: authenticator.deviceId,
      registeredAt: iso(authenticator.registered_at),
    })),
  };
}

/** What the backend can do about a push that cannot be sent (the log keeps the reason itself). */
const UNDELIVERABLE: Partial<Record<DispatchRefusal, string>> = {
  fcm_no_device: ": no device of the user has an FCM registration token; use channel app",
  fcm_device_without_encryption_key:
    ": the user's device registered no encryption key for push payloads; use channel app",
};

async function started(c: Context<AppEnv>, request: DispatchRequest) {
  const result = await dispatch(c, request);
  if (result.dispatchResult !== "dispatched") {
    const { reason, detail } = result;
    throw new OAuthError(
      "invalid_request",
      result.dispatchResult === "userNotFound"
        ? "the user has no registered authenticator"
        : `the request could not be delivered (${result.dispatchResult})${UNDELIVERABLE[reason] ?? ""}`,
      { reason, ...(detail ? { detail } : {}) },
    );
  }
  return result;
}

export async function enroll(c: Context<AppEnv>): Promise<Response> {
  const body = await readBody(c, enrollSchema);
  if (body.channel !== "app")
    throw new OAuthError("invalid_request", `channel ${body.channel} is not supported; use app`, {
      reason: "channel_unsupported",
      detail: { channel: body.channel },
    });
  const user = await userNamed(c, body, true);
  const enrollment = await started(c, {
    operation: "registration",
    username: user.username,
    dispatcher: "link-png-qr-code",
  });
  c.header("Cache-Control", "no-store");
  return c.json({
    ...userView(user),
    enrollment: {
      transactionId: enrollment.transactionId,
      statusToken: enrollment.statusToken,
      qrCode: enrollment.qrCode,
      appLinkUri: enrollment.appLinkUri,
    },
  });
}

export async function approval(c: Context<AppEnv>): Promise<Response> {
  const body = await readBody(c, approvalSchema);
  if (body.channel !== "push" && body.channel !== "app")
    throw new OAuthError("invalid_request", `channel ${body.channel} is not supported; use push or app`, {
      reason: "channel_unsupported",
      detail: { channel: body.channel },
    });
  const user = await userNamed(c, body, false);
  const text = body.message ?? body.prompt;
  const transaction: UafTransactionRecord["transaction"] = text
    ? [{ contentType: "text/plain", content: base64url.encode(text) }]
    : undefined;
  const result = await started(c, {
    operation: "authentication",
    username: user.username,
    dispatcher: body.channel === "push" ? "firebase-cloud-messaging" : "link-png-qr-code",
    ...(transaction ? { transaction } : {}),
    ...(body.channel === "push"
      ? { message: { title: body.prompt ?? "Login request", body: body.message ?? "Approve the login" } }
      : {}),
  });
  c.header("Cache-Control", "no-store");
  return c.json({
    transactionId: result.transactionId,
    userId: user.userId,
    statusToken: result.statusToken,
    ...(body.channel === "app" ? { qrCode: result.qrCode, appLinkUri: result.appLinkUri } : {}),
  });
}

/** Authentication Cloud status: the Nevis states folded into pending / succeeded / failed. */
export async function cloudStatus(c: Context<AppEnv>): Promise<Response> {
  const body = await readBody(c, statusSchema);
  const now = c.get("now");
  const tx = await c
    .get("stores")
    .uafTransactions.byId(body.statusToken.split(".")[0] ?? "")
    ?.run("read", null, now);
  c.header("Cache-Control", "no-store");
  if (!tx || !constantTimeEqual(tx.status_token_hash, await hashToken(body.statusToken)))
    return c.json({ status: "unknown" });
  const status = tx.status === "succeeded" ? "succeeded" : tx.status === "failed" ? "failed" : "pending";
  return c.json({
    transactionId: tx.id,
    status,
    userId: tx.userId,
    username: tx.username,
    createdAt: iso(tx.created_at),
    lastUpdatedAt: iso(tx.updated_at),
  });
}
