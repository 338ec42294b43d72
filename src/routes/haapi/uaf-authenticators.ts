/**
 * The FIDO UAF authenticators of the login flow (docs/uaf.md, "In the login flow"):
 *
 * - uaf-mobile-approval: POST {userName} dispatches a UAF authentication to the user's registered phone
 *   (FCM push when the phone has a push target, else an app link and its QR code shown in the step, with
 *   a transaction text naming the client), then the generic polling step until the phone has answered;
 *   the phone's UAF response settles the UafTransaction, which the poll reads (approval.ts). Requests
 *   are rate-limited per user and per source (each may prompt the phone).
 * - uaf-device: POST {userName} answers a client-operation with the UAF AuthenticationRequest for the
 *   user's keys; the app posts its uafResponse to .../uaf-response, which finishes the flow.
 *
 * UAF refusals become the flow's `authentication-failed` problem, never a UAF ServerResponse.
 */
import type { Context } from "hono";
import { base64url } from "jose";
import type { AuthenticatorConfig } from "../../config/schema";
import { rateLimitKey } from "../../kv/rate-limiter";
import { takeToken } from "../rate-limits";
import { readUafUser } from "../uaf-users";
import type { AppEnv } from "../context";
import { newAuthenticationRequest } from "../uaf/ceremony-request";
import { completeAuthentication } from "../uaf/ceremony-response";
import { dispatch } from "../uaf/out-of-band";
import { UafError } from "../uaf/uaf-error";
import { findUser } from "../users";
import { approvalLabel, approvalSecret } from "./approval";
import { authenticated, uafAmr } from "./authenticated";
import type { HaapiEnv } from "./context";
import { readForm, requireFields, username } from "./form-input";
import { mismatch } from "./guard";
import { renderStep } from "./render";
import { finishFlow, represent } from "./respond";
import type { HaapiReason } from "./reasons";
import { error, HaapiProblem } from "./representations";
import { uafOperationStep } from "./uaf-steps";

/** The UAF services' context view of a flow request (HaapiEnv only adds variables to AppEnv). */
const asApp = (c: Context<HaapiEnv>) => c as unknown as Context<AppEnv>;

function refused(
  reason: HaapiReason,
  text = "The login could not be completed with this authenticator.",
  detail?: Readonly<Record<string, unknown>>,
): HaapiProblem {
  return new HaapiProblem(
    "authentication-failed",
    "Authentication failed",
    { messages: [error(text)] },
    { reason, ...(detail ? { detail } : {}) },
  );
}

/** A UAF service's refusal, in the flow: `uaf_refused`, with the service's status and reason as evidence. */
function uafRefused(cause: UafError): HaapiProblem {
  return refused("uaf_refused", undefined, { uaf_status: cause.statusCode, uaf_reason: cause.reason });
}

/** The login user and their UAF registrations; the same problem for an unknown user and one without a phone. */
async function uafUserFor(c: Context<HaapiEnv>, name: string) {
  const user = await findUser(c, name);
  const uaf = user ? await readUafUser(c, user.username) : null;
  if (!user || !uaf || uaf.authenticators.length === 0)
    throw refused(
      user ? "uaf_no_authenticator" : "uaf_unknown_user",
      "No registered authenticator can approve this login.",
    );
  return { user, uaf };
}

function source(c: Context<HaapiEnv>): string {
  return c.req.header("CF-Connecting-IP") ?? "unknown";
}

/** Each approval request may prompt a phone: limited per user and per source, like failed passwords. */
async function limitApprovals(c: Context<HaapiEnv>, username: string): Promise<void> {
  const limits = c.get("config").uaf.dispatch.rate_limit;
  for (const [key, limit] of [
    [rateLimitKey.approvalsByUser(username.toLowerCase()), limits.per_user],
    [rateLimitKey.approvalsBySource(source(c)), limits.per_source],
  ] as const) {
    const decision = await takeToken(c, key, limit);
    if (!decision.allowed) {
      throw new HaapiProblem(
        "too-many-attempts",
        "Too many approval requests; try again later",
        { messages: [error("Too many approval requests; try again later.")] },
        {
          reason: "uaf_approvals_limited",
          detail: { by: key.split(":")[1] },
          headers: { "Retry-After": String(decision.retryAfter) },
        },
      );
    }
  }
}

