/**
 * The representation of a session's current step: the one state machine, whichever way it is rendered
 * (JSON for HAAPI apps, HTML for browsers; respond.ts).
 */
import type { Context } from "hono";
import type { SessionRecord } from "../../kv/login-session";
import type { HaapiEnv } from "./context";
import { mismatch } from "./guard";
import type { Representation } from "./representations";
import { approvalStartStep, loginStep, pollingStep, selectorStep } from "./steps";
import { uafStartStep } from "./uaf-steps";

export function renderStep(c: Context<HaapiEnv>, session: SessionRecord): Representation {
  const config = c.get("config");
  const step = session.step;
  switch (step.kind) {
    case "select":
      return selectorStep(config, session);
    case "authenticate": {
      const authenticator = config.authenticatorsById.get(step.authenticator)!;
      if (authenticator.type === "html-form") return loginStep(config, session, authenticator);
      return authenticator.type === "approval-link" ? approvalStartStep(config, authenticator) : uafStartStep(config, authenticator);
    }
    // A UAF request is out with the app; asking again starts over (the request is not kept).
    case "uaf":
      return uafStartStep(config, config.authenticatorsById.get(step.authenticator)!);
    case "poll": {
      const authenticator = config.authenticatorsById.get(step.authenticator)!;
      const now = c.get("now");
      const status = step.status === "pending" && step.expires_at <= now ? "failed" : step.status;
      return pollingStep(config, authenticator, status, { remaining: Math.max(0, step.expires_at - now) });
    }
    case "done":
      throw mismatch("session_already_completed");
  }
}
