/**
 * The out-of-band services (docs/uaf.md, protocols/uaf-nevis.md §2):
 *   POST .../token/dispatch/{operation}  (access key)  create and deliver a dispatch token
 *   POST .../token/redeem/{operation}                  the token -> ReturnUAFRequest (once)
 *   POST .../status                                    {sessionId} -> the transaction's status
 */
import type { Context } from "hono";
import { z } from "zod";
import { OAuthError } from "../../errors";
import { uafTransactionObject, type UafOperation, type UafTransactionRecord } from "../../kv/uaf-transaction";
import { uafUserObject } from "../../kv/uaf-user";
import { hashToken } from "../../tokens/grant-tokens";
import type { AppEnv } from "../context";
import { deregistrationRequest, newAuthenticationRequest, newRegistrationRequest } from "./ceremony";
import { DISPATCHERS, dispatch } from "./out-of-band";
import { UAF_STATUS, UafError } from "./uaf-error";
import { authenticationContextSchema, deregistrationContextSchema, getUafRequestSchema, readJsonBody, registrationContextSchema, uafJson } from "./wire";

export const OPERATIONS = ["registration", "authentication", "deregistration"] as const;
const OP_OF: Record<UafOperation, "Reg" | "Auth" | "Dereg"> = { registration: "Reg", authentication: "Auth", deregistration: "Dereg" };

function operationOf(c: Context<AppEnv>): UafOperation {
  const operation = c.req.param("operation");
  if (!(OPERATIONS as readonly string[]).includes(operation ?? "")) throw new OAuthError("not_found", "no such operation", { reason: `operation ${String(operation).slice(0, 40)}` });
  return operation as UafOperation;
}

function invalid(where: string, error: z.ZodError): OAuthError {
  const issue = error.issues[0]!;
  return new OAuthError("invalid_request", `${where}${issue.path.length ? `.${issue.path.join(".")}` : ""}: ${issue.message}`);
}

async function readJson(c: Context<AppEnv>): Promise<unknown> {
  try {
    return await readJsonBody(c);
  } catch (error) {
    if (error instanceof UafError) throw new OAuthError("invalid_request", error.description, { reason: error.reason });
    throw error;
  }
}

const dispatchSchema = z.strictObject({
  dispatcher: z.enum(DISPATCHERS).default("png-qr-code"),
  dispatchTargetId: z.string().min(1).max(200).optional(),
  dispatchInformation: z.looseObject({ notification: z.strictObject({ title: z.string().max(100), body: z.string().max(500) }).optional() }).optional(),
  getUafRequest: getUafRequestSchema,
});

export async function dispatchToken(c: Context<AppEnv>): Promise<Response> {
  const operation = operationOf(c);
  const parsed = dispatchSchema.safeParse(await readJson(c));
  if (!parsed.success) throw invalid("body", parsed.error);
  const body = parsed.data;
  if (body.getUafRequest.op !== OP_OF[operation]) throw new OAuthError("invalid_request", `getUafRequest.op must be ${OP_OF[operation]}`);
  let context: unknown;
  try {
    context = JSON.parse(body.getUafRequest.context ?? "");
  } catch {
    throw new OAuthError("invalid_request", "getUafRequest.context must be a JSON string");
  }
  const schema = operation === "registration" ? registrationContextSchema : operation === "authentication" ? authenticationContextSchema : deregistrationContextSchema;
  const contextParsed = schema.safeParse(context);
  if (!contextParsed.success) throw invalid("getUafRequest.context", contextParsed.error);
  const transaction = (contextParsed.data as { transaction?: UafTransactionRecord["transaction"] }).transaction;
  const result = await dispatch(c, {
    operation,
    username: contextParsed.data.username,
    dispatcher: body.dispatcher,
    ...(body.dispatchTargetId ? { deviceId: body.dispatchTargetId } : {}),
    ...(transaction ? { transaction } : {}),
    ...(body.dispatchInformation?.notification ? { message: body.dispatchInformation.notification } : {}),
    createUser: operation === "registration",
  });
  c.get("log").uaf_dispatch = result.dispatchResult;
  c.header("Cache-Control", "no-store");
  if (result.dispatchResult !== "dispatched") {
    c.get("log").reason = (result as { reason: string }).reason;
    return c.json({ dispatchResult: result.dispatchResult, dispatcherInformation: { name: body.dispatcher } });
  }
  const ok = result as Extract<typeof result, { token: string }>;
  return c.json({ token: ok.token, sessionId: ok.transactionId, dispatcherInformation: ok.dispatcherInformation, dispatchResult: ok.dispatchResult });
}