export async function startMobileApproval(c: Context<HaapiEnv>, authenticator: AuthenticatorConfig): Promise<Response> {
  const config = c.get("config");
  const now = c.get("now");
  const session = c.get("session");
  const fields = requireFields(await readForm(c), { userName: username });
  await limitApprovals(c, fields.userName!);
  const { user, uaf } = await uafUserFor(c, fields.userName!);
  const request = {
    operation: "authentication",
    username: uaf.username,
    transaction: [{ contentType: "text/plain", content: base64url.encode(`Log in to ${session.request.client_id}`) }],
    secretFor: (id: string) => approvalSecret(c, approvalLabel.uaf(id)),
  } as const;
  // Push when the user's phone can take one; otherwise (or when the push fails) the link and QR code alone.
  let result = await dispatch(asApp(c), {
    ...request,
    dispatcher: "firebase-cloud-messaging",
    message: { title: "Login request", body: `Approve the login to ${session.request.client_id}` },
  });
  if (result.dispatchResult !== "dispatched") {
    c.get("log").uaf_push = result.reason;
    result = await dispatch(asApp(c), { ...request, dispatcher: "link" });
  }
  if (result.dispatchResult !== "dispatched") throw refused(`uaf_dispatch_${result.reason}`);
  const expiresAt = Math.min(session.expires_at, now + config.uaf.dispatch.token_ttl + config.uaf.request_ttl);
  const updated = await c.get("sessionRef").run(
    "setStep",
    {
      kind: "poll",
      authenticator: authenticator.id,
      approval: { via: "uaf", transaction: result.transactionId },
      expires_at: expiresAt,
      status: "pending",
      user: authenticated(user, authenticator, ["mca"], now),
    },
    c.get("now"),
  );
  if (!updated) throw mismatch("session_already_completed");
  c.get("log").uaf_transaction = result.transactionId;
  return represent(c, await renderStep(c, updated));
}

export async function startDeviceAuthentication(
  c: Context<HaapiEnv>,
  authenticator: AuthenticatorConfig,
): Promise<Response> {
  const config = c.get("config");
  const now = c.get("now");
  const session = c.get("session");
  const fields = requireFields(await readForm(c), { userName: username });
  const { user, uaf } = await uafUserFor(c, fields.userName!);
  // The UAF response must answer this very request: its serverData names the login session.
  const binding = `session:${session.id}`;
  const expiresAt = Math.min(session.expires_at, now + config.uaf.request_ttl);
  let request: Awaited<ReturnType<typeof newAuthenticationRequest>>;
  try {
    request = await newAuthenticationRequest(asApp(c), uaf.username, { tx: binding });
  } catch (cause) {
    if (cause instanceof UafError) throw uafRefused(cause);
    throw cause;
  }
  const updated = await c.get("sessionRef").run(
    "setStep",
    {
      kind: "uaf",
      authenticator: authenticator.id,
      transaction: binding,
      expires_at: expiresAt,
      user: authenticated(user, authenticator, ["hwk"], now),
    },
    c.get("now"),
  );
  if (!updated) throw mismatch("session_already_completed");
  return represent(c, uafOperationStep(config, authenticator, request));
}

export async function finishDeviceAuthentication(
  c: Context<HaapiEnv>,
  authenticator: AuthenticatorConfig,
): Promise<Response> {
  const session = c.get("session");
  const step = session.step;
  if (step.kind !== "uaf" || step.authenticator !== authenticator.id)
    throw refused("uaf_response_without_request", "Start the login with this authenticator again.");
  const fields = requireFields(await readForm(c), {
    uafResponse: (value) => (value.length <= 65_536 ? null : "too long"),
  });
  let done: Awaited<ReturnType<typeof completeAuthentication>>;
  try {
    done = await completeAuthentication(asApp(c), fields.uafResponse!, { expectTransaction: step.transaction });
  } catch (cause) {
    if (cause instanceof UafError) throw uafRefused(cause);
    throw cause;
  }
  if (done.username.toLowerCase() !== step.user.username.toLowerCase()) throw refused("uaf_response_for_another_user");
  c.get("log").uaf_aaid = done.authenticator.aaid;
  return finishFlow(c, session, { ...step.user, amr: uafAmr(done.authenticator.aaid), auth_time: c.get("now") });
}
