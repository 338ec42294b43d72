/**
 * The authenticator steps under /authn, each behind negotiate -> haapiToken -> loadSession, the same for
 * HAAPI apps and browsers (guard.ts; respond.ts renders JSON or HTML):
 *
 *   GET  /authn/authenticate                     the selector
 *   GET  /authn/authenticate/{id}                choose an authenticator: its first step
 *   POST /authn/authenticate/{id}                html-form: userName + password; approval-link, uaf-*: userName
 *   POST /authn/authenticate/{id}/uaf-response   uaf-device: the app's UAF response (uaf-authenticators.ts)
 *   GET  /authn/authenticate/{id}/forgot-password, POST: the reset request (html-form)
 *   GET  /authn/register/{id}, POST              create an account (html-form), then logged in
 *   GET  /authn/authenticate/{id}/poll           the polling step's status (approval-link, uaf-mobile-approval)
 *   POST /authn/authenticate/{id}/cancel         back to the first step
 *   POST /authn/authenticate/{id}/continue       after an approval: finish
 *   GET  /authn/approve/{session}/{secret}       the approval link, opened on another device (no HAAPI token,
 *                                                no cookie); JSON, or a page for a browser
 */
import type { Context } from "hono";
import { Hono } from "hono";
import type { AuthenticatorConfig } from "../../config/schema";
import { rateLimitKey } from "../../kv/rate-limiter";
import { peekToken, takeToken } from "../rate-limits";
import { hashToken } from "../../tokens/grant-tokens";
import { hashPassword, passwordProblem, verifyPassword } from "../../verifiers/password";
import { findUser, registerUser, userRecord } from "../users";
import { authenticated } from "./authenticated";
import { approvalLabel, approvalSecret, settled } from "./approval";
import { finishDeviceAuthentication, startDeviceAuthentication, startMobileApproval } from "./uaf-authenticators";
import { AUTHN_PATH, type HaapiEnv } from "./context";
import { readForm, requireFields, username } from "./form-input";
import { flowModeOf, haapiToken, loadSession, mismatch, negotiate } from "./guard";
import { renderMessagePage } from "./html/page";
import { htmlHeaders } from "./html/respond";
import { renderStep } from "./render";
import { finishFlow, represent } from "./respond";
import { error, HaapiProblem, info, invalidInput, type InvalidField } from "./representations";
import { firstStep, forgotPasswordStep, registerStep } from "./steps";

/** The authenticator in the path, which this flow must offer. */
function authenticatorOf(
  c: Context<HaapiEnv>,
  types?: AuthenticatorConfig["type"] | readonly AuthenticatorConfig["type"][],
): AuthenticatorConfig {
  const id = c.req.param("id") ?? "";
  const authenticator = c.get("config").authenticatorsById.get(id);
  if (!authenticator || !c.get("session").authenticators.includes(id)) {
    throw new HaapiProblem(
      "generic-user-error",
      "This authentication method is not available for this login",
      {},
      { status: 404, reason: "authenticator_not_offered", detail: { authenticator: id.slice(0, 64) } },
    );
  }
  if (types && !(typeof types === "string" ? [types] : types).includes(authenticator.type))
    throw new HaapiProblem(
      "generic-user-error",
      "This step does not belong to this authentication method",
      {},
      { status: 404, reason: "authenticator_type_mismatch" },
    );
  return authenticator;
}

const anyPassword = (value: string) => (value.length <= 256 ? null : "too long");

function source(c: Context<HaapiEnv>): string {
  return c.req.header("CF-Connecting-IP") ?? "unknown";
}

function tooManyAttempts(
  retryAfter: number,
  reason: "login_source_locked" | "login_user_locked" | "login_user_locked_now",
): HaapiProblem {
  return new HaapiProblem(
    "too-many-attempts",
    "Too many failed attempts; try again later",
    { messages: [error("Too many failed attempts; try again later.")] },
    { reason, headers: { "Retry-After": String(retryAfter) } },
  );
}

