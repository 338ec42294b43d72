/**
 * The out-of-band services (docs/uaf.md; the Nevis out-of-band operations):
 *   POST .../token/dispatch/{operation}  (access key)  create and deliver a dispatch token
 *   POST .../token/redeem/{operation}                  the token -> ReturnUAFRequest (once)
 *   POST .../status                                    {sessionId} -> the transaction's status
 */
import type { Context } from "hono";
import { z } from "zod";
import { OAuthError } from "../../errors";
import type { UafOperation, UafTransactionRecord } from "../../kv/uaf-transaction";
import { uafUser } from "../uaf-users";
import { hashToken } from "../../tokens/grant-tokens";
import type { AppEnv } from "../context";
import { deregistrationRequest, newAuthenticationRequest, newRegistrationRequest } from "./ceremony-request";
import { DISPATCHERS, dispatch } from "./out-of-band";
import { UAF_STATUS, UafError } from "./uaf-error";
import { getUafRequestSchema, parseGetUafRequestContext, parseWith, readJsonBody, type UafOp, uafJson } from "./wire";

export const OPERATIONS = ["registration", "authentication", "deregistration"] as const;
const OP_OF: Record<UafOperation, UafOp> = {
  registration: "Reg",
  authentication: "Auth",
  deregistration: "Dereg",
};

function operationOf(c: Context<AppEnv>): UafOperation {
  const operation = c.req.param("operation");
  if (!(OPERATIONS as readonly string[]).includes(operation ?? ""))
    throw new OAuthError("not_found", "no such operation", {
      reason: "operation_unknown",
      detail: { operation: String(operation).slice(0, 40) },
    });
  return operation as UafOperation;
}

const statusSchema = z.strictObject({ sessionId: z.string().min(1).max(200) });
const redeemSchema = z.strictObject({ token: z.string().min(1).max(200) });

const dispatchSchema = z.strictObject({
  dispatcher: z.enum(DISPATCHERS).default("png-qr-code"),
  dispatchTargetId: z.string().min(1).max(200).optional(),
  dispatchInformation: z
    .looseObject({ notification: z.strictObject({ title: z.string().max(100), body: z.string().max(500) }).optional() })
    .optional(),
  getUafRequest: getUafRequestSchema,
});

export async function dispatchToken(c: Context<AppEnv>): Promise<Response> {
  const operation = operationOf(c);
  const body = parseWith(dispatchSchema, await readJsonBody(c), "body");
  if (body.getUafRequest.op !== OP_OF[operation])
    throw new OAuthError("invalid_request", `getUafRequest.op must be ${OP_OF[operation]}`, {
      reason: "get_uaf_request_op_mismatch",
    });
  if (body.getUafRequest.context === undefined)
    throw new OAuthError("invalid_request", "getUafRequest.context: the username is required", {
      reason: "get_uaf_request_context_missing",
    });
  const context = parseGetUafRequestContext(OP_OF[operation], body.getUafRequest.context, "getUafRequest.context");
  const transaction = (context as { transaction?: UafTransactionRecord["transaction"] }).transaction;
  const result = await dispatch(c, {
    operation,
    username: context.username,
    dispatcher: body.dispatcher,
    ...(body.dispatchTargetId ? { deviceId: body.dispatchTargetId } : {}),
    ...(transaction ? { transaction } : {}),
    ...(body.dispatchInformation?.notification ? { message: body.dispatchInformation.notification } : {}),
    createUser: operation === "registration",
  });
  c.get("log").uaf_dispatch = result.dispatchResult;
  c.header("Cache-Control", "no-store");
  if (result.dispatchResult !== "dispatched") {
    c.get("log").reason = result.reason;
    if (result.detail) c.get("log").detail = result.detail;
    return c.json({ dispatchResult: result.dispatchResult, dispatcherInformation: { name: body.dispatcher } });
  }
  return c.json({
    token: result.token,
    sessionId: result.transactionId,
    dispatcherInformation: result.dispatcherInformation,
    dispatchResult: result.dispatchResult,
  });
}

export async function redeemToken(c: Context<AppEnv>): Promise<Response> {
  const operation = operationOf(c);
  const { token } = parseWith(redeemSchema, await readJsonBody(c), "body");
  const now = c.get("now");
  const ref = c.get("stores").uafTransactions.byId(token.split(".")[0] ?? "");
  const redeemed = ref
    ? await ref.run(
        "redeem",
        { tokenHash: await hashToken(token), operation, answerBy: now + c.get("config").uaf.request_ttl },
        now,
      )
    : ({ ok: false, reason: "unknown_token" } as const);
  if (!redeemed.ok)
    throw new UafError(UAF_STATUS.BAD_REQUEST, "The token is not valid, was already used, or has expired", {
      reason: redeemed.reason,
    });
  const tx = redeemed.value;
  c.get("log").uaf_user = tx.username;
  c.get("log").session = tx.id;
  try {
    switch (tx.operation) {
      case "registration":
        return uafJson(c, await newRegistrationRequest(c, tx.username, { tx: tx.id }));
      case "authentication":
        return uafJson(
          c,
          await newAuthenticationRequest(c, tx.username, {
            tx: tx.id,
            ...(tx.transaction ? { transaction: tx.transaction } : {}),
          }),
        );
      case "deregistration": {
        // Nothing for the device to answer: the server removes the keys now, the request tells the device.
        const removed = await (await uafUser(c, tx.username)).run("deregister", {}, now);
        await ref!.run(
          "end",
          {
            succeeded: true,
            uafStatusCode: UAF_STATUS.OK,
            authenticators: removed.map(({ aaid, keyId }) => ({ aaid, keyId })),
          },
          now,
        );
        return uafJson(c, deregistrationRequest(c.get("config"), removed));
      }
    }
  } catch (error) {
    // The request could not be made (e.g. the user's last authenticator went meanwhile): the operation ends here.
    if (error instanceof UafError) await ref!.run("end", { succeeded: false, uafStatusCode: error.statusCode }, now);
    throw error;
  }
}

/** The Nevis status service's view of a transaction. */
export function statusView(tx: UafTransactionRecord | null) {
  if (!tx) return { status: "unknown" };
  return {
    status: tx.status,
    ...(tx.uaf_status_code !== undefined ? { uafStatusCode: tx.uaf_status_code } : {}),
    authenticators: tx.authenticators.map((authenticator) => ({
      aaid: authenticator.aaid,
      keyId: authenticator.keyId,
    })),
    ...(tx.token_result ? { tokenInformation: { tokenResult: tx.token_result } } : {}),
  };
}

export async function status(c: Context<AppEnv>): Promise<Response> {
  const { sessionId } = parseWith(statusSchema, await readJsonBody(c), "body");
  const tx = await c.get("stores").uafTransactions.byId(sessionId)?.run("read", null, c.get("now"));
  c.header("Cache-Control", "no-store");
  return c.json(statusView(tx ?? null));
}