export async function redeemToken(c: Context<AppEnv>): Promise<Response> {
  const operation = operationOf(c);
  const body = (await readJsonBody(c)) as { token?: unknown };
  const token = typeof body === "object" && body !== null && typeof body.token === "string" ? body.token : undefined;
  if (!token || token.length > 200) throw new UafError(UAF_STATUS.BAD_REQUEST, "token: required", "redeem_token_missing");
  const stub = uafTransactionObject(c.env.UAF_TRANSACTIONS, token.split(".")[0] ?? "");
  const redeemed = stub ? await stub.redeem(await hashToken(token), c.get("now")) : ({ ok: false, reason: "unknown_token" } as const);
  if (!redeemed.ok) throw new UafError(UAF_STATUS.BAD_REQUEST, "The token is not valid, was already used, or has expired", redeemed.reason);
  const tx = redeemed.value;
  if (tx.operation !== operation) {
    await stub!.finish({ succeeded: false, uafStatusCode: UAF_STATUS.BAD_REQUEST }, c.get("now"));
    throw new UafError(UAF_STATUS.BAD_REQUEST, `The token is for ${tx.operation}`, `redeem_operation_mismatch ${operation}`);
  }
  c.get("log").uaf_user = tx.username;
  c.get("log").session = tx.id;
  switch (tx.operation) {
    case "registration":
      return uafJson(c, await newRegistrationRequest(c, tx.username, tx.id));
    case "authentication":
      try {
        return uafJson(c, await newAuthenticationRequest(c, tx.username, { tx: tx.id, ...(tx.transaction ? { transaction: tx.transaction } : {}) }));
      } catch (error) {
        if (error instanceof UafError) await stub!.finish({ succeeded: false, uafStatusCode: error.statusCode }, c.get("now"));
        throw error;
      }
    case "deregistration": {
      const removed = await uafUserObject(c.env.UAF_USERS, tx.username).deregister({}, c.get("now"));
      await stub!.finish({ succeeded: true, uafStatusCode: UAF_STATUS.OK, authenticators: removed.map(({ aaid, keyId }) => ({ aaid, keyId })) }, c.get("now"));
      return uafJson(c, deregistrationRequest(c.get("config"), removed));
    }
  }
}

/** The Nevis status service's view of a transaction. */
export function statusView(tx: UafTransactionRecord | null) {
  if (!tx) return { status: "unknown" };
  return {
    status: tx.status,
    ...(tx.uaf_status_code !== undefined ? { uafStatusCode: tx.uaf_status_code } : {}),
    authenticators: tx.authenticators.map((authenticator) => ({ aaid: authenticator.aaid, keyId: authenticator.keyId })),
    ...(tx.token_result ? { tokenInformation: { tokenResult: tx.token_result } } : {}),
  };
}

export async function status(c: Context<AppEnv>): Promise<Response> {
  const body = (await readJson(c)) as { sessionId?: unknown };
  const sessionId = typeof body === "object" && body !== null && typeof body.sessionId === "string" ? body.sessionId : undefined;
  if (!sessionId) throw new OAuthError("invalid_request", "sessionId: required");
  const tx = await uafTransactionObject(c.env.UAF_TRANSACTIONS, sessionId)?.read(c.get("now"));
  c.header("Cache-Control", "no-store");
  return c.json(statusView(tx ?? null));
}