/** Username and password, with lockout per user and per source (failures only). */
async function passwordLogin(c: Context<HaapiEnv>, authenticator: AuthenticatorConfig): Promise<Response> {
  const config = c.get("config");
  const now = c.get("now");
  const fields = requireFields(await readForm(c), { userName: username, password: anyPassword });
  const limit = config.login.per_source;
  const sourceKey = rateLimitKey.loginFailuresBySource(source(c));
  const bySource = await peekToken(c, sourceKey, limit);
  if (!bySource.allowed) throw tooManyAttempts(bySource.retryAfter, "login_source_locked");
  const account = await userRecord(c, fields.userName!);
  const lock = await account.run("lockState", null, now);
  if (lock.locked) throw tooManyAttempts(lock.retryAfter, "login_user_locked");
  const user = await findUser(c, fields.userName!);
  const verified = user ? await verifyPassword(fields.password!, user.secret) : null;
  if (!user || !verified?.ok) {
    await takeToken(c, sourceKey, limit);
    const after = user
      ? await account.run(
          "recordFailure",
          { max: config.login.max_failed_attempts, lockSeconds: config.login.lockout },
          now,
        )
      : { locked: false, retryAfter: 0 };
    if (after.locked) throw tooManyAttempts(after.retryAfter, "login_user_locked_now");
    throw new HaapiProblem(
      "incorrect-credentials",
      "Incorrect username or password",
      { messages: [error("Incorrect username or password.")] },
      { reason: user ? "password_mismatch" : "unknown_user" },
    );
  }
  await account.run("recordSuccess", null, now);
  return finishFlow(c, c.get("session"), authenticated(user, authenticator, ["pwd"], now));
}

async function createAccount(c: Context<HaapiEnv>, authenticator: AuthenticatorConfig): Promise<Response> {
  const config = c.get("config");
  const now = c.get("now");
  if (!config.login.allow_user_registration)
    throw new HaapiProblem(
      "generic-user-error",
      "Account registration is not available",
      {},
      { status: 404, reason: "registration_disabled" },
    );
  const form = await readForm(c);
  const fields = requireFields(form, { userName: username, password: anyPassword });
  const problems: InvalidField[] = [];
  const weak = passwordProblem(fields.password!, fields.userName!);
  if (weak) problems.push({ name: "password", reason: "invalidValue", detail: weak });
  const email = form.get("email");
  if (email !== undefined && (email.length > 254 || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)))
    problems.push({ name: "email", reason: "invalidValue", detail: "not an email address" });
  const name = form.get("name");
  if (name !== undefined && name.length > 200)
    problems.push({ name: "name", reason: "invalidValue", detail: "too long" });
  if (problems.length) throw invalidInput(problems);
  const created = await registerUser(c, {
    sub: crypto.randomUUID(),
    username: fields.userName!,
    password_hash: await hashPassword(fields.password!),
    claims: { ...(email ? { email, email_verified: false } : {}), ...(name ? { name } : {}) },
    created_at: now,
  });
  if (!created)
    throw invalidInput(
      [{ name: "userName", reason: "invalidValue", detail: "already taken" }],
      "The username is already taken",
    );
  const user = (await findUser(c, fields.userName!))!;
  return finishFlow(c, c.get("session"), authenticated(user, authenticator, ["pwd"], now));
}

/** approval-link: who is logging in; then the polling step with the one-time approval link. */
async function startApproval(c: Context<HaapiEnv>, authenticator: AuthenticatorConfig): Promise<Response> {
  const config = c.get("config");
  const now = c.get("now");
  const fields = requireFields(await readForm(c), { userName: username });
  const user = await findUser(c, fields.userName!);
  if (!user)
    throw new HaapiProblem(
      "authentication-failed",
      "The login could not be approved",
      { messages: [error("No approval can be requested for this user.")] },
      { reason: "approval_unknown_user" },
    );
  const session = c.get("session");
  const expiresAt = now + config.login.approval_link_ttl;
  const secret = await approvalSecret(c, approvalLabel.link(session.id, expiresAt));
  const updated = await c.get("sessionRef").run(
    "setStep",
    {
      kind: "poll",
      authenticator: authenticator.id,
      approval: { via: "link", hash: await hashToken(secret) },
      expires_at: expiresAt,
      status: "pending",
      user: authenticated(user, authenticator, ["mca"], now),
    },
    c.get("now"),
  );
  if (!updated) throw mismatch("session_already_completed");
  return represent(c, await renderStep(c, updated));
}

const guard = [negotiate, haapiToken, loadSession] as const;

