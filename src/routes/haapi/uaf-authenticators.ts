/**
 * The FIDO UAF authenticators of the login flow (issue 7, "Into the login flow"):
 *
 * - uaf-mobile-approval: POST {userName} dispatches a UAF authentication to the user's registered phone
 *   (FCM push when the phone has a push target, else an app link and its QR code shown in the step, with
 *   a transaction text naming the client), then the generic polling step until the phone has answered;
 *   the phone's UAF response settles the UafTransaction, which the poll reads.
 * - uaf-device: POST {userName} answers a client-operation with the UAF AuthenticationRequest for the
 *   user's keys; the app posts its uafResponse to .../uaf-response, which finishes the flow.
 *
 * UAF refusals become the flow's `authentication-failed` problem, never a UAF ServerResponse.
 */
import type { Context } from "hono";
import { base64url } from "jose";
import type { AuthenticatorConfig } from "../../config/schema";
import { uafTransactionObject } from "../../kv/uaf-transaction";
import { newUafTransactionObject } from "../../kv/uaf-transaction";
import { uafUserObject } from "../../kv/uaf-user";
import type { SessionRecord } from "../../kv/login-session";
import { qrCodePng } from "../../qr/png";
import { findUser } from "../users";
import { keysFor } from "../services";
import { completeAuthentication, newAuthenticationRequest } from "../uaf/ceremony";
import { appLinkBase, dispatch, outOfBandPayload } from "../uaf/out-of-band";
import { UafError } from "../uaf/uaf-error";
import { authenticated, uafAmr } from "./authenticated";
import type { AppEnv } from "../context";
import type { HaapiEnv } from "./context";
import { readForm, requireFields, username } from "./form-input";
import { mismatch } from "./guard";
import { finishFlow, represent } from "./respond";
import { error, HaapiProblem, info, type Link, type Message, type Representation } from "./representations";
import { pollingStep } from "./steps";
import { uafOperationStep } from "./uaf-steps";

/** The UAF services' context view of a flow request (HaapiEnv only adds variables to AppEnv). */
const asApp = (c: Context<HaapiEnv>) => c as unknown as Context<AppEnv>;

function refused(reason: string, text = "The login could not be completed with this authenticator."): HaapiProblem {
  return new HaapiProblem("authentication-failed", "Authentication failed", { messages: [error(text)] }, { reason });
}

/** The login user and their UAF registrations; the same problem for an unknown user and one without a phone. */
async function uafUserFor(c: Context<HaapiEnv>, name: string) {
  const user = await findUser(c.env, c.get("config"), name);
  const uaf = user ? await uafUserObject(c.env.UAF_USERS, user.username).read() : null;
  if (!user || !uaf || uaf.authenticators.length === 0) throw refused(user ? "uaf_no_authenticator" : "uaf_unknown_user", "No registered authenticator can approve this login.");
  return { user, uaf };
}

/** The one-time token secret of a mobile approval, derived from its transaction id, so the step can show its link again. */
async function approvalSecret(c: Context<HaapiEnv>, transactionId: string): Promise<string> {
  const secret = (await keysFor(c.env, c.get("config"), c.get("now"))).serverSecret;
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(`haapi-edge/uaf-mobile-approval/v1\u0000${secret}`), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return base64url.encode(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(transactionId))));
}

/** The app link and its QR code for a pending mobile approval. */
async function approvalLinks(c: Context<HaapiEnv>, transactionId: string): Promise<Link[]> {
  const config = c.get("config");
  const token = `${transactionId}.${await approvalSecret(c, transactionId)}`;
  const appLink = `${appLinkBase(config)}?dispatchTokenResponse=${outOfBandPayload(config, "authentication", token)}`;
  const qr = await qrCodePng(appLink, config.uaf.dispatch.qr_code_size);
  return [
    { href: appLink, rel: "activation", title: "Open on your phone" },
    { href: qr.dataUri, rel: "activation", type: qr.type, title: "Scan with your phone" },
  ];
}

export async function startMobileApproval(c: Context<HaapiEnv>, authenticator: AuthenticatorConfig): Promise<Response> {
  const config = c.get("config");
  const now = c.get("now");
  const session = c.get("session");
  const fields = requireFields(await readForm(c), { userName: username });
  const { user, uaf } = await uafUserFor(c, fields.userName!);
  const transaction = [{ contentType: "text/plain", content: base64url.encode(`Log in to ${session.request.client_id}`) }];
  const secretFor = (id: string) => approvalSecret(c, id);
  const pushable = uaf.devices.some((device) => device.fcmRegistrationToken && device.encryptionKey);
  let result = pushable ? await dispatch(asApp(c), { operation: "authentication", username: uaf.username, dispatcher: "firebase-cloud-messaging", transaction, secretFor, message: { title: "Login request", body: `Approve the login to ${session.request.client_id}` } }) : null;
  const pushed = result?.dispatchResult === "dispatched";
  if (result && !pushed) c.get("log").uaf_push = (result as { reason: string }).reason;
  if (!pushed) result = await dispatch(asApp(c), { operation: "authentication", username: uaf.username, dispatcher: "link", transaction, secretFor });
  if (result?.dispatchResult !== "dispatched") throw refused(`uaf_dispatch_${(result as { reason: string }).reason}`);
  const transactionId = (result as { transactionId: string }).transactionId;
  const expiresAt = Math.min(session.expires_at, now + config.uaf.dispatch.token_ttl + config.uaf.request_ttl);
  const updated = await c.get("sessionStub").setStep({ kind: "poll", authenticator: authenticator.id, approval_hash: "", expires_at: expiresAt, status: "pending", user: authenticated(user, authenticator, ["mca"], now), transaction: transactionId });
  if (!updated) throw mismatch("session_already_completed");
  c.get("log").session_uaf_tx = transactionId;
  return represent(c, await mobileApprovalStep(c, updated, pushed));
}