export const authenticatorRoutes = new Hono<HaapiEnv>()
  .get(`${AUTHN_PATH}/authenticate`, ...guard, async (c) => {
    const session = c.get("session");
    const updated = await c.get("sessionRef").run("setStep", firstStep(session.authenticators), c.get("now"));
    if (!updated) throw mismatch("session_already_completed");
    return represent(c, await renderStep(c, updated));
  })
  .get(`${AUTHN_PATH}/authenticate/:id`, ...guard, async (c) => {
    const authenticator = authenticatorOf(c);
    const updated = await c
      .get("sessionRef")
      .run("setStep", { kind: "authenticate", authenticator: authenticator.id }, c.get("now"));
    if (!updated) throw mismatch("session_already_completed");
    return represent(c, await renderStep(c, updated));
  })
  .post(`${AUTHN_PATH}/authenticate/:id`, ...guard, async (c) => {
    const authenticator = authenticatorOf(c);
    switch (authenticator.type) {
      case "html-form":
        return passwordLogin(c, authenticator);
      case "approval-link":
        return startApproval(c, authenticator);
      case "uaf-mobile-approval":
        return startMobileApproval(c, authenticator);
      case "uaf-device":
        return startDeviceAuthentication(c, authenticator);
    }
  })
  .get(`${AUTHN_PATH}/authenticate/:id/forgot-password`, ...guard, async (c) =>
    represent(c, forgotPasswordStep(c.get("config"), authenticatorOf(c, "html-form"))),
  )
  .post(`${AUTHN_PATH}/authenticate/:id/forgot-password`, ...guard, async (c) => {
    const authenticator = authenticatorOf(c, "html-form");
    requireFields(await readForm(c), { userName: username });
    // The same answer whether or not the account exists (no user enumeration). Sending the reset
    // message needs a mail or SMS sender, which is not built: the log says so.
    c.get("log").reason = "password_reset_requested_no_sender";
    return represent(
      c,
      forgotPasswordStep(c.get("config"), authenticator, [
        info("If the account exists, instructions to reset the password have been sent."),
      ]),
    );
  })
  .get(`${AUTHN_PATH}/register/:id`, ...guard, async (c) => {
    if (!c.get("config").login.allow_user_registration)
      throw new HaapiProblem(
        "generic-user-error",
        "Account registration is not available",
        {},
        { status: 404, reason: "registration_disabled" },
      );
    return represent(c, registerStep(c.get("config"), authenticatorOf(c, "html-form")));
  })
  .post(`${AUTHN_PATH}/register/:id`, ...guard, async (c) => createAccount(c, authenticatorOf(c, "html-form")))
  .get(`${AUTHN_PATH}/authenticate/:id/poll`, ...guard, async (c) => {
    const authenticator = authenticatorOf(c, ["approval-link", "uaf-mobile-approval"]);
    const session = c.get("session");
    if (session.step.kind !== "poll" || session.step.authenticator !== authenticator.id)
      throw invalidInput(
        [{ name: "step", reason: "invalidValue", detail: "no approval is pending" }],
        "Nothing to poll",
      );
    return represent(c, await renderStep(c, session));
  })
  .post(`${AUTHN_PATH}/authenticate/:id/uaf-response`, ...guard, async (c) =>
    finishDeviceAuthentication(c, authenticatorOf(c, ["uaf-device"])),
  )
  .post(`${AUTHN_PATH}/authenticate/:id/cancel`, ...guard, async (c) => {
    authenticatorOf(c);
    const updated = await c.get("sessionRef").run("setStep", firstStep(c.get("session").authenticators), c.get("now"));
    if (!updated) throw mismatch("session_already_completed");
    return represent(c, await renderStep(c, updated));
  })
  .post(`${AUTHN_PATH}/authenticate/:id/continue`, ...guard, async (c) => {
    const authenticator = authenticatorOf(c, ["approval-link", "uaf-mobile-approval"]);
    const session = await settled(c, c.get("session"));
    const step = session.step;
    if (step.kind !== "poll" || step.authenticator !== authenticator.id || step.status !== "done") {
      throw new HaapiProblem(
        "authentication-failed",
        "The login was not approved",
        { messages: [error("The login was not approved.")] },
        { reason: "continue_without_approval" },
      );
    }
    return finishFlow(c, session, { ...step.user, auth_time: c.get("now") });
  })
  .get(`${AUTHN_PATH}/approve/:session/:secret`, async (c) => {
    // Opened on the approving device: no HAAPI token, no session header; the secret is the authority.
    const ref = c.get("stores").loginSessions.byId(c.req.param("session"));
    const approved = ref ? await ref.run("approve", await hashToken(c.req.param("secret")), c.get("now")) : false;
    if (flowModeOf(c.req.header("Accept") ?? "") === "browser") {
      const page = approved
        ? renderMessagePage({
            title: "Login approved",
            messages: [info("The login is approved. Return to the device you are logging in on.")],
          })
        : renderMessagePage({
            title: "Link not valid",
            problem: "invalid_request",
            messages: [error("This approval link is not valid, or has expired.")],
          });
      return c.body(page, approved ? 200 : 404, htmlHeaders(c.get("config"), undefined));
    }
    c.header("Cache-Control", "no-store");
    return approved
      ? c.json({ approved: true })
      : c.json({ error: "invalid_request", error_description: "this approval link is not valid, or has expired" }, 404);
  });