/** The polling step of a mobile approval, its status read from the transaction (and kept in the session once final). */
export async function mobileApprovalStep(c: Context<HaapiEnv>, session: SessionRecord, pushed = false): Promise<Representation> {
  const config = c.get("config");
  const now = c.get("now");
  const step = session.step;
  if (step.kind !== "poll" || !step.transaction) throw mismatch("not_a_mobile_approval");
  const authenticator = config.authenticatorsById.get(step.authenticator)!;
  let status = step.status;
  if (status === "pending") {
    const tx = await uafTransactionObject(c.env.UAF_TRANSACTIONS, step.transaction)?.read(now);
    if (tx?.status === "succeeded") {
      status = "done";
      await c.get("sessionStub").setStep({ ...step, status, user: { ...step.user, amr: [...uafAmr(tx.authenticators[0]?.aaid ?? ""), "mca"] } });
    } else if (!tx || tx.status === "failed" || step.expires_at <= now) {
      status = "failed";
      await c.get("sessionStub").setStep({ ...step, status });
    }
  }
  const messages: Message[] =
    status === "pending" ? [info(pushed ? "A request was sent to your phone. Approve it there, or scan the code." : "Scan the code with your phone, or open the link on it, and approve the login.")] : status === "failed" ? [error("The login was not approved.")] : [];
  return pollingStep(config, authenticator, status, { remaining: Math.max(0, step.expires_at - now), messages, ...(status === "pending" ? { links: await approvalLinks(c, step.transaction) } : {}) });
}

export async function startDeviceAuthentication(c: Context<HaapiEnv>, authenticator: AuthenticatorConfig): Promise<Response> {
  const config = c.get("config");
  const now = c.get("now");
  const session = c.get("session");
  const fields = requireFields(await readForm(c), { userName: username });
  const { user, uaf } = await uafUserFor(c, fields.userName!);
  // The UAF response must answer this very request: a transaction ties its serverData to the session.
  const { id, stub } = newUafTransactionObject(c.env.UAF_TRANSACTIONS);
  const expiresAt = Math.min(session.expires_at, now + config.uaf.request_ttl);
  await stub.create({ id, operation: "authentication", username: uaf.username, userId: uaf.userId, token_hash: "", status_token_hash: "", status: "clientAuthenticating", authenticators: [], dispatcher: "in-app", created_at: now, updated_at: now, expires_at: expiresAt });
  let request;
  try {
    request = await newAuthenticationRequest(asApp(c), uaf.username, { tx: id });
  } catch (cause) {
    if (cause instanceof UafError) throw refused(cause.reason);
    throw cause;
  }
  const updated = await c.get("sessionStub").setStep({ kind: "uaf", authenticator: authenticator.id, transaction: id, expires_at: expiresAt, user: authenticated(user, authenticator, ["hwk"], now) });
  if (!updated) throw mismatch("session_already_completed");
  return represent(c, uafOperationStep(config, authenticator, request));
}

export async function finishDeviceAuthentication(c: Context<HaapiEnv>, authenticator: AuthenticatorConfig): Promise<Response> {
  const session = c.get("session");
  const step = session.step;
  if (step.kind !== "uaf" || step.authenticator !== authenticator.id) throw refused("uaf_response_without_request", "Start the login with this authenticator again.");
  const fields = requireFields(await readForm(c), { uafResponse: (value) => (value.length <= 65_536 ? null : "too long") });
  let done;
  try {
    done = await completeAuthentication(asApp(c), fields.uafResponse!, { expectTransaction: step.transaction });
  } catch (cause) {
    if (cause instanceof UafError) throw refused(`uaf_${cause.statusCode} ${cause.reason}`);
    throw cause;
  }
  if (done.username.toLowerCase() !== step.user.username.toLowerCase()) throw refused("uaf_response_for_another_user");
  c.get("log").uaf_aaid = done.authenticator.aaid;
  return finishFlow(c, session, { ...step.user, amr: uafAmr(done.authenticator.aaid), auth_time: c.get("now") });
}
